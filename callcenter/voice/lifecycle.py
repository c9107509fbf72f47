"""A queued call from hold to its end: announcements, leaving, hang-ups, transfer, wrap-up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import acd
from callcenter.ami.link import AmiEvent
from callcenter.errors import FieldError
from callcenter.voice import dialplan, recipes
from callcenter.voice.base import VoiceDeps, VoiceError
from callcenter.voice.callbacks import Callbacks
from callcenter.voice.calls import VoiceCall, endpoint_of
from callcenter.voice.intake import ring_seconds
from callcenter.voice.messages import Messages
from callcenter.voice.phrases import spoken_count

log = logging.getLogger(__name__)


class Lifecycle:
    def __init__(self, deps: VoiceDeps, *, on_waiting: Callable[[VoiceCall], Awaitable[None]],
                 on_finished: Callable[[VoiceCall], None], callbacks: Callbacks,
                 messages: Messages | None = None) -> None:
        self.deps = deps
        self.callbacks = callbacks
        self.messages = messages
        self._on_waiting = on_waiting
        self._on_finished = on_finished  # recordings are archived from here
        # Callers whose agent hung up, until their own hang-up. Had the agent's leg ended
        # before the accept reached Asterisk, the dialplan sent them back to hold, not to
        # cc-end; their call is over all the same, so they go on to cc-end when seen there.
        self._over: set[str] = set()

    # ---- decisions from the engine ---------------------------------------------

    async def announce(self, announce: acd.AnnouncePosition) -> None:
        call = self.deps.book.get(announce.task_id)
        if call is None or call.ended or call.callback:
            return
        call.position = (announce.position, announce.expected_wait)
        if self._announces(call):
            queue = self.deps.config().queues.get(call.queue)
            minutes = "0" if announce.expected_wait is None or (
                queue is not None and not queue.announce.expected_wait) else spoken_count(
                max(1, round(announce.expected_wait / 60)))
            self.deps.post(recipes.announce(call.caller_uid, self._said_position(call),
                                            minutes), "announce")
        self.deps.notifier.position(call.task_id, call.queue, announce.position,
                                    announce.expected_wait)

    @staticmethod
    def _announces(call: VoiceCall) -> bool:
        """Whether the caller's holding loop says a position or wait (CC_ANNOUNCE, set at
        queueing): if not, nothing there needs keeping current."""
        return call.dialplan_variables.get(dialplan.ANNOUNCE) != "no"

    def _said_position(self, call: VoiceCall) -> str:
        """What the holding loop says of the caller's place: "0" when the queue's
        ``announce.position`` is off (its expected wait may still be said)."""
        queue = self.deps.config().queues.get(call.queue)
        if call.position is None or (queue is not None and not queue.announce.position):
            return "0"
        return spoken_count(call.position[0])

    async def leave(self, task_id: str, reason: str) -> None:
        call = self.deps.book.get(task_id)
        if call is None or call.ended:
            return
        if call.callback:  # its deadline (rule C5); a callback has no caller to play to
            await self.callbacks.expired(call)
            return
        call.ended = True
        self.deps.post(recipes.leave_queue(call.caller_uid, reason), "leave queue")

    async def escalate(self, action: acd.EscalationAction) -> None:
        call = self.deps.book.get(action.task_id)
        if call is None or call.ended:
            return
        if action.action == acd.EscalationActionKind.OFFER_CALLBACK:
            await self.deps.send([recipes.setvar(call.caller_uid, dialplan.CALLBACK_ENABLED,
                                                 "yes")], "offer callback")
        elif action.action == acd.EscalationActionKind.VOICEMAIL and not call.callback:
            self.deps.routing.cancel(call.task_id, acd.CANCEL_VOICEMAIL)
            if self.messages is not None:
                await self.messages.from_queue(call)  # the caller leaves a message
            else:
                await self.leave(call.task_id, "voicemail")

    # ---- events from Asterisk ------------------------------------------------------

    async def on_user_event(self, event: AmiEvent) -> None:
        kind = event.get("UserEvent")
        if kind == dialplan.EV_MESSAGE and self.messages is not None:
            self.deps.in_background(self.messages.recorded(event.get("Message")))
            return
        call = self.deps.book.get(event.get("Task"))
        if call is None:
            if kind == dialplan.EV_WAITING and event.get("Uniqueid") in self._over:
                self._let_go(event.get("Uniqueid"))
            return
        if call.callback:  # from the agent's leg (cc-callback) or the customer's
            if kind == dialplan.EV_CALLBACK_ANSWERED:
                await self.callbacks.customer_answered(call)
            elif kind == dialplan.EV_CALLBACK_RESULT and event.get("Status") != "ANSWER":
                await self.callbacks.unreached(call, event.get("Status"))
            return
        if call.caller_uid != event.get("Uniqueid"):
            return
        if kind == dialplan.EV_WAITING and call.connected:
            # back on hold after the accept: the agent's leg ended before the accept
            # reached it (its Hangup is still to come)
            await self._end(call, by="agent", cause="before the bridge")
            self._let_go(call.caller_uid)
        elif kind == dialplan.EV_WAITING:
            if call.position is not None and self._announces(call):
                self.deps.post([recipes.setvar(call.caller_uid, dialplan.POSITION,
                                               self._said_position(call))], "position")
            await self._on_waiting(call)
        elif kind == dialplan.EV_CALLBACK and not call.connected and not call.ended:
            await self.callbacks.requested(call, event.get("Number") or call.caller_number)

    async def on_hangup(self, event: AmiEvent) -> None:
        uid = event.get("Uniqueid")
        self._over.discard(uid)
        book = self.deps.book
        call = book.by_caller(uid)
        if call is not None:
            await self.caller_gone(call, cause=_cause(event))
            return
        call = book.by_leg(uid)
        if call is None:
            return
        book.drop_leg(uid)
        if uid == call.agent_uid and call.connected:
            await self._agent_left(call, cause=_cause(event))
        elif uid == call.agent_uid and call.callback_dialling:  # gave up before the customer
            await self.callbacks.unreached(call, "CANCEL")

    def _let_go(self, caller_uid: str) -> None:
        """The caller's conversation ended before it began: on to cc-end (the survey, if
        on, or goodbye), as after any agent's hang-up."""
        self._over.discard(caller_uid)
        self.deps.post([recipes.redirect(caller_uid, dialplan.END)], "end after the agent left")

    async def caller_gone(self, call: VoiceCall, cause: str = "") -> None:
        if call.callback and not call.connected:
            return  # asked to be called back: keeps the place in the queue
        if call.connected:
            await self._end(call, by=call.hung_up_by or "caller", cause=cause)
            return
        if not call.ended:
            call.ended = True
            log.info("voice.hangup", extra={"interaction": call.task_id, "by": "caller",
                                            "agent": call.agent_id, "while": "waiting",
                                            "cause": cause})
            self.deps.routing.cancel(call.task_id, "abandon")
            # Asterisk's Dial stops any agent still ringing for this caller.
        self._forget(call)

    async def agent_gone(self, call: VoiceCall) -> None:
        """The agent's leg vanished while we were not looking (reconcile)."""
        if call.connected:
            await self._agent_left(call)

    async def _agent_left(self, call: VoiceCall, cause: str = "") -> None:
        if not call.callback:
            self._over.add(call.caller_uid)
        await self._end(call, by="agent", cause=cause)

    # ---- agents' requests ---------------------------------------------------------------

    async def transfer(self, agent_id: str, *, queue: str | None = None,
                       to_agent: str | None = None) -> dict[str, str]:
        """Blind transfer of the agent's call to a queue and/or a named agent.

        The caller goes back to the holding loop (the same interaction, its IVR
        choices and recording go on); the engine queues it again and the agent
        goes to wrap-up.
        """
        deps = self.deps
        call = deps.book.of_agent(agent_id)
        if call is None:
            raise VoiceError(f"{agent_id} is not on a call")
        config = deps.config()
        target = queue or call.queue
        if target not in config.queues or "voice" not in config.queues[target].channels:
            raise FieldError("queue", f"{target!r} is not a voice queue")
        if to_agent is not None and config.agent(to_agent) is None:
            raise FieldError("agent", f"no agent {to_agent!r}")
        refused = deps.routing.transfer(call.task_id, queue=target, agent_id=to_agent)
        if refused is not None:
            raise VoiceError(f"cannot transfer: {refused}")
        deps.book.drop_leg(call.agent_uid)
        call.connected, call.queue, call.position = False, target, None
        call.clear_agent()
        await deps.send([recipes.setvar(call.caller_uid, dialplan.QUEUE, target),
                         recipes.setvar(call.caller_uid, dialplan.RING_SECONDS, ring_seconds(
                             config.queues[target].offer_timeout_seconds)),
                         *recipes.back_to_hold(call.caller_uid)], "transfer")
        deps.offers.wrapup(agent_id, call.task_id, call.queue)
        log.info("voice.transferred", extra={"task": call.task_id, "queue": target,
                                             "agent": to_agent})
        return {"task_id": call.task_id, "queue": target, "agent": to_agent or ""}

    # ---- inside -----------------------------------------------------------------------

    async def _end(self, call: VoiceCall, by: str, cause: str = "") -> None:
        if call.ended:
            return
        call.ended = True
        agent_id = call.agent_id
        self.deps.routing.end(call.task_id, by)
        # The dialplan ends the caller's side itself (cc-end); a callback's agent leg
        # (an Originate, no dialplan after the bridge) is hung up here.
        if call.callback and call.agent_uid:
            await self.deps.send([recipes.hangup(call.agent_uid)], "end callback")
        if agent_id:
            self.deps.offers.wrapup(agent_id, call.task_id, call.queue)
        log.info("voice.hangup", extra={"interaction": call.task_id, "agent": agent_id,
                                        "device": endpoint_of(call.agent_channel or "") or None,
                                        "by": by, "while": "talking", "cause": cause})
        self._forget(call)

    def _forget(self, call: VoiceCall) -> None:
        self._on_finished(call)
        self.deps.book.remove(call)


def _cause(event: AmiEvent) -> str:
    """``16 Normal Clearing``: the Q.850 cause of a Hangup event."""
    return f"{event.get('Cause')} {event.get('Cause-txt')}".strip()
