"""Builds the customers feature: the screen-pop and each customer's history."""

from __future__ import annotations

from callcenter.features import Dependencies

from . import http
from .services import CustomerService


def load(deps: Dependencies) -> None:
    def held_by(agent_id: str) -> tuple[str, ...]:
        view = deps.routing.agent(agent_id)
        return view.tasks if view else ()

    customers = deps.provide(CustomerService(deps.store, deps.config, deps.clock, held_by))
    deps.web.add_api(http.api, customers)
