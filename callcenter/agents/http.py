"""The agent console API: my device, my state, my offers, my wrap-ups.

Every endpoint acts on the caller's own agent (``agent_id`` of their account); none
takes another agent's id, so an agent never reaches another agent's data.
"""

from __future__ import annotations

from typing import Any

from callcenter.agents.services import AgentError
from callcenter.config.models import Agent as AgentConfig
from callcenter.web.endpoints import AGENT_CONSOLE, Api, Call, conflict, forbidden, not_found

from .schemas import (
    REASONS,
    AgentStatus,
    Console,
    DeviceLogin,
    Offer,
    Profile,
    Softphone,
    StateRequest,
    Wrapup,
    WrapupRequest,
)

api = Api("agent", "The agent console: device, presence, offers (screen-pop), wrap-up.")

PENDING_WRAPUP_WINDOW = 4 * 3600.0
"""Calls that ended this recently without disposition or notes still show the form."""


def my_agent(call: Call) -> AgentConfig:
    agent_id = call.user.agent_id
    agent = call.services.config().agent(agent_id) if agent_id else None
    if agent is None:
        raise forbidden("your account has no agent profile in agents.yaml")
    return agent


def own_offer(call: Call, agent_id: str) -> None:
    """Another agent's offer is forbidden; an unknown one is left to AgentService (409)."""
    offer = call.services.deps.agents.offer(call.param("offer_id"))
    if offer is not None and offer.agent_id != agent_id:
        raise forbidden("that offer is not yours")


async def status(call: Call, agent_id: str) -> AgentStatus:
    services = call.services
    now = services.deps.clock()
    data: dict[str, Any] = services.deps.agents.status(agent_id)
    changes = await services.deps.store.agent_states_since(now - 86400, agent_id=agent_id)
    data["since"] = changes[-1].at if changes else None
    return AgentStatus.model_validate(data)


@api.route("GET", "/api/agent/console", roles=AGENT_CONSOLE, response=Console,
           summary="My profile, state, and softphone settings (what to type into the app).")
async def console(call: Call) -> Console:
    agent = my_agent(call)
    services = call.services
    config = services.config()
    sip = services.deps.asterisk_sip
    prefix = config.callcenter.asterisk.agent_endpoint_prefix
    team = config.teams.get(agent.team or "")
    return Console(
        profile=Profile(id=agent.id, name=agent.name, extension=agent.extension,
                        team=agent.team, team_name=team.name if team else None,
                        languages=list(agent.languages), takes_voice=agent.takes_voice,
                        takes_chat=agent.takes_chat),
        status=await status(call, agent.id),
        softphone=Softphone(
            server=str(sip.get("host", "127.0.0.1")), port=int(sip.get("port", 5060)),
            transport=str(sip.get("transport", "udp")).upper(),
            username=f"{prefix}{agent.extension}" if agent.extension else None,
            password_hint="sip_password"),
        reasons=list(REASONS),
        server_time=services.deps.clock())


@api.route("POST", "/api/agent/login", roles=AGENT_CONSOLE, body=DeviceLogin,
           response=AgentStatus, summary="Sign in to my phone (device) and the queues.")
async def agent_login(call: Call) -> AgentStatus:
    agent = my_agent(call)
    body: DeviceLogin = call.body
    try:
        call.services.deps.agents.login(agent.id, body.device, ready=body.ready)
    except AgentError as exc:
        raise conflict(str(exc)) from None
    return await status(call, agent.id)


@api.route("POST", "/api/agent/logout", roles=AGENT_CONSOLE, response=AgentStatus,
           summary="Sign out of the queues (work in hand runs to its end).")
async def agent_logout(call: Call) -> AgentStatus:
    agent = my_agent(call)
    call.services.deps.agents.logout(agent.id)
    return await status(call, agent.id)


@api.route("POST", "/api/agent/state", roles=AGENT_CONSOLE, body=StateRequest,
           response=AgentStatus, summary="Go ready, or not ready with a reason.")
async def set_state(call: Call) -> AgentStatus:
    agent = my_agent(call)
    body: StateRequest = call.body
    try:
        call.services.deps.agents.set_state(agent.id, body.state, body.reason)
    except AgentError as exc:
        raise conflict(str(exc)) from None
    return await status(call, agent.id)


@api.route("GET", "/api/agent/offers", roles=AGENT_CONSOLE, response=Offer, list_response=True,
           summary="Offers waiting for me, each with its screen-pop (after a page reload).")
