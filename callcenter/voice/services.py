"""Voice: carry the queue engine's decisions out on Asterisk, and its events back in.

The recipe (Asterisk 22, AMI only):

* the IVR (FastAGI) ends in ``route_call``: an interaction record, a task in
  the engine, and channel variables that send the caller to ``cc-hold``;
* an ``Offer`` originates the agent's device with ``Application: Bridge`` and
  ``Data: <caller's uniqueid>``; we name the agent's leg ourselves
  (``ChannelId``) so it can be hung up before Asterisk has even said it exists;
* the originate answering (``OriginateResponse: Success``) is the accept; a
  busy/declined/unreachable device is a reject; ringing past the queue's
  offer timeout is the engine's own deadline, which withdraws the offer, and
  we hang up the agent's leg;
* the caller hanging up cancels the task; any ringing agent is hung up at once;
* ``AnnouncePosition`` becomes ``Setvar`` of CC_POSITION / CC_EWT_MINUTES,
  which the holding loop says at its interval;
* recording is ``MixMonitor`` on the caller's channel once both are bridged,
  with each direction also in its own file, so a transcript knows who spoke;
* supervisors' phones are originated into ``cc-spy`` (ChanSpy q / w / B);
* after the AMI link comes back, live channels are compared with what we
  track: whatever ended while we were blind is ended in the engine too;
  waiting callers keep their place (the engine never forgot them).

Channels are addressed by uniqueid everywhere: names change on masquerades.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import acd
from callcenter.agents.services import AgentService
from callcenter.ami import AmiError, AmiLink
from callcenter.ami.link import LINK_UP, AmiEvent
from callcenter.bus import EventBus
from callcenter.config.models import Config
from callcenter.routing.services import RoutingService
from callcenter.storage import Store
from callcenter.storage.masking import mask_number
from ivr.fastagi import AgiCall
from ivr.runner import IvrOutcome

log = logging.getLogger(__name__)

# OriginateResponse Reason codes (AST_CONTROL_*): 3 = ringing timed out.
_NO_ANSWER = "3"
_UNAVAILABLE_DEVICE_STATES = {"UNAVAILABLE", "INVALID", "UNKNOWN"}
SPY_OPTIONS = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}


class VoiceError(ValueError):
    """A request the voice side cannot carry out; the message says why."""


@dataclass(frozen=True)
class AsteriskPaths:
    """Where Asterisk's files are, seen from Asterisk and from this host."""

    host_root: str
    recordings_spool: str  # Asterisk writes recordings here (its own view)
    recordings_archive: Path  # finished recordings are moved here (this host)
    prompts_dir: str  # rendered prompts (Asterisk's view)

    def on_host(self, asterisk_path: str) -> Path:
        return Path(self.host_root + asterisk_path) if self.host_root else Path(asterisk_path)


@dataclass
class VoiceCall:
    task_id: str
    caller_uid: str
    queue: str
    caller_number: str
    customer_id: int | None
    holding: bool = False
    callback: bool = False
    callback_id: int | None = None
    offer_id: str | None = None
    agent_id: str | None = None
    agent_uid: str | None = None
    agent_channel: str | None = None
    connected: bool = False
    ended: bool = False
    recordings: list[int] = field(default_factory=list)
    position: tuple[int, float | None] | None = None


@dataclass
class SpySession:
    supervisor_id: str
    agent_id: str
    uid: str
    mode: str


