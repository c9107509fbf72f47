"""The supervisor API: the wallboard snapshot, listen / whisper / barge, force state.

Supervisors act only on agents of the teams they supervise (agents.yaml ``team`` vs
the supervisor's ``teams_supervised``); admins on everyone.
"""

from __future__ import annotations

import logging

from callcenter.agents.services import AgentError
from callcenter.auth.services import may_supervise
from callcenter.web.endpoints import (
    SUPERVISION,
    Api,
    ApiError,
    Call,
    conflict,
    forbidden,
    not_found,
)

from .schemas import AgentRow, ForceState, SpyRequest, SpyResult, Wallboard

log = logging.getLogger(__name__)

api = Api("supervisor", "The wallboard and supervisor actions on agents.")

TEAM_SCOPE = "supervisor: agents of teams they supervise; admin: any agent"


def target(call: Call) -> str:
    agent_id = call.param("agent_id")
    config = call.services.config()
    if not may_supervise(call.user, agent_id, config):
        raise forbidden(f"{agent_id} is not in a team you supervise")
    if config.agent(agent_id) is None:
        raise not_found(f"no agent {agent_id}")
    return agent_id


@api.route("GET", "/api/supervisor/wallboard", roles=SUPERVISION, response=Wallboard,
           scope="supervisor: queues and agents of teams they supervise",
           summary="The wallboard now (the WebSocket pushes the same as wallboard.snapshot).")
async def wallboard(call: Call) -> Wallboard:
    service = call.services.wallboard
    return Wallboard.model_validate(service.view(service.snapshot(), call.user))


@api.route("POST", "/api/supervisor/agents/{agent_id}/spy", roles=SUPERVISION,
           body=SpyRequest, response=SpyResult, scope=TEAM_SCOPE,
           summary="Listen to, whisper to or barge in on the agent's call: your phone rings.")
async def spy(call: Call) -> SpyResult:
    agent_id = target(call)
    body: SpyRequest = call.body
    voice = call.services.deps.voice
    if voice is None:
        raise ApiError(503, "no_voice", "no telephone system is connected")
    supervisor = call.user.agent_id or call.user.username
    try:
        result = await voice.spy(supervisor, agent_id, body.mode)
    except ValueError as exc:
        raise conflict(str(exc)) from None
    log.info("wallboard.spy", extra={"supervisor": supervisor, "agent": agent_id,
                                     "mode": body.mode})
    return SpyResult(agent_id=agent_id, mode=body.mode,
                     detail=result if isinstance(result, dict) else {})


@api.route("POST", "/api/supervisor/agents/{agent_id}/state", roles=SUPERVISION,
           body=ForceState, response=AgentRow, scope=TEAM_SCOPE,
           summary="Force an agent ready, not ready (reason) or logged out.")
async def force_state(call: Call) -> AgentRow:
    agent_id = target(call)
    body: ForceState = call.body
    agents = call.services.deps.agents
    try:
        if body.state == "logged_out":
            if agent_id not in agents.sessions:
                raise AgentError(f"{agent_id} is not logged in")
            agents.logout(agent_id)
        else:
            reason = None if body.state == "ready" else (body.reason or "supervisor")
            agents.set_state(agent_id, body.state, reason)
    except AgentError as exc:
        raise conflict(str(exc)) from None
    log.info("wallboard.force_state", extra={"supervisor": call.user.username,
                                             "agent": agent_id, "state": body.state})
    return AgentRow.model_validate(call.services.wallboard.agent_row(agent_id))
