"""Helpers shared by the chatbridge tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from chatbridge import InboundMessage, WeChatCallback, WeChatConfig
from tests.support.wechat_standin import WeChatStandIn

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[Handler], Awaitable[str]]


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


def wechat_section(standin: WeChatStandIn, *, mode: str = "secure",
                   **extra: Any) -> Callable[[dict], None]:
    """A callcenter.yaml change: ``chat.wechat`` enabled for the stand-in's account."""

    def change(data: dict) -> None:
        data["chat"]["wechat"] = {"enabled": True, "app_id": standin.app_id,
                                  "app_secret": standin.app_secret, "token": standin.token,
                                  "encoding_aes_key": standin.encoding_aes_key, "mode": mode,
                                  "api_base": standin.api_base, "queue": "sales", **extra}

    return change