class VoiceService:
    def __init__(self, *, link: AmiLink, routing: RoutingService, agents: AgentService,
                 store: Store, bus: EventBus, config: Callable[[], Config], paths: AsteriskPaths,
                 screen_pop: Callable[[str], Awaitable[dict[str, Any]]] | None = None) -> None:
        self.link = link
        self.routing = routing
        self.agents = agents
        self.store = store
        self.bus = bus
        self.config = config
        self.paths = paths
        self.screen_pop = screen_pop
        self.calls: dict[str, VoiceCall] = {}
        self._by_uid: dict[str, VoiceCall] = {}
        self._legs: dict[str, VoiceCall] = {}  # agent leg uid -> call, while offered/connected
        self._withdrawn: set[str] = set()  # agent legs to hang up whenever they show up
        self._offer_legs: dict[str, str] = {}  # offer id -> agent leg uid, until settled
        # calls a previous run connected: channel uid -> interaction, to close on hangup
        self._orphans: dict[str, str] = {}
        self._spies: dict[str, SpySession] = {}
        # caller uid -> (task, [(recording id, Asterisk path)]) until MixMonitor stops
        self._recording_files: dict[str, tuple[str, list[tuple[int, str]]]] = {}
        self._background: set[asyncio.Task[None]] = set()
        link.on_event(self.on_ami_event)

    # ---- from the IVR -------------------------------------------------------

    async def route_call(self, call: AgiCall, outcome: IvrOutcome) -> dict[str, str]:
        """The IVR has finished: queue the call (or not) and tell the dialplan."""
        now = self.routing.clock()
        number = call.caller_number if call.caller_number not in ("", "unknown") else ""
        customer = (await self.store.find_or_create_customer("phone", number, now=now)
                    if number else None)
        choices = [c.as_dict() for c in outcome.choices]
        attributes = {"language": outcome.language, "label": outcome.label,
                      "variables": outcome.variables, "dialed": call.dialed_number}
        if outcome.route != "queue" or outcome.queue is None:
            await self.store.create_interaction(
                "voice", medium="pstn", customer_id=customer.id if customer else None,
                ivr_choices=choices, arrived_at=now, ended_at=now, outcome="ivr",
                caller_masked=number or None, attributes=attributes)
            return {"CC_ROUTE": "hangup"}
        interaction = await self.store.create_interaction(
            "voice", medium="pstn", customer_id=customer.id if customer else None,
            queue=outcome.queue, ivr_choices=choices, arrived_at=now,
            caller_masked=number or None, attributes=attributes)
        voice_call = VoiceCall(task_id=interaction.id, caller_uid=call.uniqueid,
                               queue=outcome.queue, caller_number=number,
                               customer_id=customer.id if customer else None)
        self.calls[voice_call.task_id] = voice_call
        self._by_uid[call.uniqueid] = voice_call
        queue = self.config().queues[outcome.queue]
        wait_for_last_agent = queue.preferred_agent_seconds
        preferred = (await self._last_agent(customer.id)
                     if customer and wait_for_last_agent else None)
        task = acd.Task(id=interaction.id, channel=acd.VOICE, queue=outcome.queue,
                        skills=outcome.skills, priority=0 if outcome.priority is None else
                        max(0, outcome.priority - self.config().queues[outcome.queue].priority),
                        arrival=now, attributes={"language": outcome.language},
                        preferred_agent=preferred,
                        preferred_wait_seconds=wait_for_last_agent if preferred else 0)
        log.info("voice.queued", extra={"task": task.id, "queue": task.queue,
                                        "caller": mask_number(number)})
        outputs = self.routing.arrive(task)
        if any(isinstance(o, acd.RejectArrival) and o.task_id == task.id for o in outputs):
            voice_call.ended = True
            return {"CC_ROUTE": "exit", "CC_EXIT_REASON": "refused"}
        announce = queue.announce.position or queue.announce.expected_wait
        return {"CC_ROUTE": "queue", "CC_TASK": task.id, "CC_QUEUE": outcome.queue,
                "CC_ANNOUNCE": "yes" if announce else "no",
                "CC_ANNOUNCE_INTERVAL": str(int(queue.announce.interval_seconds)),
                "CC_CALLBACK": "yes" if queue.callback.enabled else "no"}

    async def _last_agent(self, customer_id: int) -> str | None:
        for entry in await self.store.customer_history(customer_id, limit=5):
            if entry.interaction.agent_id and entry.interaction.channel == acd.VOICE:
                return entry.interaction.agent_id
        return None

    # ---- decisions from the engine -----------------------------------------

    async def apply(self, decision: acd.Decision) -> None:
        if isinstance(decision, acd.Offer):
            await self._offer(decision)
        elif isinstance(decision, acd.WithdrawOffer):
            await self._withdraw(decision)
        elif isinstance(decision, acd.AnnouncePosition):
            await self._announce(decision)
        elif isinstance(decision, acd.LeaveQueue | acd.RejectArrival):
            await self._leave(decision.task_id, decision.reason)
        elif isinstance(decision, acd.EscalationAction):
            await self._escalate(decision)

    async def _offer(self, offer: acd.Offer) -> None:
        call = self.calls.get(offer.task_id)
        device = self.agents.device_of(offer.agent_id)
        if call is None or call.ended or device is None:
            self.routing.submit(lambda now: self.routing.engine.offer_rejected(offer.offer_id, now))
            return
        leg = uuid.uuid4().hex
        call.offer_id, call.agent_id, call.agent_uid = offer.offer_id, offer.agent_id, leg
        self._legs[leg] = call
        self._by_uid[leg] = call
        self._offer_legs[offer.offer_id] = leg
        self.agents.remember_offer(offer)
        pop = await self.screen_pop(offer.task_id) if self.screen_pop else {}
        self.bus.publish("agent.offer", {"offer_id": offer.offer_id, "task_id": offer.task_id,
                                         "channel": offer.channel, "queue": offer.queue,
                                         "deadline": offer.deadline, "pop": pop},
                         at=self.routing.clock(), agent_id=offer.agent_id, queue=offer.queue)
        queue = self.config().queues[offer.queue]
        timeout_ms = int((queue.offer_timeout_seconds + 5) * 1000)
        endpoint = f"PJSIP/{self.config().callcenter.asterisk.agent_endpoint_prefix}{device}"
        action: dict[str, Any] = {
            "Action": "Originate", "Channel": endpoint, "ChannelId": leg,
            "Timeout": str(timeout_ms), "Async": "true",
            "CallerID": f'"{offer.queue} {mask_number(call.caller_number)}" <{offer.queue}>',
            "Variable": [f"CC_TASK={call.task_id}", f"CC_OFFER={offer.offer_id}"],
        }
        if call.callback:
            dial = self.config().callcenter.asterisk.callback_dial.format(
                number=call.caller_number)
            action.update({"Context": "cc-callback", "Exten": "s", "Priority": "1"})
            action["Variable"].append(f"CC_CALLBACK_DIAL={dial}")
        else:
            action.update({"Application": "Bridge", "Data": call.caller_uid})
        try:
            await self.link.action(action)
        except AmiError as exc:
            log.warning("voice.originate_failed", extra={"task": call.task_id, "error": str(exc)})
            self._drop_leg(call)
            self.routing.submit(lambda now: self.routing.engine.offer_rejected(offer.offer_id, now))

    async def _withdraw(self, withdraw: acd.WithdrawOffer) -> None:
        self.agents.forget_offer(withdraw.offer_id)
        self.bus.publish("agent.offer_withdrawn", {"offer_id": withdraw.offer_id,
                                                   "task_id": withdraw.task_id,
                                                   "reason": withdraw.reason},
                         at=self.routing.clock(), agent_id=withdraw.agent_id)
        leg = self._offer_legs.pop(withdraw.offer_id, None)
        call = self.calls.get(withdraw.task_id)
        if call is not None and call.offer_id == withdraw.offer_id:
            if call.connected:
                return
            self._drop_leg(call)
        if leg:
            await self._stop_ringing(leg)

    async def _stop_ringing(self, leg: str) -> None:
        self._withdrawn.add(leg)
        await self._hangup(leg)

    def _drop_leg(self, call: VoiceCall) -> None:
        if call.agent_uid:
            self._legs.pop(call.agent_uid, None)
            self._by_uid.pop(call.agent_uid, None)
        call.offer_id = call.agent_id = call.agent_uid = call.agent_channel = None

    async def _announce(self, announce: acd.AnnouncePosition) -> None:
        call = self.calls.get(announce.task_id)
        if call is None or call.ended or call.callback:
            return
        call.position = (announce.position, announce.expected_wait)
        minutes = 0 if announce.expected_wait is None else max(
            1, round(announce.expected_wait / 60))
        await self._setvar(call.caller_uid, "CC_POSITION", str(announce.position))
        await self._setvar(call.caller_uid, "CC_EWT_MINUTES", str(minutes))
        self.bus.publish("caller.position", {"task_id": call.task_id,
                                             "position": announce.position,
                                             "expected_wait": announce.expected_wait},
                         at=self.routing.clock(), queue=call.queue)

    async def _leave(self, task_id: str, reason: str) -> None:
        call = self.calls.get(task_id)
        if call is None or call.ended:
            return
        call.ended = True
        if call.callback:
            return
        await self._setvar(call.caller_uid, "CC_EXIT_REASON", reason)
        try:
            await self.link.action({"Action": "Redirect", "Channel": call.caller_uid,
                                    "Context": "cc-exit", "Exten": "s", "Priority": "1"})
        except AmiError as exc:
            log.warning("voice.redirect_failed", extra={"task": task_id, "error": str(exc)})

    async def _escalate(self, action: acd.EscalationAction) -> None:
        call = self.calls.get(action.task_id)
        if call is None or call.ended:
            return
        if action.action == acd.EscalationActionKind.OFFER_CALLBACK:
            await self._setvar(call.caller_uid, "CC_CALLBACK", "yes")
        elif action.action == acd.EscalationActionKind.VOICEMAIL:
            self.routing.submit(lambda now: self.routing.engine.task_cancelled(
                call.task_id, now, "voicemail"))
            await self._leave(call.task_id, "voicemail")

    async def _setvar(self, uid: str, name: str, value: str) -> None:
        try:
            await self.link.action({"Action": "Setvar", "Channel": uid, "Variable": name,
                                    "Value": value})
        except AmiError as exc:
            log.debug("voice.setvar_failed", extra={"variable": name, "error": str(exc)})

    async def _hangup(self, uid: str) -> None:
        try:
            await self.link.action({"Action": "Hangup", "Channel": uid, "Cause": "16"})
        except AmiError as exc:
            log.debug("voice.hangup_failed", extra={"error": str(exc)})

    # ---- events from Asterisk ----------------------------------------------

    async def on_ami_event(self, event: AmiEvent) -> None:
        handler = _HANDLERS.get(event.name)
        if handler is not None:
            await handler(self, event)

    async def _on_newchannel(self, event: AmiEvent) -> None:
        uid = event.get("Uniqueid")
        if uid in self._withdrawn:
            await self._hangup(uid)
        call = self._legs.get(uid)
        if call is not None:
            call.agent_channel = event.get("Channel")

    async def _on_newstate(self, event: AmiEvent) -> None:
        call = self._legs.get(event.get("Uniqueid"))
        if call is not None and event.get("ChannelStateDesc") == "Ringing":
            self.bus.publish("agent.ringing", {"task_id": call.task_id,
                                               "offer_id": call.offer_id},
                             at=self.routing.clock(), agent_id=call.agent_id)

    async def _on_originate_response(self, event: AmiEvent) -> None:
        uid = event.get("Uniqueid")
        call = self._legs.get(uid)
        if call is None or call.offer_id is None:
            return
        offer_id = call.offer_id
        self._offer_legs.pop(offer_id, None)
        if event.get("Response") == "Success":
            call.connected = True
            self.agents.forget_offer(offer_id)
            self.routing.submit(lambda now: self.routing.engine.offer_accepted(offer_id, now))
            self.bus.publish("agent.connected", {"task_id": call.task_id, "channel": "voice"},
                             at=self.routing.clock(), agent_id=call.agent_id)
            if call.callback_id is not None:
                await self.store.update_callback(call.callback_id, status="done",
                                                 completed_at=self.routing.clock(),
                                                 count_attempt=True)
            return
        if event.get("Reason") == _NO_ANSWER:
            return  # the engine's own offer deadline decides a ring-no-answer
        self._drop_leg(call)
        self.agents.forget_offer(offer_id)
        self.routing.submit(lambda now: self.routing.engine.offer_rejected(offer_id, now))

    async def _on_bridge_enter(self, event: AmiEvent) -> None:
        call = self._legs.get(event.get("Uniqueid"))
        if call is None or not call.connected or call.recordings:
            return
        if event.get("BridgeNumChannels") not in ("2", ""):
            return
        policy = self.config().queues[call.queue].recording
        if policy.enabled and not call.callback:
            await self._record(call, split=policy.split_legs)

    async def _record(self, call: VoiceCall, split: bool) -> None:
        base = f"{self.paths.recordings_spool.rstrip('/')}/{call.task_id}"
        files = [("mixed", f"{base}.wav")]
        options = ""
        if split:
            files += [("caller", f"{base}-caller.wav"), ("agent", f"{base}-agent.wav")]
            options = f"r({base}-caller.wav)t({base}-agent.wav)"
        try:
            await self.link.action({"Action": "MixMonitor", "Channel": call.caller_uid,
                                    "File": f"{base}.wav", "Options": options})
        except AmiError as exc:
            log.error("voice.record_failed", extra={"task": call.task_id, "error": str(exc)})
            return
        now = self.routing.clock()
        stored = []
        for leg, path in files:
            recording = await self.store.add_recording(
                call.task_id, str(self.paths.on_host(path)), leg=leg, started_at=now,
                status="recording")
            stored.append((recording.id, path))
            call.recordings.append(recording.id)
        self._recording_files[call.caller_uid] = (call.task_id, stored)

    async def _on_hangup(self, event: AmiEvent) -> None:
        uid = event.get("Uniqueid")
        self._withdrawn.discard(uid)
        for supervisor_id, spy in list(self._spies.items()):
            if spy.uid == uid:
                self._spies.pop(supervisor_id)
        orphan = self._orphans.pop(uid, None)
        if orphan is not None:
            await self.store.update_interaction(orphan, ended_at=self.routing.clock(),
                                                outcome="answered")
            return
        call = self._by_uid.get(uid)
        if call is None:
            return
        if uid == call.caller_uid:
            await self._caller_gone(call)
        elif uid == call.agent_uid:
            await self._agent_gone(call)

    async def _caller_gone(self, call: VoiceCall) -> None:
        self._by_uid.pop(call.caller_uid, None)
        if call.callback and not call.connected:
            return  # asked to be called back: keeps the place in the queue
        if call.connected:
            await self._end(call, by="caller")
            return
        if not call.ended:
            call.ended = True
            ringing = call.agent_uid
            self.routing.submit(lambda now: self.routing.engine.task_cancelled(
                call.task_id, now, "abandon"))
            if ringing:  # no call reaches an agent after the caller has gone
                await self._stop_ringing(ringing)
        self._forget(call)

    async def _agent_gone(self, call: VoiceCall) -> None:
        if call.connected:
            await self._end(call, by="agent")
        elif call.offer_id is not None:
            offer_id = call.offer_id
            self._drop_leg(call)
            self.routing.submit(lambda now: self.routing.engine.offer_rejected(offer_id, now))

    async def _end(self, call: VoiceCall, by: str) -> None:
        if call.ended:
            return
        call.ended = True
        agent_id = call.agent_id
        self.routing.submit(lambda now: self.routing.engine.task_ended(call.task_id, now, by))
        if call.agent_uid:
            await self._hangup(call.agent_uid)
        if not call.callback:
            await self._hangup(call.caller_uid)
        self._publish_wrapup(call, agent_id)
        self._forget(call)

    def _publish_wrapup(self, call: VoiceCall, agent_id: str | None) -> None:
        queue = self.config().queues.get(call.queue)
        self.bus.publish("agent.wrapup", {
            "task_id": call.task_id, "queue": call.queue,
            "dispositions": [d.model_dump() for d in queue.dispositions] if queue else [],
            "require_disposition": bool(queue and queue.require_disposition),
            "seconds": queue.wrapup_seconds if queue else 0,
        }, at=self.routing.clock(), agent_id=agent_id)

    def _forget(self, call: VoiceCall) -> None:
        self._finish_recordings(call)
        self.calls.pop(call.task_id, None)
        for uid in (call.caller_uid, call.agent_uid):
            if uid:
                self._by_uid.pop(uid, None)
                self._legs.pop(uid, None)

    def _finish_recordings(self, call: VoiceCall) -> None:
        entry = self._recording_files.pop(call.caller_uid, None)
        if entry is None:
            return
        task = asyncio.get_running_loop().create_task(self._archive(*entry))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _archive(self, task_id: str, files: list[tuple[int, str]]) -> None:
        """After hangup MixMonitor flushes and closes its files; move them once they are still.

        Asterisk sends no event when a recording ends with the call (MixMonitorStop
        is only for StopMixMonitor), so a file that stopped growing is a finished one.
        """
        sources = [self.paths.on_host(path) for _, path in files]
        sizes: list[int] = []
        for _ in range(50):
            await asyncio.sleep(0.2)
            now_sizes = [p.stat().st_size if p.exists() else -1 for p in sources]
            if now_sizes == sizes:
                break
            sizes = now_sizes
        archive = self.paths.recordings_archive
        archive.mkdir(parents=True, exist_ok=True)
        for (recording_id, _), source in zip(files, sources, strict=True):
            target = archive / source.name
            status, size = "missing", 0
            if source.exists():
                await asyncio.to_thread(shutil.move, source, target)
                status, size = "complete", target.stat().st_size
            else:
                log.error("voice.recording_missing", extra={"task": task_id})
            await self.store.update_recording(recording_id, path=str(target), status=status,
                                              size=size, ended_at=self.routing.clock())
        self.bus.publish("recording.complete", {"task_id": task_id}, at=self.routing.clock())

    async def _on_user_event(self, event: AmiEvent) -> None:
        kind = event.get("UserEvent")
        call = self.calls.get(event.get("Task"))
        if call is None:
            return
        if kind == "CallCenterWaiting":
            call.holding = True
            if call.position is not None:
                await self._setvar(call.caller_uid, "CC_POSITION", str(call.position[0]))
        elif kind == "CallCenterCallback" and not call.connected and not call.ended:
            call.callback = True
            await self.store.update_interaction(call.task_id, outcome="callback")
            request = await self.store.add_callback(call.caller_number, queue=call.queue,
                                                    interaction_id=call.task_id,
                                                    customer_id=call.customer_id,
                                                    requested_at=self.routing.clock())
            call.callback_id = request.id
            log.info("voice.callback_requested", extra={"task": call.task_id})

    async def _on_device_state(self, event: AmiEvent) -> None:
        device = event.get("Device")
        if not device.startswith("PJSIP/"):
            return
        prefix = self.config().callcenter.asterisk.agent_endpoint_prefix
        extension = device.removeprefix("PJSIP/").removeprefix(prefix)
        self.agents.device_health(extension, self._device_usable(extension, event.get("State")))

    def _device_usable(self, extension: str, state: str) -> bool:
        """Registered and not busy with a call of its own (ours don't count)."""
        if state in _UNAVAILABLE_DEVICE_STATES:
            return False
        if state == "NOT_INUSE":
            return True
        agent_id = next((a for a, s in self.agents.sessions.items() if s.device == extension),
                        None)
        return any(c.agent_id == agent_id for c in self.calls.values()) if agent_id else True

    async def _on_link_up(self, event: AmiEvent) -> None:
        if event.get("Connects") == "1":
            await self.adopt()
        else:
            await self.reconcile()

    async def adopt(self) -> None:
        """At start: take over callers a previous run left waiting, in their old order.

        Their interaction records give the original arrival time, so they keep
        their place; records of voice calls that ended while no engine was
        running are closed. Calls already talking to an agent finish in Asterisk
        on their own; their record is closed when they hang up.
        """
        try:
            channels = await self.link.event_list({"Action": "CoreShowChannels"})
        except AmiError as exc:
            log.error("voice.adopt_failed", extra={"error": str(exc)})
            return
        alive = {c.get("Uniqueid") for c in channels}
        adopted: set[str] = set()
        for channel in channels:
            uid = channel.get("Uniqueid")
            try:
                task_id = (await self.link.action({"Action": "Getvar", "Channel": uid,
                                                   "Variable": "CC_TASK"})).get("Value")
            except AmiError:
                continue
            record = await self.store.get_interaction(task_id) if task_id else None
            if record is None or record.ended_at is not None or record.queue is None:
                continue
            if channel.get("Context") != "cc-hold" or channel.get("BridgeId"):
                # Talking to an agent (or being offered): Asterisk finishes the call; we
                # only close its record when it hangs up.
                self._orphans[uid] = record.id
                adopted.add(record.id)
                continue
            try:
                number = (await self.link.action({"Action": "Getvar", "Channel": uid,
                                                  "Variable": "CALLERID(num)"})).get("Value")
            except AmiError:
                continue
            if record.queue not in self.config().queues:
                continue
            call = VoiceCall(task_id=record.id, caller_uid=uid, queue=record.queue,
                             caller_number=number or "", customer_id=record.customer_id,
                             holding=True)
            self.calls[call.task_id] = call
            self._by_uid[uid] = call
            adopted.add(record.id)
            self.routing.arrive(acd.Task(id=record.id, channel=acd.VOICE, queue=record.queue,
                                         arrival=record.arrived_at))
        for callback in await self.store.list_pending_callbacks():
            record = (await self.store.get_interaction(callback.interaction_id)
                      if callback.interaction_id else None)
            if record is None or record.ended_at is not None or record.id in adopted:
                continue
            if record.queue not in self.config().queues:
                continue
            call = VoiceCall(task_id=record.id, caller_uid=f"callback-{callback.id}",
                             queue=record.queue, caller_number=callback.number,
                             customer_id=record.customer_id, callback=True,
                             callback_id=callback.id)
            self.calls[call.task_id] = call
            adopted.add(record.id)
            self.routing.arrive(acd.Task(id=record.id, channel=acd.VOICE, queue=record.queue,
                                         arrival=record.arrived_at))
        for record in await self.store.open_interactions(channel=acd.VOICE):
            if record.id in adopted:
                continue
            await self.store.update_interaction(  # it ended while no engine was running
                record.id, ended_at=self.routing.clock(),
                outcome="answered" if record.answered_at is not None else "lost")
        log.info("voice.adopted", extra={"waiting": len(adopted), "channels": len(alive)})

    async def reconcile(self) -> None:
        """After a blind spot: end in the engine whatever ended on Asterisk meanwhile."""
        try:
            channels = await self.link.event_list({"Action": "CoreShowChannels"})
        except AmiError as exc:
            log.error("voice.reconcile_failed", extra={"error": str(exc)})
            return
        alive = {c.get("Uniqueid") for c in channels}
        for call in list(self.calls.values()):
            if call.agent_uid and call.agent_uid not in alive:
                await self._agent_gone(call)
            if call.caller_uid not in alive and not call.callback:
                await self._caller_gone(call)
            elif call.position is not None and not call.connected:
                await self._setvar(call.caller_uid, "CC_POSITION", str(call.position[0]))
        log.info("voice.reconciled", extra={"channels": len(alive), "calls": len(self.calls)})

    # ---- agents' requests ---------------------------------------------------------

    async def transfer(self, agent_id: str, *, queue: str | None = None,
                       to_agent: str | None = None) -> dict[str, str]:
        """Blind transfer of the agent's call to a queue and/or a named agent.

        The caller goes back to the holding loop (the same interaction, its IVR
        choices and recording go on); the engine queues it again and the agent
        goes to wrap-up.
        """
        call = next((c for c in self.calls.values()
                     if c.agent_id == agent_id and c.connected and not c.ended), None)
        if call is None:
            raise VoiceError(f"{agent_id} is not on a call")
        config = self.config()
        target = queue or call.queue
        if target not in config.queues or "voice" not in config.queues[target].channels:
            raise VoiceError(f"{target!r} is not a voice queue")
        if to_agent is not None and config.agent(to_agent) is None:
            raise VoiceError(f"no agent {to_agent!r}")
        outputs = self.routing.submit(lambda now: self.routing.engine.transfer(
            call.task_id, now, queue=target, agent_id=to_agent))
        ignored = next((o for o in outputs if isinstance(o, acd.Ignored)), None)
        if ignored is not None:
            raise VoiceError(f"cannot transfer: {ignored.reason}")
        call.connected = False
        call.queue = target
        call.position = None
        self._drop_leg(call)
        await self._setvar(call.caller_uid, "CC_QUEUE", target)
        await self.link.action({"Action": "Redirect", "Channel": call.caller_uid,
                                "Context": "cc-hold", "Exten": "s", "Priority": "1"})
        self._publish_wrapup(call, agent_id)
        log.info("voice.transferred", extra={"task": call.task_id, "queue": target,
                                             "agent": to_agent})
        return {"task_id": call.task_id, "queue": target, "agent": to_agent or ""}

    def probe_device(self, extension: str) -> None:
        """Ask Asterisk now whether an agent's phone is reachable (events tell us later)."""
        task = asyncio.get_running_loop().create_task(self._probe(extension))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _probe(self, extension: str) -> None:
        prefix = self.config().callcenter.asterisk.agent_endpoint_prefix
        try:
            states = await self.link.event_list({"Action": "DeviceStateList"})
        except AmiError as exc:
            log.warning("voice.device_probe_failed", extra={"error": str(exc)})
            return
        device = f"PJSIP/{prefix}{extension}"
        state = next((e.get("State") for e in states if e.get("Device") == device), "UNAVAILABLE")
        self.agents.device_health(extension, self._device_usable(extension, state))

    # ---- supervisors ----------------------------------------------------------

    async def spy(self, supervisor_id: str, agent_id: str, mode: str) -> dict[str, str]:
        """Listen to, whisper to or barge in on an agent's live call."""
        if mode not in SPY_OPTIONS:
            raise VoiceError(f"mode must be one of {', '.join(SPY_OPTIONS)}")
        config = self.config()
        supervisor = config.agent(supervisor_id)
        if supervisor is None or not supervisor.extension:
            raise VoiceError("the supervisor has no phone (extension) in agents.yaml")
        call = next((c for c in self.calls.values()
                     if c.agent_id == agent_id and c.connected and c.agent_channel), None)
        if call is None:
            raise VoiceError(f"{agent_id} is not on a call")
        options = SPY_OPTIONS[mode]
        current = self._spies.get(supervisor_id)
        if current is not None and current.agent_id == agent_id:
            current.mode = mode
            await self._setvar(current.uid, "CC_SPY_OPTIONS", options)
            await self.link.action({"Action": "Redirect", "Channel": current.uid,
                                    "Context": "cc-spy", "Exten": "s", "Priority": "1"})
            return {"mode": mode, "agent_id": agent_id}
        uid = uuid.uuid4().hex
        self._spies[supervisor_id] = SpySession(supervisor_id, agent_id, uid, mode)
        prefix = config.callcenter.asterisk.agent_endpoint_prefix
        await self.link.action({
            "Action": "Originate", "Channel": f"PJSIP/{prefix}{supervisor.extension}",
            "ChannelId": uid, "Context": "cc-spy", "Exten": "s", "Priority": "1",
            "Async": "true", "Timeout": "30000", "CallerID": f'"{mode} {agent_id}" <spy>',
            "Variable": [f"CC_SPY_TARGET={call.agent_channel}", f"CC_SPY_OPTIONS={options}"]})
        log.info("voice.spy", extra={"supervisor": supervisor_id, "agent": agent_id,
                                     "mode": mode})
        return {"mode": mode, "agent_id": agent_id}

    # ---- for reports and tests -------------------------------------------------

    def call_for_task(self, task_id: str) -> VoiceCall | None:
        return self.calls.get(task_id)


_HANDLERS: dict[str, Callable[[VoiceService, AmiEvent], Awaitable[None]]] = {
    "Newchannel": VoiceService._on_newchannel,
    "Newstate": VoiceService._on_newstate,
    "OriginateResponse": VoiceService._on_originate_response,
    "BridgeEnter": VoiceService._on_bridge_enter,
    "Hangup": VoiceService._on_hangup,
    "UserEvent": VoiceService._on_user_event,
    "DeviceStateChange": VoiceService._on_device_state,
    LINK_UP: VoiceService._on_link_up,
}

__all__ = ["AsteriskPaths", "VoiceCall", "VoiceError", "VoiceService"]
