"""Fixtures for the chatbridge tests: the WeChat stand-in, a loopback server for the
adapter's callback handler, and served callback endpoints.

Also makes ``import chatbridge`` find the package under plain ``pytest`` (not only
``python -m pytest``): pytest puts ``tests/`` on ``sys.path``, where this folder
(no ``__init__.py``) would otherwise pass for a namespace package ``chatbridge``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
_shadow = sys.modules.get("chatbridge")
if _shadow is not None and getattr(_shadow, "__file__", None) is None:
    del sys.modules["chatbridge"]

from collections.abc import AsyncIterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from aiohttp import web  # noqa: E402
from support.wechat_standin import WeChatStandIn  # noqa: E402
from wechat_testkit import Endpoint, Handler, MakeEndpoint, Serve, config_for  # noqa: E402

from chatbridge import WeChatCallback  # noqa: E402


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