async def offers(call: Call) -> list[Offer]:
    agent = my_agent(call)
    services = call.services
    out = []
    view = services.deps.engine.agent(agent.id)
    for offer_id in view.offers if view else ():
        offer = services.deps.agents.offer(offer_id)
        if offer is None or offer.agent_id != agent.id:
            continue
        out.append(Offer(offer_id=offer.offer_id, task_id=offer.task_id, channel=offer.channel,
                         queue=offer.queue, deadline=offer.deadline,
                         pop=await services.customers.screen_pop(offer.task_id)))
    return out


@api.route("POST", "/api/agent/offers/{offer_id}/accept", roles=AGENT_CONSOLE,
           response=AgentStatus, scope="only an offer made to me; chats only (answer the "
           "phone for a call)", summary="Accept a chat offer.")
async def accept(call: Call) -> AgentStatus:
    agent = my_agent(call)
    own_offer(call, agent.id)
    try:
        call.services.deps.agents.accept(agent.id, call.param("offer_id"))
    except AgentError as exc:
        raise conflict(str(exc)) from None
    return await status(call, agent.id)


@api.route("POST", "/api/agent/offers/{offer_id}/reject", roles=AGENT_CONSOLE,
           response=AgentStatus, scope="only an offer made to me",
           summary="Decline an offer; it goes back to its place in the queue.")
async def reject(call: Call) -> AgentStatus:
    agent = my_agent(call)
    own_offer(call, agent.id)
    try:
        call.services.deps.agents.reject(agent.id, call.param("offer_id"))
    except AgentError as exc:
        raise conflict(str(exc)) from None
    return await status(call, agent.id)


async def wrapup_view(call: Call, task_id: str) -> Wrapup | None:
    services = call.services
    store = services.deps.store
    interaction = await store.get_interaction(task_id)
    if interaction is None:
        return None
    queue = services.config().queues.get(interaction.queue or "")
    summary = await store.latest_summary(task_id)
    customer = (await store.get_customer(interaction.customer_id)
                if interaction.customer_id is not None else None)
    return Wrapup.model_validate({
        "task_id": task_id, "queue": interaction.queue,
        "queue_name": services.customers.queue_name(interaction.queue),
        "channel": interaction.channel,
        "dispositions": [d.model_dump() for d in queue.dispositions] if queue else [],
        "require_disposition": bool(queue and queue.require_disposition),
        "summary": summary.text if summary else None,
        "customer_name": customer.name if customer else None})


@api.route("GET", "/api/agent/wrapups", roles=AGENT_CONSOLE, response=Wrapup,
           list_response=True, summary="My contacts waiting for a disposition and notes.")
async def wrapups(call: Call) -> list[Wrapup]:
    agent = my_agent(call)
    services = call.services
    now = services.deps.clock()
    view = services.deps.engine.agent(agent.id)
    task_ids = list(view.wrapping) if view else []
    recent = await services.deps.store.interactions_between(now - PENDING_WRAPUP_WINDOW,
                                                             now + 1)
    task_ids += [i.id for i in recent
                 if i.agent_id == agent.id and i.ended_at is not None and i.disposition is None
                 and i.notes is None and i.outcome in ("answered", "transferred")
                 and i.id not in task_ids]
    out = []
    for task_id in task_ids:
        view_ = await wrapup_view(call, task_id)
        if view_ is not None:
            out.append(view_)
    return out


@api.route("POST", "/api/agent/wrapups/{task_id}", roles=AGENT_CONSOLE, body=WrapupRequest,
           response=AgentStatus, scope="only a contact I handled",
           summary="Finish wrap-up: store the disposition and notes, end after-call work.")
async def finish_wrapup(call: Call) -> AgentStatus:
    agent = my_agent(call)
    body: WrapupRequest = call.body
    task_id = call.param("task_id")
    interaction = await call.services.deps.store.get_interaction(task_id)
    if interaction is None:
        raise not_found("no such interaction")
    if interaction.agent_id != agent.id:
        raise forbidden("that interaction is not yours")
    notes = (body.notes or "").strip() or None
    try:
        await call.services.deps.agents.finish_wrapup(agent.id, task_id, body.disposition, notes)
    except AgentError as exc:
        raise conflict(str(exc)) from None
    return await status(call, agent.id)
