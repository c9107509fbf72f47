"""Builds the wallboard feature: live queues and agents for supervisors."""

from __future__ import annotations

from typing import Any

from callcenter.agents.services import AgentService
from callcenter.bus import BusEvent
from callcenter.features import Dependencies, TopicAudience
from callcenter.webkit.principal import Principal

from . import http
from .notifier import TOPIC, WallboardNotifier
from .services import WallboardService


def load(deps: Dependencies) -> None:
    wallboard = deps.provide(WallboardService(store=deps.store, routing=deps.routing,
                                              agents=deps.need(AgentService),
                                              config=deps.config, clock=deps.clock))
    notifier = deps.provide(WallboardNotifier(service=wallboard, bus=deps.bus,
                                              interval=deps.settings.get(
                                                  "snapshot_interval", 1.0),
                                              watching=lambda: deps.web.watchers(TOPIC)))
    deps.web.add_api(http.api, wallboard)
    deps.web.audiences.append(TopicAudience(frozenset({TOPIC}), _staff))
    deps.web.shapers[TOPIC] = wallboard.view

    async def greet(user: Principal) -> list[tuple[str, dict[str, Any]]]:
        if user.role not in ("supervisor", "admin"):
            return []
        return [(TOPIC, wallboard.view(wallboard.snapshot(), user))]

    deps.web.greeters.append(greet)
    deps.on_start(notifier.start)
    deps.on_stop(notifier.stop)


def _staff(user: Principal, event: BusEvent) -> bool:
    return event.topic == TOPIC and user.role in ("supervisor", "admin")
