"""Dial-out: an agent calls a number from the console, through the trunk, with the
configured caller ID (``asterisk.outbound_caller_id``), and the call is an interaction.

The agent's phone rings first (showing the masked number); when the agent answers, the
dialplan dials the number (``cc-dialout``) with our caller ID, never the agent's
extension. The interaction (channel voice, medium pstn, direction outbound) is linked to
the customer who owns the number (created if none) and records when the number answered
and how the call ended: ``answered``, or ``unreached`` with the reason (no answer, busy,
unreachable, or the agent hung up first).

While dialling out an agent who was ready is set not ready (reason ``outbound``), so the
engine offers them nothing and the wallboard does not count them as ready; when the call
ends they are ready again unless they changed their state themselves. Progress goes to the
agent's consoles as ``call.outbound`` (``notifier.py``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from callcenter.ami.link import AmiEvent
from callcenter.customers.services import CustomerForbidden, CustomerService
from callcenter.errors import FieldError
from callcenter.storage.masking import mask_number
from callcenter.voice import dialplan, recipes
from callcenter.voice.base import VoiceDeps, VoiceError
from callcenter.voice.callbacks import dialable
from callcenter.voice.recordings import Recorder
from callcenter.webkit.principal import Principal

log = logging.getLogger(__name__)

RING_SECONDS = 45  # how long the number rings before the call counts as not answered
OUTBOUND = "outbound"  # the not-ready reason while an agent dials out
_REASONS = {"NOANSWER": "no answer", "BUSY": "busy", "CHANUNAVAIL": "unreachable",
            "CONGESTION": "unreachable", "CANCEL": "agent hung up"}


@dataclass
class Outbound:
    task_id: str
    agent_id: str
    leg_uid: str
    masked: str
    set_away: bool
    answered: bool = False
    reason: str | None = None


class Dialout:
    def __init__(self, deps: VoiceDeps, recorder: Recorder) -> None:
        self.deps = deps
        self.recorder = recorder
        self.customers: CustomerService | None = None  # set by the plugin: who may call whom
        self._calls: dict[str, Outbound] = {}  # task id -> the call

    async def call_back(self, user: Principal, customer_id: int) -> dict[str, str]:
        """Call a customer back from their profile: the agent never sees the number, and
        may call only a customer whose history they may read (``check_access``)."""
        if self.customers is None or user.agent_id is None:
            raise VoiceError("calling customers back is not available here")
        try:
            await self.customers.check_access(user, customer_id)
        except CustomerForbidden as exc:
            raise PermissionError(str(exc)) from None
        customer = await self.deps.store.get_customer(customer_id)
        phones = [i.value for i in (customer.identities if customer else [])
                  if i.kind == "phone" and dialable(i.value)]
        if not phones:
            raise FieldError("customer_id", "this customer has no phone number to call")
        return await self.dial(user.agent_id, phones[-1], customer_id=customer_id)

    def of_agent(self, agent_id: str) -> Outbound | None:
        return next((c for c in self._calls.values() if c.agent_id == agent_id), None)

    async def dial(self, agent_id: str, number: str,
                   customer_id: int | None = None) -> dict[str, str]:
        deps = self.deps
        config = deps.config()
        caller_id = config.callcenter.asterisk.outbound_caller_id
        if caller_id is None:
            raise VoiceError("dialling out is off (callcenter.yaml: asterisk.outbound_caller_id)")
        digits = dialable(number)
        if digits is None:
            raise FieldError("number", "digits only (3 to 20, an optional leading +)")
        session = deps.agents.sessions.get(agent_id)
        if session is None or session.device is None:
            raise VoiceError("sign in with your phone to dial out")
        if session.registered is False:
            raise VoiceError(f"your phone ({session.device}) is not registered")
        view = deps.routing.agent(agent_id)
        if (view is not None and (view.offers or view.connected)) or self.of_agent(agent_id):
            raise VoiceError("you are on a call")
        now = deps.clock()
        if customer_id is None:
            customer_id = (await deps.store.find_or_create_customer("phone", digits,
                                                                    now=now)).id
        masked = mask_number(digits)
        record = await deps.store.create_interaction(
            "voice", medium="pstn", direction="outbound", customer_id=customer_id,
            agent_id=agent_id, arrived_at=now, caller_masked=masked)
        call = Outbound(record.id, agent_id, f"cc-out-{uuid.uuid4().hex[:16]}", masked,
                        set_away=deps.agents.away(agent_id, OUTBOUND))
        self._calls[call.task_id] = call
        sent = await deps.send([recipes.originate_dialout(
            endpoint=deps.endpoint(session.device), leg_uid=call.leg_uid, task_id=call.task_id,
            shown=masked, customer_dial=config.callcenter.asterisk.callback_dial.format(
                number=digits), caller_id=caller_id, ring_seconds=RING_SECONDS,
            record=await self.recorder.plan_dialout(call.task_id))], "dial out")
        log.info("voice.dialout", extra={"task": call.task_id, "agent": agent_id,
                                         "to": masked})
        if not sent:
            await self._end(call, "unreachable")
            raise VoiceError("Asterisk did not place the call")
        self._progress(call, "ringing_agent")
        return {"task_id": call.task_id, "number": masked}

    async def hangup(self, agent_id: str) -> dict[str, str]:
        call = self.of_agent(agent_id)
        if call is None:
            raise VoiceError(f"{agent_id} is not dialling out")
        call.reason = call.reason or "agent hung up"
        await self.deps.send([recipes.hangup(call.leg_uid)], "hang up dial-out")
        return {"task_id": call.task_id}

    # ---- events from Asterisk ------------------------------------------------------------

    async def on_user_event(self, event: AmiEvent) -> bool:
        """True when the event was a dial-out's."""
        kind = event.get("UserEvent")
        if kind not in (dialplan.EV_DIALOUT_ANSWERED, dialplan.EV_DIALOUT_RESULT):
            return False
        call = self._calls.get(event.get("Task"))
        if call is None:
            return True
        if kind == dialplan.EV_DIALOUT_ANSWERED:
            call.answered = True
            await self.deps.store.update_interaction(call.task_id, answered_at=self.deps.clock(),
                                                     outcome="answered")
            self._progress(call, "answered")
        elif event.get("Status") != "ANSWER" and not call.answered:
            call.reason = _REASONS.get(event.get("Status"), "unreachable")
            self._progress(call, "unreached", call.reason)
        return True

    async def on_dialling(self, event: AmiEvent) -> None:
        """DialBegin from the agent's leg: the number rings."""
        call = next((c for c in self._calls.values() if c.leg_uid == event.get("Uniqueid")),
                    None)
        if call is not None:
            self._progress(call, "dialing")

    async def on_originate_response(self, event: AmiEvent) -> None:
        call = next((c for c in self._calls.values() if c.leg_uid == event.get("Uniqueid")),
                    None)
        if call is not None and event.get("Response") != "Success":
            await self._end(call, "agent did not answer")

    async def on_hangup(self, event: AmiEvent) -> None:
        call = next((c for c in self._calls.values() if c.leg_uid == event.get("Uniqueid")),
                    None)
        if call is not None:
            await self._end(call, call.reason or "agent did not answer")

    # ---- inside -------------------------------------------------------------------------

    async def _end(self, call: Outbound, reason: str) -> None:
        if self._calls.pop(call.task_id, None) is None:
            return
        deps = self.deps
        fields: dict[str, object] = {"ended_at": deps.clock()}
        if call.answered:
            self.recorder.finish(call.task_id)
        else:
            fields.update(outcome="unreached", attributes={"reason": reason})
            await self.recorder.discard(call.task_id)
        await deps.store.update_interaction(call.task_id, **fields)
        if call.set_away:
            deps.agents.back(call.agent_id, OUTBOUND)
        self._progress(call, "ended", None if call.answered else reason)
        log.info("voice.dialout_ended", extra={"task": call.task_id, "agent": call.agent_id,
                                               "answered": call.answered})

    def _progress(self, call: Outbound, status: str, reason: str | None = None) -> None:
        self.deps.notifier.outbound(call.agent_id, call.task_id, status=status,
                                    number=call.masked, reason=reason)
