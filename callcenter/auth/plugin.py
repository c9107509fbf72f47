"""Builds the auth feature: console accounts from agents.yaml, sessions, login."""

from __future__ import annotations

import asyncio
import logging

from callcenter.features import Dependencies
from callcenter.storage import DEFAULT_SESSION_TTL

from . import http
from .notifier import AuthNotifier
from .services import AuthService, sync_users

log = logging.getLogger(__name__)


def load(deps: Dependencies) -> None:
    auth = deps.provide(AuthService(store=deps.store, config=deps.config,
                                    notifier=AuthNotifier(deps.bus, deps.clock),
                                    clock=deps.clock,
                                    session_ttl=deps.settings.get("session_ttl",
                                                                  DEFAULT_SESSION_TTL)))
    deps.web.add_api(http.api, auth)

    async def sync() -> None:
        await sync_users(deps.config(), deps.store)

    def reloaded(_old, _new) -> None:
        task = asyncio.get_running_loop().create_task(sync())
        task.add_done_callback(lambda t: t.exception() and log.error(
            "auth.sync_failed", extra={"error": str(t.exception())}))

    deps.on_start(sync)
    deps.on_reload(reloaded)
