"""Builds the agents feature: presence and devices, offers to agents, the console."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter.customers.services import CustomerService
from callcenter.features import Dependencies, TopicAudience
from callcenter.webkit.principal import Principal, may_supervise

from . import http
from .console import AgentConsole
from .notifier import AGENT_TOPICS, OfferNotifier
from .phone_relay import PATH, PhoneRelay
from .services import AgentService


def load(deps: Dependencies) -> None:
    customers = deps.need(CustomerService)
    agents = deps.provide(AgentService(routing=deps.routing, store=deps.store,
                                       config=deps.config, bus=deps.bus))
    notifier = deps.provide(OfferNotifier(bus=deps.bus, agents=agents,
                                          screen_pop=customers.screen_pop,
                                          clock=deps.clock, config=deps.config))
    agents.phone_changed = notifier.phone

    def softphone() -> dict[str, Any]:
        asterisk = deps.config().callcenter.asterisk
        return {"host": asterisk.softphone_address, "port": asterisk.sip_port,
                "transport": "udp"}

    console = AgentConsole(agents=agents, customers=customers, routing=deps.routing,
                           store=deps.store, config=deps.config, clock=deps.clock,
                           softphone=softphone, read_mark=deps.bus.mark)
    deps.web.add_api(http.api, console)
    relay = PhoneRelay(deps.config)
    deps.web.routes.append(web.get(PATH, relay.handle, allow_head=False))
    deps.web.sockets["phone"] = lambda: relay.open
    deps.web.audiences.append(TopicAudience(AGENT_TOPICS | {"interaction.summary"},
                                            lambda user, event: _own(user, event, deps)))
    deps.on_start(agents.restore)
    deps.on_stop(agents.saved)
    deps.on_reload(lambda _old, _new: agents.refresh())


def _own(user: Principal, event: Any, deps: Dependencies) -> bool:
    """An agent's own events and summaries of a task they hold; ``agent.state`` also
    to the agent's supervisors and admins."""
    if (event.topic == "agent.state" and event.agent_id is not None
            and user.role in ("supervisor", "admin")
            and may_supervise(user, event.agent_id, deps.config())):
        return True
    me = user.agent_id
    if me is None:
        return False
    if event.topic in AGENT_TOPICS:
        return event.agent_id == me
    if event.topic == "interaction.summary":
        if event.agent_id is not None:
            return event.agent_id == me
        view = deps.routing.agent(me)
        task = event.data.get("task_id")
        return view is not None and (task in view.wrapping or task in view.connected)
    return False
