"""The WeChat official account (公众号) as a ``ChatAdapter``.

Glue only: the callback endpoint (``WeChatCallback``) for inbound messages and the
server API (``WeChatApiClient``) for replies and media. Both stay reachable as
``adapter.callback`` / ``adapter.api`` for what the chat-neutral interface does not
cover (voice replies, reuse of an uploaded media_id).
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from chatbridge.adapter import InboundHandler, Media, SendResult
from chatbridge.dedup import TtlDedup
from chatbridge.schemas import WeChatConfig
from chatbridge.wechat_api import WeChatApiClient
from chatbridge.wechat_callback import WeChatCallback
from chatbridge.wechat_xml import CHANNEL

__all__ = ["WeChatAdapter"]


class WeChatAdapter:
    channel = CHANNEL

    def __init__(self, config: WeChatConfig, *, session: aiohttp.ClientSession | None = None,
                 dedup: TtlDedup | None = None) -> None:
        self.config = config
        self.callback = WeChatCallback(config, dedup=dedup)
        self.api = WeChatApiClient(config, session=session)

    async def start(self, on_inbound: InboundHandler,
                    keep: InboundHandler | None = None) -> None:
        """Begin handing inbound messages to ``on_inbound``; until then callbacks get 503.
        ``keep`` stores each one before WeChat is answered (see ``WeChatCallback``)."""
        self.callback.set_consumer(on_inbound, keep)

    async def close(self, timeout: float = 5.0) -> None:
        await self.callback.aclose(timeout)
        await self.api.close()

    async def handle_callback(self, request: web.Request) -> web.StreamResponse:
        return await self.callback.handle(request)

    async def send_text(self, recipient: str, text: str) -> SendResult:
        return await self.api.send_text(recipient, text)

    async def send_image(self, recipient: str, image: bytes, *,
                         content_type: str = "image/jpeg",
                         filename: str = "image.jpg") -> SendResult:
        """Upload ``image`` as temporary media, then send it."""
        media_id = await self.api.upload_media(image, media_type="image", filename=filename,
                                               content_type=content_type)
        return await self.api.send_image(recipient, media_id)

    async def fetch_media(self, media_id: str) -> Media:
        return await self.api.get_media(media_id)
