"""Builds the auth feature: console accounts from agents.yaml, sessions, login."""

from __future__ import annotations

import asyncio
import logging

from callcenter.features import Dependencies

from . import http
from .notifier import AuthNotifier
from .services import AuthService, sync_users

log = logging.getLogger(__name__)

PURGE_EVERY = 3600.0


def load(deps: Dependencies) -> None:
    auth = deps.provide(AuthService(store=deps.store, config=deps.config,
                                    notifier=AuthNotifier(deps.bus, deps.clock),
                                    clock=deps.clock, demo=deps.demo))
    deps.web.add_api(http.api, auth)

    async def sync() -> None:
        await sync_users(deps.config(), deps.store)

    def reloaded(_old, _new) -> None:
        task = asyncio.get_running_loop().create_task(sync())
        task.add_done_callback(lambda t: t.exception() and log.error(
            "auth.sync_failed", extra={"error": str(t.exception())}))

    purging: list[asyncio.Task] = []

    async def purge_hourly() -> None:
        while True:
            try:
                await auth.purge_expired()
            except Exception as exc:  # a busy database now is no reason to stop purging
                log.error("auth.purge_failed", extra={"error": str(exc)})
            await asyncio.sleep(PURGE_EVERY)

    async def start() -> None:
        await sync()
        purging.append(asyncio.create_task(purge_hourly()))

    async def stop() -> None:
        for task in purging:
            task.cancel()
        await asyncio.gather(*purging, return_exceptions=True)

    deps.on_start(start)
    deps.on_stop(stop)
    deps.on_reload(reloaded)
