"""What an agent does to their own connected call from the console: hang up, hold and
resume, mute, blind transfer (to a queue or agent through the engine, or to a number
through the trunk), and attended transfer: consult a colleague or a number while the
caller hears music, then hand the caller over, talk all three (a conference), or return.

Every control acts on the agent's own connected call only (``CallBook.of_agent``), so no
request names a call and none can reach another agent's. Each step goes into the
interaction's queue log (``HOLD``, ``UNHOLD`` with its seconds, ``MUTE``, ``UNMUTE``,
``HANGUP``, ``TRANSFEROUT``): the history shows what happened, in order. Time on hold is
part of the talk time the engine counts for handle time (AHT); it is also added up on the
interaction (``attributes.hold_seconds``, ``attributes.holds``) for reports.

How it is done over AMI (``recipes.py``): hold moves the caller to music and the agent's
leg to silence together; resume lets the caller's channel take the agent's leg back into a
bridge; mute sets ``MUTEAUDIO(in)`` on the agent's leg. A held call whose one side hangs
up has its other side hung up here (nothing else would end it).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from callcenter.ami.link import AmiEvent
from callcenter.errors import FieldError
from callcenter.storage.masking import mask_number
from callcenter.voice import dialplan, recipes
from callcenter.voice.base import VoiceDeps, VoiceError
from callcenter.voice.callbacks import dialable
from callcenter.voice.calls import VoiceCall
from callcenter.voice.lifecycle import Lifecycle

log = logging.getLogger(__name__)
BRIDGE_WAIT_SECONDS = 3.0
"""How long a control waits for a just-accepted call's bridge: the dialplan's verdict wait
(``CC_VERDICT_WAIT``), after which an answered leg still unbridged is gone anyway."""


@dataclass
class Controlled:
    """What the console changed on one connected call."""

    task_id: str
    agent_id: str
    caller_uid: str
    agent_uid: str
    held_since: float | None = None
    hold_seconds: float = 0.0
    holds: int = 0
    muted: bool = False
    consult: str | None = None  # whom the agent consults: an agent id or a masked number
    consult_uid: str | None = None  # the consulted party's channel, once dialled
    consult_answered: bool = False
    conference: bool = False

    @property
    def held(self) -> bool:
        return self.held_since is not None


class Controls:
    def __init__(self, deps: VoiceDeps, lifecycle: Lifecycle) -> None:
        self.deps = deps
        self.lifecycle = lifecycle
        self._calls: dict[str, Controlled] = {}  # task id -> what was changed on it

    # ---- requests -----------------------------------------------------------------

    def state(self, agent_id: str) -> dict[str, Any]:
        """The agent's call as the console's buttons show it (no call: ``task_id`` None),
        with where it may be transferred."""
        call = self.deps.book.of_agent(agent_id)
        view = self._view(None if call is None else self._calls.get(call.task_id),
                          None if call is None else call.task_id)
        return {**view, "transfer": self.targets(agent_id)}

    def targets(self, agent_id: str) -> dict[str, Any]:
        config = self.deps.config()
        return {"queues": [{"id": qid, "name": {"zh": q.name.get("zh"), "en": q.name.get("en")}}
                           for qid, q in config.queues.items() if q.voice],
                "agents": [{"id": a.id, "name": a.name} for a in config.agents
                           if a.takes_voice and a.id != agent_id]}

    async def hold(self, agent_id: str) -> dict[str, Any]:
        call, done = await self._own(agent_id)
        if done.held:
            raise VoiceError("the call is on hold already")
        if done.conference:
            raise VoiceError("the call is a conference: it cannot be put on hold")
        await self._send([recipes.hold(call.caller_uid, done.agent_uid)], "hold")
        done.held_since = self.deps.clock()
        done.holds += 1
        await self._step(done, "HOLD", call.queue)
        return self._changed(done)

    async def resume(self, agent_id: str) -> dict[str, Any]:
        call, done = await self._own(agent_id)
        if not done.held:
            raise VoiceError("the call is not on hold")
        if done.consult is not None:
            raise VoiceError("you are consulting: end the consult first")
        await self._send(recipes.resume(call.caller_uid, done.agent_uid), "resume")
        seconds = self._unhold(done)
        await self._step(done, "UNHOLD", call.queue, {"seconds": round(seconds, 3)})
        await self._save_hold(done)
        return self._changed(done)

    async def mute(self, agent_id: str, on: bool) -> dict[str, Any]:
        call, done = await self._own(agent_id)
        await self._send([recipes.mute(done.agent_uid, on)], "mute")
        done.muted = on
        await self._step(done, "MUTE" if on else "UNMUTE", call.queue)
        return self._changed(done)

    async def hangup(self, agent_id: str) -> dict[str, Any]:
        """End the call from the console, as if the agent hung up their phone."""
        call, done = await self._own(agent_id)
        if done.consult is not None and not done.conference:
            raise VoiceError("you are consulting: hand the caller over or return first")
        await self._step(done, "HANGUP", call.queue)
        call.hung_up_by = "agent"  # ended by the agent, whichever side Asterisk ends first
        actions = [recipes.hangup(done.agent_uid)]
        if done.held:  # the caller listens to music, in no bridge: end it too
            actions.append(recipes.hangup(call.caller_uid))
        await self._send(actions, "hang up")
        return {"task_id": call.task_id}

    async def transfer(self, agent_id: str, *, queue: str | None = None,
                       to_agent: str | None = None) -> dict[str, str]:
        """The engine's blind transfer (queue and/or agent), from hold as well."""
        call = self.deps.book.of_agent(agent_id)
        if call is not None:
            await self._bridged(call)
        done = self._calls.get(call.task_id) if call is not None else None
        result = await self.lifecycle.transfer(agent_id, queue=queue, to_agent=to_agent)
        if done is not None:  # only once the transfer is under way: a refused one stays held
            self._calls.pop(done.task_id, None)
            await self._left(done, "transfer")
        return result

    async def transfer_out(self, agent_id: str, number: str) -> dict[str, str]:
        """Blind transfer to a number through the trunk; the agent goes to wrap-up.

        The caller's channel dials the number (``asterisk.callback_dial``, the trunk's dial
        string): the engine's part of the call is over, the interaction keeps its record.
        """
        deps = self.deps
        call, done = await self._own(agent_id)
        dial = deps.config().callcenter.asterisk.callback_dial.format(number=number)
        # The agent's leg may hang up before Asterisk has answered the actions: that
        # hang-up must end nothing else (the caller goes on).
        self._calls.pop(call.task_id, None)
        deps.book.drop_leg(call.agent_uid)
        try:
            await self._send(recipes.transfer_out(call.caller_uid, dial), "transfer out")
        except VoiceError:
            self._calls[call.task_id] = done
            deps.book.add_leg(call.agent_uid, call)
            raise
        await self._step(done, "TRANSFEROUT", call.queue, {"to": mask_number(number)})
        await self._left(done, "transfer out")
        # The caller is no longer the engine's to connect: when they hang up, the
        # lifecycle forgets the call (recordings archived) without a second end.
        call.connected, call.ended = False, True
        deps.routing.end(call.task_id, "agent")
        deps.offers.wrapup(agent_id, call.task_id, call.queue)
        call.clear_agent()
        log.info("voice.transferred_out", extra={"task": call.task_id, "agent": agent_id,
                                                 "to": mask_number(number)})
        return {"task_id": call.task_id, "queue": call.queue, "agent": ""}

    async def consult(self, agent_id: str, *, to_agent: str | None = None,
                      number: str | None = None) -> dict[str, Any]:
        """Attended transfer, step 1: the caller hears music (counted as hold) while the
        agent's own leg calls a colleague's phone or a number through the trunk."""
        deps = self.deps
        call, done = await self._own(agent_id)
        if done.consult is not None or done.conference:
            raise VoiceError("you are consulting already")
        config = deps.config()
        if to_agent is not None:
            target = config.agent(to_agent)
            if target is None or target.extension is None or to_agent == agent_id:
                raise FieldError("agent", f"{to_agent!r} is not a colleague with a phone")
            # Where the colleague signed in (the browser phone, say), else their desk.
            session = deps.agents.sessions.get(to_agent)
            if session is not None and session.device is not None and not session.device_ok:
                # Asterisk says that phone is unreachable or busy: a Dial would fail.
                raise VoiceError(f"{to_agent}'s phone cannot take a call now "
                                 "(unreachable or busy); try again in a moment")
            device = (session.device if session is not None else None) or target.extension
            dial, label = f"PJSIP/{deps.endpoint(device)}", to_agent
        else:
            digits = dialable(number or "")
            if digits is None:
                raise FieldError("number", "digits only (3 to 20, an optional leading +)")
            dial = config.callcenter.asterisk.callback_dial.format(number=digits)
            label = mask_number(digits)
        if done.held:  # the caller hears music already: only the agent's leg moves
            actions = [*recipes.consult(call.caller_uid, done.agent_uid, dial, call.task_id)[:3],
                       recipes.redirect(done.agent_uid, dialplan.CONSULT)]
        else:
            actions = recipes.consult(call.caller_uid, done.agent_uid, dial, call.task_id)
        # Known before Asterisk answers: its Dial events may come first.
        done.consult, done.consult_uid, done.consult_answered = label, None, False
        try:
            await self._send(actions, "consult")
        except VoiceError:
            done.consult = None
            raise
        if not done.held:
            done.held_since = deps.clock()
            done.holds += 1
        await self._step(done, "CONSULT", call.queue, {"to": label})
        return self._changed(done)

    async def end_consult(self, agent_id: str, then: str) -> dict[str, Any]:
        """Attended transfer, step 2: ``transfer`` hands the caller to the party consulted
        (the agent goes to wrap-up), ``conference`` puts all three together, ``return``
        hangs the consulted party up and takes the caller back."""
        deps = self.deps
        call, done = await self._own(agent_id)
        if done.consult is None or done.conference:
            raise VoiceError("you are not consulting anyone")
        if then == "return":
            if done.consult_uid is not None:
                await self._send([recipes.hangup(done.consult_uid)], "end the consult")
                # The agent's leg leaves its Dial once the party is gone: then take it back.
                deadline = deps.clock() + 5
                while done.consult_uid is not None and deps.clock() < deadline:
                    await asyncio.sleep(0.02)
            done.consult = None
            return await self.resume(agent_id)
        if done.consult_uid is None or not done.consult_answered:
            raise VoiceError(f"{done.consult} has not answered")
        if then == "conference":
            await self._send(recipes.conference(call.caller_uid, done.agent_uid,
                                                done.consult_uid), "conference")
            seconds = self._unhold(done)
            done.conference = True
            await self._step(done, "UNHOLD", call.queue, {"seconds": round(seconds, 3)})
            await self._step(done, "CONFERENCE", call.queue, {"with": done.consult})
            await self._save_hold(done)
            return self._changed(done)
        # The agent's leg hangs up as soon as the caller takes the party consulted, maybe
        # before Asterisk has answered the actions: that hang-up must end nothing else.
        self._calls.pop(call.task_id, None)
        deps.book.drop_leg(call.agent_uid)
        try:
            await self._send(recipes.complete_consult(call.caller_uid, done.agent_uid,
                                                      done.consult_uid),
                             "complete the transfer")
        except VoiceError:
            self._calls[call.task_id] = done
            deps.book.add_leg(call.agent_uid, call)
            raise
        self._unhold(done)
        await self._step(done, "TRANSFEROUT", call.queue, {"to": done.consult,
                                                           "attended": True})
        await self._save_hold(done)
        # As after a transfer to a number: the caller is no longer the engine's to connect.
        call.connected, call.ended = False, True
        deps.routing.end(call.task_id, "agent")
        deps.offers.wrapup(agent_id, call.task_id, call.queue)
        call.clear_agent()
        log.info("voice.transferred_attended", extra={"task": call.task_id, "agent": agent_id,
                                                      "to": done.consult})
        return {**self._view(None, call.task_id), "consult": None}

    # ---- events from Asterisk ------------------------------------------------------------

    async def on_dial_begin(self, event: AmiEvent) -> None:
        """The agent's consult call rings someone: that is the party consulted."""
        done = self._consulting(event.get("Uniqueid"))
        if done is not None and done.consult_uid is None:
            done.consult_uid = event.get("DestUniqueid")

    async def on_dial_end(self, event: AmiEvent) -> None:
        done = self._consulting(event.get("Uniqueid"))
        if done is None or event.get("DestUniqueid") != done.consult_uid:
            return
        if event.get("DialStatus") == "ANSWER":
            done.consult_answered = True
            self._changed(done)

    def _consulting(self, agent_uid: str) -> Controlled | None:
        return next((c for c in self._calls.values()
                     if c.consult is not None and c.agent_uid == agent_uid), None)

    async def on_hangup(self, event: AmiEvent) -> None:
        """One side of a controlled call hung up: the call is over; a held call's other
        side (music, silence, in no bridge) is hung up here."""
        uid = event.get("Uniqueid")
        consulted = next((c for c in self._calls.values()
                          if c.consult_uid == uid and not c.conference), None)
        if consulted is not None:  # the party consulted hung up (or was hung up)
            consulted.consult_uid, consulted.consult_answered = None, False
            if consulted.consult is not None:
                consulted.consult = None  # the agent's leg waits in cc-agent-held
                self._changed(consulted)
            return
        done = next((c for c in self._calls.values() if uid in (c.caller_uid, c.agent_uid)),
                    None)
        if done is None:
            return
        self._calls.pop(done.task_id, None)
        if done.held:
            other = done.agent_uid if uid == done.caller_uid else done.caller_uid
            self._unhold(done)
            await self.deps.send([recipes.hangup(other)], "end held call")
        if done.holds:
            await self._save_hold(done)

    # ---- inside -------------------------------------------------------------------------

    async def _own(self, agent_id: str) -> tuple[VoiceCall, Controlled]:
        call = self.deps.book.of_agent(agent_id)
        if call is None or not call.agent_uid:
            raise VoiceError(f"{agent_id} is not on a call")
        await self._bridged(call)
        done = self._calls.get(call.task_id)
        if done is None or done.agent_uid != call.agent_uid:  # new (or a transferred) leg
            done = self._calls[call.task_id] = Controlled(call.task_id, agent_id,
                                                          call.caller_uid, call.agent_uid)
        return call, done

    async def _bridged(self, call: VoiceCall) -> None:
        """Controls act on the conversation. For a few milliseconds after the engine's
        accept the agent's leg still waits in the pre-bridge handler, where a Redirect
        would end it: wait for the bridge (a console click, or a script, can be that
        quick)."""
        if not call.bridged:
            try:
                await asyncio.wait_for(call.bridge_formed.wait(), BRIDGE_WAIT_SECONDS)
            except TimeoutError:
                raise VoiceError("the call is still being connected: try again") from None
        if not call.bridged or call.ended:
            raise VoiceError(f"{call.agent_id} is not on a call")

    async def _send(self, actions: list[dict[str, Any]], what: str) -> None:
        if not await self.deps.send(actions, what):
            raise VoiceError(f"Asterisk did not {what} the call")

    def _unhold(self, done: Controlled) -> float:
        seconds = max(0.0, self.deps.clock() - (done.held_since or self.deps.clock()))
        done.hold_seconds += seconds
        done.held_since = None
        return seconds

    async def _left(self, done: Controlled, why: str) -> None:
        """The agent's part is over while the caller goes on: a held leg is hung up."""
        if done.held:
            self._unhold(done)
            await self.deps.send([recipes.hangup(done.agent_uid)], f"{why} from hold")
        if done.holds:
            await self._save_hold(done)

    async def _step(self, done: Controlled, event: str, queue: str,
                    data: dict[str, Any] | None = None) -> None:
        await self.deps.store.log_event(event, at=self.deps.clock(),
                                        interaction_id=done.task_id, queue=queue,
                                        agent=done.agent_id, data=data or {})
        log.info("voice.control", extra={"task": done.task_id, "agent": done.agent_id,
                                         "step": event})

    async def _save_hold(self, done: Controlled) -> None:
        store = self.deps.store
        interaction = await store.get_interaction(done.task_id)
        if interaction is None:
            return
        attributes = dict(interaction.attributes or {})
        attributes.update(hold_seconds=round(done.hold_seconds, 3), holds=done.holds)
        await store.update_interaction(done.task_id, attributes=attributes)

    def _changed(self, done: Controlled) -> dict[str, Any]:
        self.deps.notifier.call_control(done.agent_id, done.task_id, held=done.held,
                                        muted=done.muted, held_since=done.held_since,
                                        hold_seconds=done.hold_seconds, consult=done.consult,
                                        consult_answered=done.consult_answered,
                                        conference=done.conference)
        return self._view(done, done.task_id)

    @staticmethod
    def _view(done: Controlled | None, task_id: str | None) -> dict[str, Any]:
        if done is None:
            return {"task_id": task_id, "held": False, "muted": False, "held_since": None,
                    "hold_seconds": 0.0, "consult": None, "consult_answered": False,
                    "conference": False}
        return {"task_id": task_id, "held": done.held, "muted": done.muted,
                "held_since": done.held_since, "hold_seconds": round(done.hold_seconds, 3),
                "consult": done.consult, "consult_answered": done.consult_answered,
                "conference": done.conference}
