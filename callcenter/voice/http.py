"""The voice API: an agent controls their own call (hold, mute, hang up, transfer),
dials out and asks why no calls come; a supervisor listens, whispers, barges.

Handlers call ``VoiceService`` (``call.service``) only. A supervisor acts on agents
of the teams they supervise; admins on everyone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from callcenter.webkit.endpoints import (
    AGENT_CONSOLE,
    SUPERVISION,
    TEAM_SCOPE,
    Api,
    ApiError,
    Call,
    conflict,
    forbidden,
    not_found,
    supervised_agent,
)

from .base import NoTelephone, VoiceError
from .messages import MessageDesk, MessageError
from .schemas import (
    CallControls,
    ConsultEnd,
    ConsultRequest,
    DialRequest,
    DialResult,
    HungUp,
    MessageCallback,
    MessageDone,
    MyCall,
    SpyRequest,
    SpyResult,
    Switch,
    TransferRequest,
    TransferResult,
    WhyNoCalls,
)
from .services import VoiceService

log = logging.getLogger(__name__)

api = Api("voice", "Calls: the agent's call controls (hold, mute, hang up, blind transfer, "
          "dial out); "
          "supervisors' listen, whisper and barge.")


async def _carry_out(request: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """503 without a telephone system, 409 when the call cannot do it now."""
    try:
        return await request
    except NoTelephone as exc:
        raise ApiError(503, "no_voice", str(exc)) from None
    except VoiceError as exc:
        raise conflict(str(exc)) from None


def _agent(call: Call) -> str:
    if call.user.agent_id is None:
        raise forbidden("your account has no agent profile in agents.yaml")
    return call.user.agent_id


OWN_CALL = "only my own connected call"


@api.route("POST", "/api/agent/call/transfer", roles=AGENT_CONSOLE, body=TransferRequest,
           response=TransferResult, scope=OWN_CALL,
           summary="Blind transfer of my call to a queue and/or an agent, or to a number "
                   "through the trunk; I go to wrap-up.",
           errors={409, 503})
async def transfer(call: Call) -> TransferResult:
    service: VoiceService = call.service
    body: TransferRequest = call.body
    result = await _carry_out(service.transfer(_agent(call), queue=body.queue,
                                               to_agent=body.agent, number=body.number))
    return TransferResult.model_validate(result)


@api.route("GET", "/api/agent/call", roles=AGENT_CONSOLE, response=MyCall,
           scope=OWN_CALL, summary="My connected call's controls (on hold, muted) and where "
                                   "I may transfer it.", errors={503})
async def call_state(call: Call) -> MyCall:
    service: VoiceService = call.service
    return MyCall.model_validate(await _carry_out(service.call_state(_agent(call))))


@api.route("POST", "/api/agent/call/hold", roles=AGENT_CONSOLE, body=Switch,
           response=CallControls, scope=OWN_CALL,
           summary="Put my call on hold (the caller hears music) or take it back.",
           errors={409, 503})
async def hold(call: Call) -> CallControls:
    service: VoiceService = call.service
    body: Switch = call.body
    return CallControls.model_validate(await _carry_out(service.hold(_agent(call), body.on)))


@api.route("POST", "/api/agent/call/consult", roles=AGENT_CONSOLE, body=ConsultRequest,
           response=CallControls, scope=OWN_CALL,
           summary="Attended transfer: the caller hears music while my phone calls a "
                   "colleague or a number.", errors={409, 503})
async def consult(call: Call) -> CallControls:
    service: VoiceService = call.service
    body: ConsultRequest = call.body
    return CallControls.model_validate(await _carry_out(service.consult(
        _agent(call), to_agent=body.agent, number=body.number)))


@api.route("POST", "/api/agent/call/consult/end", roles=AGENT_CONSOLE, body=ConsultEnd,
           response=CallControls, scope=OWN_CALL,
           summary="End my consult: hand the caller over (I go to wrap-up), talk all three, "
                   "or return to the caller.", errors={409, 503})
async def end_consult(call: Call) -> CallControls:
    service: VoiceService = call.service
    body: ConsultEnd = call.body
    return CallControls.model_validate(await _carry_out(service.end_consult(_agent(call),
                                                                             body.then)))


@api.route("POST", "/api/agent/call/mute", roles=AGENT_CONSOLE, body=Switch,
           response=CallControls, scope=OWN_CALL,
           summary="Mute my microphone on the call (I still hear the caller), or unmute.",
           errors={409, 503})
async def mute(call: Call) -> CallControls:
    service: VoiceService = call.service
    body: Switch = call.body
    return CallControls.model_validate(await _carry_out(service.mute(_agent(call), body.on)))


@api.route("POST", "/api/agent/call/dial", roles=AGENT_CONSOLE, body=DialRequest,
           response=DialResult, scope="my own phone",
           summary="Call a number, or call a customer back, through the trunk with the "
                   "configured caller ID: my phone rings first; an outbound interaction is "
                   "recorded.", errors={403, 409, 503})
async def dial(call: Call) -> DialResult:
    service: VoiceService = call.service
    body: DialRequest = call.body
    _agent(call)
    try:
        result = await _carry_out(service.dial(call.user, number=body.number,
                                               customer_id=body.customer_id))
    except PermissionError as exc:
        raise forbidden(str(exc)) from None
    return DialResult.model_validate(result)


@api.route("POST", "/api/agent/call/hangup", roles=AGENT_CONSOLE, response=HungUp,
           scope=OWN_CALL, summary="Hang up my call (an engine call: I go to wrap-up), or "
                                   "my dial-out.", errors={409, 503})
async def hangup(call: Call) -> HungUp:
    service: VoiceService = call.service
    return HungUp.model_validate(await _carry_out(service.hangup(_agent(call))))


@api.route("POST", "/api/agent/why-no-calls", roles=AGENT_CONSOLE, response=WhyNoCalls,
           scope="only myself",
           summary="Why am I not getting calls? Reconciles the engine with Asterisk now "
                   "(repairing what a lost event left behind), then says what stands between "
                   "me and the next call.", errors={503})
async def why_no_calls(call: Call) -> WhyNoCalls:
    service: VoiceService = call.service
    return WhyNoCalls.model_validate(await _carry_out(service.why_no_calls(_agent(call))))


@api.route("POST", "/api/supervisor/agents/{agent_id}/spy", roles=SUPERVISION,
           body=SpyRequest, response=SpyResult, scope=TEAM_SCOPE,
           summary="Listen to, whisper to or barge in on the agent's call: your phone rings.",
           errors={404, 409, 503})
async def spy(call: Call) -> SpyResult:
    service: VoiceService = call.service
    agent_id = supervised_agent(call, service.config())
    body: SpyRequest = call.body
    supervisor = call.user.agent_id or call.user.username
    result = await _carry_out(service.spy(supervisor, agent_id, body.mode))
    log.info("voice.spy_requested", extra={"supervisor": supervisor, "agent": agent_id,
                                           "mode": body.mode})
    return SpyResult(agent_id=agent_id, mode=body.mode, detail=result)


# ---- voice messages: the agent who took one plays it, calls back, finishes it -----------

messages_api = Api("voice messages", "Messages callers left (closed hours, a queue's "
                   "voicemail step): the agent who took one plays it, calls the customer "
                   "back, and finishes it (wrap-up follows).")
OWN_MESSAGE = "only a message I took"


async def _message_step(request: Awaitable[Any]) -> Any:
    try:
        return await request
    except MessageError as exc:
        if exc.status == 403:
            raise forbidden(str(exc)) from None
        if exc.status == 404:
            raise not_found(str(exc)) from None
        if exc.status == 503:
            raise ApiError(503, "no_voice", str(exc)) from None
        raise conflict(str(exc)) from None


@messages_api.route("GET", "/api/agent/messages/{task_id}/audio", roles=AGENT_CONSOLE,
                    scope=OWN_MESSAGE, errors={404},
                    summary="The recorded message (WAV, 8 kHz) of a message I took.")
async def message_audio(call: Call) -> web.FileResponse:
    desk: MessageDesk = call.service
    path = await _message_step(desk.recording(_agent(call), call.param("task_id")))
    return web.FileResponse(path, headers={"Content-Type": "audio/wav",
                                           "Cache-Control": "private, no-store"})


@messages_api.route("POST", "/api/agent/messages/{task_id}/callback", roles=AGENT_CONSOLE,
                    response=MessageCallback, scope=OWN_MESSAGE, errors={404, 409, 503},
                    summary="Call back the customer who left the message I took (a callback "
                            "of its queue: an agent is rung, then the customer).")
async def message_callback(call: Call) -> MessageCallback:
    desk: MessageDesk = call.service
    result = await _message_step(desk.call_back(_agent(call), call.param("task_id")))
    return MessageCallback.model_validate(result)


@messages_api.route("POST", "/api/agent/messages/{task_id}/done", roles=AGENT_CONSOLE,
                    response=MessageDone, scope=OWN_MESSAGE, errors={404},
                    summary="I have dealt with the message I took: its wrap-up starts.")
async def message_done(call: Call) -> MessageDone:
    desk: MessageDesk = call.service
    return MessageDone.model_validate(
        await _message_step(desk.done(_agent(call), call.param("task_id"))))
