"""Rebuilding what the engine knows from Asterisk: after a restart, after a blind spot.

* ``adopt`` (first AMI connection of a run): callers a previous run left on
  hold, or ringing an agent, are queued again with their original arrival
  time, oldest first, so they keep their place; a ring the previous run began
  is stopped (this run never made that offer); calls already talking finish
  in Asterisk and their record is closed when the caller hangs up; callers who
  waited in standby are sent to the IVR again, oldest first, and whoever called
  earlier is queued first (``Turns``); agents' phones are read, and service
  resumes; then records of calls that ended while no engine was running are
  closed, and callbacks are queued again (``Callbacks.resume``).
* ``reconcile`` (the AMI link came back; and every ``asterisk.reconcile_seconds``,
  and when an agent asks why no calls come): live channels are compared with
  what we track; whatever ended unseen (a Hangup lost, or while we were blind)
  is ended in the engine too, so no agent stays "busy" or "reserved" for a call
  that is gone; a voice task the engine holds with no call behind it is dropped;
  a caller who came back to hold meanwhile can be offered again. Each repair is
  a ``voice.repaired`` warning.
* device states are read in both cases, so an agent whose phone is busy
  with a call this run did not place is not offered another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import acd
from callcenter.ami import AmiError
from callcenter.ami.link import AmiEvent
from callcenter.routing.mapping import language_skill
from callcenter.storage.models import Interaction
from callcenter.voice import dialplan, recipes
from callcenter.voice.base import VoiceDeps
from callcenter.voice.callbacks import Callbacks
from callcenter.voice.calls import VoiceCall
from callcenter.voice.devices import Devices
from callcenter.voice.lifecycle import Lifecycle
from callcenter.voice.offers import Offers
from callcenter.voice.turns import Turns

log = logging.getLogger(__name__)

_CALLER_CONTEXTS = {dialplan.HOLD, dialplan.OFFER}
READ_AHEAD = 32  # channel-variable reads in flight at once while adopting


class Recovery:
    def __init__(self, deps: VoiceDeps, *, offers: Offers, lifecycle: Lifecycle,
                 devices: Devices, callbacks: Callbacks, turns: Turns) -> None:
        self.deps = deps
        self.turns = turns
        self.callbacks = callbacks
        self.offers = offers
        self.lifecycle = lifecycle
        self.devices = devices
        # calls a previous run connected: caller uid -> interaction, closed on hangup
        self.orphans: dict[str, str] = {}
        self._reconciling = asyncio.Lock()
        self._suspects: set[str] = set()  # seen on hold while we believe a ring goes on

    async def on_link_up(self, event: AmiEvent) -> None:
        if event.get("Connects") == "1":
            await self.adopt()
        else:
            await self.reconcile()

    async def on_hangup(self, event: AmiEvent) -> None:
        self.turns.left(event.get("Uniqueid"))
        orphan = self.orphans.pop(event.get("Uniqueid"), None)
        if orphan is not None:
            await self._orphan_ended(orphan)

    async def _orphan_ended(self, task_id: str) -> None:
        """A call a previous run connected is over: on the record, and its agent (who kept
        their session) gets its wrap-up, rebuilt from the store, as after any call."""
        deps = self.deps
        record = await deps.store.update_interaction(task_id, ended_at=deps.clock(),
                                                     outcome="answered")
        if record is not None and record.agent_id:
            deps.offers.wrapup(record.agent_id, task_id, record.queue)
            log.info("voice.adopted_call_ended", extra={"interaction": task_id,
                                                        "agent": record.agent_id})

    async def _channels(self) -> list[AmiEvent] | None:
        try:
            return await self.deps.link.event_list(recipes.CORE_SHOW_CHANNELS)
        except AmiError as exc:
            log.error("voice.channels_unreadable", extra={"error": str(exc)})
            return None

    async def _var(self, uid: str, name: str) -> str:
        try:
            return (await self.deps.link.action(recipes.getvar(uid, name))).get("Value", "")
        except AmiError:
            return ""

    async def adopt(self) -> None:
        deps = self.deps
        began = asyncio.get_running_loop().time()
        # Read before asking Asterisk: a record opened after this is this run's own.
        was_open = {r.id: r for r in await deps.store.open_interactions(channel=acd.VOICE)}
        channels = await self._channels()
        if channels is None:
            return
        waiting: list[tuple[float, VoiceCall, dict[str, int]]] = []
        adopted: set[str] = set()
        callers = [c for c in channels if c.get("Context") in _CALLER_CONTEXTS]
        variables = await self._read_all(callers, (dialplan.TASK, dialplan.CONNECTED))
        for channel, (task_id, connected) in zip(callers, variables, strict=True):
            uid = channel.get("Uniqueid")
            number = channel.get("CallerIDNum").removeprefix("<unknown>")  # AMI: none
            record = was_open.get(task_id)
            if record is None or record.queue is None or deps.book.get(record.id) is not None:
                continue  # not ours, not queued, or queued by this run already
            adopted.add(record.id)
            if connected:
                self.orphans[uid] = record.id  # talking: Asterisk finishes the call
                continue
            if record.queue not in deps.config().queues:
                continue
            ringing = channel.get("Application") in dialplan.DIALING_APPLICATIONS
            call = VoiceCall(task_id=record.id, caller_uid=uid, queue=record.queue,
                             caller_number=number, customer_id=record.customer_id,
                             holding=not ringing, dialling=ringing)
            language = (record.attributes or {}).get("language")
            skills = ({language_skill(language): 1} if language and
                      deps.config().queues[record.queue].language_first else {})
            waiting.append((record.arrived_at or 0.0, call, skills))
            if ringing:  # a ring this run never offered: stop it; the caller returns to hold
                for leg in channels:
                    if leg.get("Linkedid") == channel.get("Linkedid") and \
                            leg.get("Uniqueid") != uid:
                        deps.post([recipes.hangup(leg.get("Uniqueid"))], "adopt ring")
        for _, call, _ in waiting:
            deps.book.add(call)
        # The rest goes on beside the event stream: events of the calls booked above
        # (a hang-up) must not wait behind hundreds of reads for the callers below.
        deps.in_background(self._resume(channels, waiting, was_open, adopted, began))

    async def _resume(self, channels: list[AmiEvent],
                      waiting: list[tuple[float, VoiceCall, dict[str, int]]],
                      was_open: dict[str, Interaction], adopted: set[str], began: float) -> None:
        """Queue the adopted callers and wake those in standby, each in their turn; then
        read the phones (service resumes) and do the bookkeeping."""
        deps = self.deps
        loop = asyncio.get_running_loop()
        async with self._reconciling:
            # Callers cut off mid-IVR by the crash may have called before some on hold.
            standby_since: dict[str, float] = {}
            self.turns.expect(await self._waiting_for_engine(channels, standby_since))
            log.info("voice.adopting", extra={"waiting": len(waiting),
                                              "standby": len(standby_since)})
            for arrived, call, skills in sorted(waiting, key=lambda w: w[0]):
                deps.in_background(self._queue_adopted(call, arrived, skills))
            await self._wake_standby(standby_since)
            self.devices.resync()  # restored agents count as unavailable until this is read
            resumed_s = loop.time() - began
            unseen = [i for i in was_open if i not in adopted and deps.book.get(i) is None]
            closed = await deps.store.close_unseen(unseen, deps.clock())
            callbacks = await self.callbacks.resume()
        log.info("voice.adopted", extra={"waiting": len(waiting), "talking": len(self.orphans),
                                         "callbacks": callbacks, "channels": len(channels),
                                         "closed": closed, "resumed_s": round(resumed_s, 3),
                                         "took_s": round(loop.time() - began, 3)})

    async def _queue_adopted(self, call: VoiceCall, arrived: float,
                             skills: dict[str, int]) -> None:
        deps = self.deps
        await self.turns.turn(call.caller_uid, arrived)
        if call.ended:  # hung up while a caller who called earlier was woken and queued
            await deps.store.update_interaction(call.task_id, ended_at=deps.clock(),
                                                outcome="abandoned")
            return
        deps.routing.arrive(acd.Task(id=call.task_id, channel=acd.VOICE, queue=call.queue,
                                     arrival=arrived, skills=skills))

    async def _read_all(self, channels: list[AmiEvent],
                        names: tuple[str, ...]) -> list[tuple[str, ...]]:
        """Variables of many channels, ``READ_AHEAD`` answers awaited at once: one at a
        time, a busy Asterisk's round trips made a restart's adoption take seconds."""
        gate = asyncio.Semaphore(READ_AHEAD)

        async def read(channel: AmiEvent) -> tuple[str, ...]:
            async with gate:
                uid = channel.get("Uniqueid")
                return tuple([await self._var(uid, name) for name in names])

        return list(await asyncio.gather(*(read(c) for c in channels)))

    async def _waiting_for_engine(self, channels: list[AmiEvent],
                                  standby_since: dict[str, float]) -> dict[str, float]:
        """Callers in the IVR who waited for an engine, in standby or retrying now, not
        queued yet: uid -> the time they called (``CC_STANDBY``, read into
        ``standby_since`` for channels not read before)."""
        book = self.deps.book
        unread = [c for c in channels if c.get("Context") == dialplan.IVR
                  and c.get("Uniqueid") not in standby_since]
        for channel, (since,) in zip(unread, await self._read_all(unread, (dialplan.STANDBY,)),
                                     strict=True):
            with contextlib.suppress(ValueError):
                standby_since[channel.get("Uniqueid")] = float(since)
        return {uid: standby_since[uid] for uid in (c.get("Uniqueid") for c in channels)
                if uid in standby_since and book.by_caller(uid) is None}

    async def _wake_standby(self, standby_since: dict[str, float]) -> None:
        """Callers who waited for this engine try the IVR now, oldest first (not at their
        next retry), so they keep their place against callers arriving from now on.

        The list is read afresh: a caller of an older list may have retried on their
        own since and be queued (``Intake.requeue`` keeps one task even then)."""
        channels = await self._channels()
        if channels is None:
            return
        waiting = await self._waiting_for_engine(channels, standby_since)
        self.turns.expect(waiting)
        rows = {c.get("Uniqueid"): c for c in channels}
        standby = [uid for uid in sorted(waiting, key=lambda uid: waiting[uid])
                   if rows[uid].get("Application") in dialplan.STANDBY_APPLICATIONS]
        self.deps.post([recipes.redirect(uid, dialplan.IVR, rows[uid].get("Exten"))
                        for uid in standby], "wake standby")

    async def reconcile(self, why: str = "link") -> list[dict[str, str | None]]:
        """Compare what the engine and the call book hold with Asterisk's live channels;
        repair every difference and log it (``voice.repaired``). Returns the repairs.

        ``why``: "link" (the AMI link came back: we were blind, so a caller on hold
        is offered again at once), "periodic" or "agent" (asked from the console). Then
        only differences that do not move while Asterisk is asked count, and a caller
        seen on hold where we believe a ring goes on must be seen so twice, so an
        action in flight is never taken for a lost event.
        """
        async with self._reconciling:
            return await self._reconcile(why)

    async def _reconcile(self, why: str) -> list[dict[str, str | None]]:
        deps = self.deps
        blind = why == "link"
        before = {c.task_id: _snapshot(c) for c in deps.book}
        stale_before = self._stale_tasks()
        channels = await self._channels()
        if channels is None:
            return []
        rows = {c.get("Uniqueid"): c for c in channels}
        repairs: list[dict[str, str | None]] = []

        def repaired(what: str, task_id: str | None, agent_id: str | None) -> None:
            repairs.append({"what": what, "interaction": task_id, "agent": agent_id})
            log.warning("voice.repaired", extra={"what": what, "interaction": task_id,
                                                 "agent": agent_id, "why": why})

        suspects: set[str] = set()
        for call in list(deps.book):
            if not blind and before.get(call.task_id) != _snapshot(call):
                continue  # it moved while Asterisk was asked: look again next time
            if call.connected and call.agent_uid and call.agent_uid not in rows:
                repaired("agent's leg gone, call ended", call.task_id, call.agent_id)
                await self.lifecycle.agent_gone(call)
                continue
            if call.connected and rows.get(call.agent_uid, {}).get("BridgeId"):
                call.bridge_formed.set()  # its BridgeEnter may have passed while we were blind
            if call.callback:
                continue
            row = rows.get(call.caller_uid)
            if row is None:
                repaired("caller's channel gone, " + ("call ended" if call.connected
                                                       else "caller left"),
                         call.task_id, call.agent_id)
                await self.lifecycle.caller_gone(call)
            elif not call.connected and row.get("Context") == dialplan.HOLD:
                if blind:
                    await self.offers.on_waiting(call)  # back on hold while we were blind
                elif not call.holding:
                    suspects.add(call.task_id)
                    if call.task_id in self._suspects:
                        repaired("caller on hold, not ringing", call.task_id, call.agent_id)
                        await self.offers.on_waiting(call)
        self._suspects = suspects
        for kind, agent_id, task_id in sorted(stale_before & self._stale_tasks()):
            repaired(f"{kind} call unknown to Asterisk's side, dropped", task_id, agent_id)
            if kind == "connected":
                deps.routing.end(task_id, "agent")
            else:
                deps.routing.cancel(task_id, "lost")
        for uid in [u for u in self.orphans if u not in rows]:
            await self._orphan_ended(self.orphans.pop(uid))
        if blind:
            self.devices.resync()
        else:
            await self.devices.sync(changed=lambda agent_id, extension, ok: repaired(
                f"phone {extension} {'usable' if ok else 'not usable'} (a state change was "
                "missed)", None, agent_id))
        log.info("voice.reconciled", extra={"why": why, "channels": len(rows),
                                            "calls": len(self.deps.book),
                                            "repairs": len(repairs)})
        return repairs

    def _stale_tasks(self) -> set[tuple[str, str | None, str]]:
        """Voice tasks the engine holds (an agent's call, an offer, a waiting caller)
        for which the voice side tracks no call: nothing in Asterisk can ever end them."""
        deps = self.deps
        book, routing = deps.book, deps.routing
        stale: set[tuple[str, str | None, str]] = set()
        for view in routing.agents():
            for task_id in view.connected:
                if routing.channel_of(task_id) == acd.VOICE and book.get(task_id) is None:
                    stale.add(("connected", view.agent_id, task_id))
        for waiting in routing.waiting():
            if waiting.channel == acd.VOICE and book.get(waiting.task_id) is None:
                stale.add(("waiting", None, waiting.task_id))
        return stale

    async def keep_reconciling(self, every: Callable[[], float]) -> None:
        """Reconcile every ``every()`` seconds while the link is up (until cancelled)."""
        while True:
            await asyncio.sleep(every())
            if not self.deps.link.is_up:
                continue  # the link's own reconcile runs when it comes back
            try:
                await self.reconcile("periodic")
            except Exception:
                log.exception("voice.reconcile_failed")


def _snapshot(call: VoiceCall) -> tuple[object, ...]:
    """What a reconcile compares before and after asking Asterisk."""
    return (call.caller_uid, call.agent_uid, call.connected, call.holding, call.dialling,
            call.ended, tuple(call.rings))
