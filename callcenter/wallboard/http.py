"""The supervisor API: the wallboard snapshot, force an agent's state.

(Listen / whisper / barge are the voice feature's: ``callcenter/voice/http.py``.)

Supervisors act only on agents of the teams they supervise (agents.yaml ``team`` vs
the supervisor's ``teams_supervised``); admins on everyone.
"""

from __future__ import annotations

import logging

from callcenter.agents.services import AgentError
from callcenter.webkit.endpoints import (
    SUPERVISION,
    TEAM_SCOPE,
    Api,
    Call,
    conflict,
    supervised_agent,
)

from .schemas import AgentRow, ForceState, Wallboard
from .services import WallboardService

log = logging.getLogger(__name__)

api = Api("supervisor", "The wallboard and supervisor actions on agents.")


@api.route("GET", "/api/supervisor/wallboard", roles=SUPERVISION, response=Wallboard,
           scope="supervisor: queues and agents of teams they supervise",
           summary="The wallboard now (the WebSocket pushes the same as wallboard.snapshot).")
async def wallboard(call: Call) -> Wallboard:
    service: WallboardService = call.service
    return Wallboard.model_validate(service.view(service.snapshot(), call.user))


@api.route("POST", "/api/supervisor/agents/{agent_id}/state", roles=SUPERVISION,
           body=ForceState, response=AgentRow, scope=TEAM_SCOPE,
           summary="Force an agent ready, not ready (reason) or logged out.",
           errors={404, 409})
async def force_state(call: Call) -> AgentRow:
    service: WallboardService = call.service
    agent_id = supervised_agent(call, service.config())
    body: ForceState = call.body
    try:
        row = service.force_state(agent_id, body.state, body.reason)
    except AgentError as exc:
        raise conflict(str(exc)) from None
    log.info("wallboard.force_state", extra={"supervisor": call.user.username,
                                             "agent": agent_id, "state": body.state})
    return AgentRow.model_validate(row)
