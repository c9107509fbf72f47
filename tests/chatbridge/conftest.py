"""Fixtures for the chatbridge tests: the WeChat stand-in, a loopback server for the
adapter's callback handler, and served callback endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from chatbridge import WeChatCallback
from tests.support.wechat import Endpoint, Handler, MakeEndpoint, Serve, config_for
from tests.support.wechat_standin import WeChatStandIn


@pytest.fixture
async def standin() -> AsyncIterator[WeChatStandIn]:
    async with WeChatStandIn() as server:
        yield server


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Mount a handler on 127.0.0.1:<free port> and return its URL."""
    runners: list[web.AppRunner] = []

    async def _serve(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/wechat/callback", handler)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/wechat/callback"

    yield _serve
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def make_endpoint(standin: WeChatStandIn, serve: Serve) -> AsyncIterator[MakeEndpoint]:
    callbacks: list[WeChatCallback] = []

    async def _make(mode: str = "secure", *, consumer: bool = True,
                    **overrides: Any) -> Endpoint:
        callback = WeChatCallback(config_for(standin, mode, **overrides))
        callbacks.append(callback)
        endpoint = Endpoint(await serve(callback.handle), callback)
        if consumer:
            callback.set_consumer(endpoint.consumer)
        return endpoint

    yield _make
    for callback in callbacks:
        await callback.aclose(timeout=1.0)
