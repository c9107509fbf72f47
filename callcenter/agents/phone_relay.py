"""``GET /api/phone/ws``: the browser phone's SIP over WebSocket, relayed to Asterisk.

The console's phone (JsSIP) connects to the page's own origin, so the socket is
``wss://`` whenever the consoles are served over https (behind a TLS proxy): a page
from https may not open a plain ``ws://`` to Asterisk. And the web door checks who
knocks before Asterisk hears a byte: as for the console's socket
(``socket_principal``: a live session, this site's ``Origin``, a password of their own),
and an agent with a browser phone (403). Asterisk's HTTP server need not be
reachable from agents' machines at all; each REGISTER and INVITE is still proven with
the agent's SIP password. Media does not pass here (ICE and DTLS-SRTP go straight to
Asterisk's RTP ports). Frames are relayed as they are, both ways, in order; either
side closing closes the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import aiohttp
from aiohttp import WSMsgType, web

from callcenter.config.models import Config
from callcenter.webkit.endpoints import ApiError, socket_principal

log = logging.getLogger(__name__)

PATH = "/api/phone/ws"
MAX_FRAME = 64 * 1024  # a SIP message; JsSIP's are a few kilobytes
CONNECT_SECONDS = 5.0


class PhoneRelay:
    def __init__(self, config: Callable[[], Config]) -> None:
        self.config = config
        self.open = 0

    def upstream(self) -> str:
        """Asterisk's own SIP WebSocket (http.conf), seen from the engine."""
        asterisk = self.config().callcenter.asterisk
        host = "127.0.0.1" if asterisk.sip_bind == "0.0.0.0" else asterisk.sip_bind
        return f"ws://{host}:{asterisk.websocket_port}/ws"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        principal = await socket_principal(request)
        agent = self.config().agent(principal.agent_id) if principal.agent_id else None
        if agent is None or agent.browser_device is None or agent.sip_password is None:
            raise ApiError(403, "no_browser_phone", "you have no browser phone")
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                upstream = await session.ws_connect(self.upstream(), protocols=("sip",),
                                                    max_msg_size=MAX_FRAME)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("phone.relay_unreachable", extra={"error": str(exc)})
                raise ApiError(503, "phone_server_unreachable",
                               "the phone server does not answer") from None
            browser = web.WebSocketResponse(protocols=("sip",), max_msg_size=MAX_FRAME)
            await browser.prepare(request)
            self.open += 1
            log.info("phone.relay_open", extra={"agent": agent.id})
            try:
                await _relay(browser, upstream)
            finally:
                self.open -= 1
                log.info("phone.relay_closed", extra={"agent": agent.id})
        return browser


async def _relay(browser: web.WebSocketResponse,
                 upstream: aiohttp.ClientWebSocketResponse) -> None:
    pipes = [asyncio.create_task(_pipe(browser, upstream)),
             asyncio.create_task(_pipe(upstream, browser))]
    try:
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pipe in pipes:
            pipe.cancel()
        for pipe in pipes:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await pipe
        await upstream.close()
        await browser.close()


async def _pipe(source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
                sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse) -> None:
    async for message in source:
        if message.type == WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        else:
            return
