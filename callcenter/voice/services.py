"""Voice: carry the queue engine's decisions out on Asterisk, and its events back in.

The parts, one job each (read ``recipes.py`` first: it is the AMI recipe):

* ``intake``     the IVR's outcome becomes an interaction, a task and dialplan variables;
* ``callbacks``  a customer who asked to be called back is, or is told why not;
* ``messages``   a caller who cannot be served leaves a message, a task for an agent;
* ``offers``     ring from the caller's channel; confirm or refuse an answer; withdraw;
* ``lifecycle``  announcements, leaving the queue, hang-ups, transfer, wrap-up;
* ``recordings`` where an accepted call is recorded; archive the files when it ends;
* ``devices``    agents' phones registered and free;
* ``recovery``   adopt callers after a restart; reconcile after a blind spot;
* ``turns``      callers woken after a restart are queued in the order they called;
* ``supervisor`` ChanSpy listen / whisper / barge;
* ``controls``   the agent's own call from the console: hang up, hold, mute, transfer;
* ``survey``     the caller's keypress rating after the agent hung up.

``VoiceService`` wires them and routes AMI events through one table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import acd
from callcenter.ami import AmiError
from callcenter.ami.link import LINK_UP, AmiEvent
from callcenter.config.models import Config
from callcenter.voice import dialplan, recipes
from callcenter.voice.base import AsteriskPaths, VoiceDeps, VoiceError
from callcenter.voice.callbacks import Callbacks
from callcenter.voice.calls import VoiceCall
from callcenter.voice.controls import Controls
from callcenter.voice.devices import Devices
from callcenter.voice.dialout import Dialout
from callcenter.voice.intake import Intake
from callcenter.voice.lifecycle import Lifecycle
from callcenter.voice.messages import Messages
from callcenter.voice.offers import Offers
from callcenter.voice.recordings import Recorder
from callcenter.voice.recovery import Recovery
from callcenter.voice.supervisor import Supervisor
from callcenter.voice.survey import Survey
from callcenter.voice.turns import Turns
from callcenter.webkit.principal import Principal
from ivr.fastagi import AgiCall
from ivr.runner import IvrOutcome

Handler = Callable[[AmiEvent], Awaitable[None]]

LINK_WAIT_SECONDS = 3.0  # a FastAGI door check waits this long for a reconnecting AMI link


class VoiceService:
    def __init__(self, deps: VoiceDeps) -> None:
        self.deps = deps
        self.messages = Messages(deps)
        self.turns = Turns()
        self.intake = Intake(deps, self.turns, self.messages)
        self.recorder = Recorder(deps)
        self.callbacks = Callbacks(deps)
        self.offers = Offers(deps, self.recorder, self.callbacks)
        self.lifecycle = Lifecycle(deps, on_waiting=self.offers.on_waiting,
                                   on_finished=self.recorder.finished,
                                   callbacks=self.callbacks, messages=self.messages)
        self.devices = Devices(deps)
        self.recovery = Recovery(deps, offers=self.offers, lifecycle=self.lifecycle,
                                 devices=self.devices, callbacks=self.callbacks,
                                 turns=self.turns)
        self.supervisor = Supervisor(deps)
        self.controls = Controls(deps, self.lifecycle)
        self.dialout = Dialout(deps, self.recorder)
        self.survey = Survey(deps)
        self._handlers: dict[str, list[Handler]] = {
            "DialBegin": [self.offers.on_dial_begin, self.dialout.on_dialling,
                          self.controls.on_dial_begin],
            "DialEnd": [self.offers.on_dial_end, self.controls.on_dial_end],
            "Newstate": [self.offers.on_ringing],
            "OriginateResponse": [self.offers.on_originate_response,
                                  self.dialout.on_originate_response],
            "Hangup": [self.offers.on_leg_hangup, self.lifecycle.on_hangup, self.recovery.on_hangup,
                       self.supervisor.on_hangup, self.controls.on_hangup,
                       self.dialout.on_hangup],
            "UserEvent": [self._on_user_event],
            "BridgeEnter": [self.offers.on_bridge_enter],
            "DeviceStateChange": [self.devices.on_device_state],
            "ContactStatus": [self.devices.on_contact_status],
            LINK_UP: [self.recovery.on_link_up],
        }
        deps.link.on_event(self.on_ami_event)

    @property
    def calls(self) -> dict[str, VoiceCall]:
        return self.deps.book.calls

    def config(self) -> Config:
        return self.deps.config()

    # ---- the routing service's channel adapter -------------------------------------

    async def apply(self, decision: acd.Decision) -> None:
        if isinstance(decision, acd.Offer):
            await self.offers.offer(decision)
        elif isinstance(decision, acd.WithdrawOffer):
            await self.offers.withdraw(decision)
        elif isinstance(decision, acd.AnnouncePosition):
            await self.lifecycle.announce(decision)
        elif isinstance(decision, acd.LeaveQueue | acd.RejectArrival):
            await self.lifecycle.leave(decision.task_id, decision.reason)
        elif isinstance(decision, acd.EscalationAction):
            await self.lifecycle.escalate(decision)

    async def after_batch(self) -> None:
        await self.offers.after_batch()

    # ---- AMI events ----------------------------------------------------------------

    async def on_ami_event(self, event: AmiEvent) -> None:
        for handler in self._handlers.get(event.name, ()):
            await handler(event)

    async def _on_user_event(self, event: AmiEvent) -> None:
        kind = event.get("UserEvent")
        if kind == dialplan.EV_ANSWER:
            await self.offers.on_answer(event)
        elif kind == dialplan.EV_SURVEY:
            await self.survey.on_answer(event)
        elif await self.dialout.on_user_event(event):
            return
        else:
            await self.lifecycle.on_user_event(event)

    # ---- requests ----------------------------------------------------------------------

    async def route_call(self, call: AgiCall, outcome: IvrOutcome) -> dict[str, str]:
        return await self.intake.route_call(call, outcome)

    async def requeue(self, call: AgiCall) -> dict[str, str] | None:
        return await self.intake.requeue(call)

    async def transfer(self, agent_id: str, *, queue: str | None = None,
                       to_agent: str | None = None,
                       number: str | None = None) -> dict[str, str]:
        if number is not None:
            return await self.controls.transfer_out(agent_id, number)
        return await self.controls.transfer(agent_id, queue=queue, to_agent=to_agent)

    async def spy(self, supervisor_id: str, agent_id: str, mode: str) -> dict[str, str]:
        return await self.supervisor.spy(supervisor_id, agent_id, mode)

    async def call_state(self, agent_id: str) -> dict[str, Any]:
        dial_out = self.config().callcenter.asterisk.outbound_caller_id is not None
        return {**self.controls.state(agent_id), "dial_out": dial_out}

    async def hold(self, agent_id: str, on: bool) -> dict[str, Any]:
        return await (self.controls.hold(agent_id) if on else self.controls.resume(agent_id))

    async def consult(self, agent_id: str, *, to_agent: str | None = None,
                      number: str | None = None) -> dict[str, Any]:
        return await self.controls.consult(agent_id, to_agent=to_agent, number=number)

    async def end_consult(self, agent_id: str, then: str) -> dict[str, Any]:
        return await self.controls.end_consult(agent_id, then)

    async def mute(self, agent_id: str, on: bool) -> dict[str, Any]:
        return await self.controls.mute(agent_id, on)

    async def hangup(self, agent_id: str) -> dict[str, Any]:
        if self.dialout.of_agent(agent_id) is not None:
            return await self.dialout.hangup(agent_id)
        return await self.controls.hangup(agent_id)

    async def why_no_calls(self, agent_id: str) -> dict[str, Any]:
        """"Why am I not getting calls?": reconcile with Asterisk at once (what a lost
        event left behind is repaired), read the agent's phone again, then say what
        stands between the agent and the next call."""
        deps = self.deps
        repairs = await self.recovery.reconcile("agent")  # phones read again, too
        session = deps.agents.sessions.get(agent_id)
        view = deps.routing.agent(agent_id)
        config = deps.config()
        agent = config.agent(agent_id)
        queues = [q for q in config.queues if agent is not None
                  and "voice" in config.queues[q].channels
                  and any(m.id == agent_id for m in config.eligible_agents(q))]
        waiting = {q: sum(1 for w in deps.routing.waiting(q) if w.channel == acd.VOICE)
                   for q in queues}
        state = view.state.value if view else "logged_out"
        reasons = []
        if view is None:
            reasons.append("logged_out")
        elif state != "ready":
            reasons.append(state)
        if session is not None and not session.device:
            reasons.append("no_phone")
        elif session is not None and not session.device_ok:
            reasons.append("phone_unreachable")
        if not queues:
            reasons.append("no_voice_queue")
        elif not reasons and not any(waiting.values()):
            reasons.append("nobody_waiting")
        mine = [r for r in repairs if r["agent"] == agent_id]
        if mine:
            reasons.append("repaired")
        return {"state": state, "reason": view.reason if view else None,
                "device": session.device if session else None,
                "device_ok": session.device_ok if session else None,
                "waiting": waiting, "repaired": mine, "repairs": len(repairs),
                "reasons": reasons or ["none"]}

    async def dial(self, user: Principal, *, number: str | None = None,
                   customer_id: int | None = None) -> dict[str, str]:
        if customer_id is not None:
            return await self.dialout.call_back(user, customer_id)
        if user.agent_id is None or number is None:
            raise VoiceError("name a number")
        return await self.dialout.dial(user.agent_id, number)

    def probe_device(self, extension: str) -> None:
        self.devices.probe(extension)

    async def channel_exists(self, uid: str) -> bool:
        """Whether Asterisk has this channel now (the IVR trusts no claim of one). A link
        that is reconnecting is waited for (up to ``LINK_WAIT_SECONDS``): a caller whose
        IVR begins in that moment is not refused and sent to stand by, to be overtaken
        by callers who came after."""
        if not uid:
            return False
        link = self.deps.link
        if not link.is_up:
            try:
                await link.wait_up(LINK_WAIT_SECONDS)
            except TimeoutError:
                return False
        try:
            await link.action(recipes.getvar(uid, "CHANNEL(name)"))
        except AmiError:  # no such channel, or the link went down again
            return False
        return True

    async def request_callback(self, number: str, queue: str, *, customer_id: int | None,
                               origin: str) -> str:
        return await self.callbacks.request(number, queue, customer_id=customer_id,
                                            origin=origin)

    def call_for_task(self, task_id: str) -> VoiceCall | None:
        return self.deps.book.get(task_id)


__all__ = ["AsteriskPaths", "VoiceCall", "VoiceDeps", "VoiceError", "VoiceService"]
