"""Fixtures for the chatbridge tests: the WeChat stand-in and a loopback server for the
adapter's callback handler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from support.wechat_standin import WeChatStandIn

from chatbridge import InboundMessage, WeChatCallback, WeChatConfig


@pytest.fixture
async def standin() -> AsyncIterator[WeChatStandIn]:
    async with WeChatStandIn() as server:
        yield server


def config_for(standin: WeChatStandIn, mode: str = "secure", **overrides: Any) -> WeChatConfig:
    """The adapter config that matches the stand-in's account."""
    values: dict[str, Any] = {
        "app_id": standin.app_id,
        "app_secret": standin.app_secret,
        "token": standin.token,
        "encoding_aes_key": standin.encoding_aes_key,
        "mode": mode,
        "api_base": standin.api_base,
        "http_timeout_s": 5.0,
    }
    values.update(overrides)
    return WeChatConfig(**values)


Serve = Callable[[Callable[[web.Request], Awaitable[web.StreamResponse]]], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Mount a handler on 127.0.0.1:<free port> and return its URL."""
    runners: list[web.AppRunner] = []

    async def _serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> str:
        app = web.Application()
        app.router.add_route("*", "/wechat/callback", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/wechat/callback"

    yield _serve
    for runner in runners:
        await runner.cleanup()


@dataclass
class Endpoint:
    """A callback handler served on loopback, with what its consumer received."""

    url: str
    callback: WeChatCallback
    received: list[InboundMessage] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def consumer(self, message: InboundMessage) -> None:
        self.received.append(message)
        self.arrived.set()

    async def wait_for(self, count: int, timeout: float = 2.0) -> list[InboundMessage]:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


MakeEndpoint = Callable[..., Awaitable[Endpoint]]


@pytest.fixture
async def make_endpoint(standin: WeChatStandIn, serve: Serve) -> AsyncIterator[MakeEndpoint]:
    callbacks: list[WeChatCallback] = []

    async def _make(mode: str = "secure", *, consumer: bool = True,
                    **overrides: Any) -> Endpoint:
        callback = WeChatCallback(config_for(standin, mode, **overrides))
        callbacks.append(callback)
        endpoint = Endpoint(await serve(callback), callback)
        if consumer:
            callback.set_consumer(endpoint.consumer)
        return endpoint

    yield _make
    for callback in callbacks:
        await callback.aclose(timeout=1.0)
