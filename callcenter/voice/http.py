"""The voice API: an agent transfers their call; a supervisor listens, whispers, barges.

Handlers call ``VoiceService`` (``call.service``) only. A supervisor acts on agents
of the teams they supervise; admins on everyone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from callcenter.webkit.endpoints import (
    AGENT_CONSOLE,
    SUPERVISION,
    TEAM_SCOPE,
    Api,
    ApiError,
    Call,
    conflict,
    forbidden,
    supervised_agent,
)

from .base import NoTelephone, VoiceError
from .schemas import SpyRequest, SpyResult, TransferRequest, TransferResult
from .services import VoiceService

log = logging.getLogger(__name__)

api = Api("voice", "Calls: blind transfer; supervisors' listen, whisper and barge.")


async def _carry_out(request: Awaitable[dict[str, str]]) -> dict[str, str]:
    """503 without a telephone system, 409 when the call cannot do it now."""
    try:
        return await request
    except NoTelephone as exc:
        raise ApiError(503, "no_voice", str(exc)) from None
    except VoiceError as exc:
        raise conflict(str(exc)) from None


@api.route("POST", "/api/agent/call/transfer", roles=AGENT_CONSOLE, body=TransferRequest,
           response=TransferResult, scope="only my own connected call",
           summary="Blind transfer of my call to a queue and/or an agent; I go to wrap-up.",
           errors={409, 503})
async def transfer(call: Call) -> TransferResult:
    service: VoiceService = call.service
    body: TransferRequest = call.body
    if call.user.agent_id is None:
        raise forbidden("your account has no agent profile in agents.yaml")
    result = await _carry_out(service.transfer(call.user.agent_id, queue=body.queue,
                                               to_agent=body.agent))
    return TransferResult.model_validate(result)


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
