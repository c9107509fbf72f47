"""The WeChat callback endpoint: URL verification (GET) and message push (POST).

What is checked where, in order, for a POST:

1. query: ``timestamp`` within ``timestamp_tolerance_s`` (replay window), ``nonce``
   present, ``signature`` over [token, timestamp, nonce] when sent (required unless
   the body is encrypted); in secure mode ``msg_signature`` must be present;
2. body: at most ``max_body_bytes``, UTF-8, no DTD/entities (``wechat_xml``);
3. encrypted bodies: ``msg_signature`` over [token, timestamp, nonce, Encrypt]
   *before* decrypting, then AES and the appid (``wechat_crypto``);
4. the message: required fields, then the dedup memory (MsgId, or sender +
   CreateTime for events).

The answer is ``success`` as soon as the message is queued: WeChat gives up after 5 s
and retries three times, so the consumer runs in a background task (in order per
customer) and its slowness or failure never reaches WeChat. A ``keeper``, if given, is
awaited first (at most ``KEEP_WITHIN`` seconds): it stores the message durably, so a
crash after ``success`` loses nothing; if it fails or is slow the answer is 503 and
WeChat's retry brings the message again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

from aiohttp import web

from chatbridge.adapter import CallbackRejected, InboundHandler, InboundMessage, mask_id
from chatbridge.dedup import TtlDedup
from chatbridge.schemas import WeChatConfig, WeChatMode
from chatbridge.wechat_crypto import (
    SignatureError,
    WeChatCrypto,
    check_timestamp,
    verify_signature,
)
from chatbridge.wechat_xml import XmlRejected, parse_fields, parse_message

__all__ = ["WeChatCallback"]

log = logging.getLogger("chatbridge.wechat")

_MAX_ECHOSTR = 1024
_CHUNK = 64 * 1024
KEEP_WITHIN = 3.0  # seconds: well inside WeChat's 5 s, with room for the network


class WeChatCallback:
    """Verifies, decrypts, parses and deduplicates callbacks; hands messages on.

    Mount ``handle`` as an aiohttp handler on any route, or call ``verify_url`` /
    ``process`` directly with a query mapping and the body bytes.
    """

    def __init__(self, config: WeChatConfig, consumer: InboundHandler | None = None, *,
                 dedup: TtlDedup | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._token = config.token.get_secret_value()
        key = config.encoding_aes_key
        self._crypto = (WeChatCrypto(self._token, key.get_secret_value(), config.app_id)
                        if key is not None else None)
        self._consumer = consumer
        self._keeper: InboundHandler | None = None
        # "is None", not "or": an empty TtlDedup is falsy (it has __len__).
        self._dedup = dedup if dedup is not None else TtlDedup(
            ttl_s=config.dedup_ttl_s, max_entries=config.dedup_max_entries)
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    @property
    def pending(self) -> int:
        """Messages accepted but not yet fully handed to the consumer."""
        return len(self._tasks)

    def set_consumer(self, consumer: InboundHandler,
                     keeper: InboundHandler | None = None) -> None:
        """``keeper`` (optional) stores each message before WeChat is answered."""
        self._consumer = consumer
        self._keeper = keeper

    # ------------------------------------------------------------------ pure protocol

    def _check_time(self, query: Mapping[str, str]) -> tuple[str, str]:
        timestamp = query.get("timestamp")
        check_timestamp(timestamp, tolerance_s=self._config.timestamp_tolerance_s,
                        now=self._clock())
        nonce = query.get("nonce")
        if not nonce:
            raise SignatureError("missing nonce")
        assert timestamp is not None
        return timestamp, nonce

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The echostr to answer a URL verification with (decrypted in secure mode)."""
        timestamp, nonce = self._check_time(query)
        echostr = query.get("echostr")
        if not echostr:
            raise CallbackRejected("missing echostr")
        if len(echostr) > _MAX_ECHOSTR:
            raise CallbackRejected("echostr too long")
        msg_signature = query.get("msg_signature")
        if msg_signature is not None and self._crypto is not None:
            # Encrypted echostr: signed together with the token like an Encrypt field.
            self._crypto.verify_msg_signature(msg_signature, timestamp, nonce, echostr)
            if query.get("signature") is not None:
                self._crypto.verify_signature(query.get("signature"), timestamp, nonce)
            try:
                return self._crypto.decrypt(echostr).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CallbackRejected("decrypted echostr is not UTF-8") from exc
        verify_signature(query.get("signature"), self._token, timestamp, nonce)
        return echostr

    def _encrypted(self, query: Mapping[str, str]) -> bool:
        """Whether this request's body is to be read from its signed Encrypt field.

        Secure mode: always. Compatible mode: when WeChat signed the Encrypt field
        (``msg_signature`` present). Plaintext mode: never.
        """
        mode = self._config.mode
        return mode is WeChatMode.SECURE or (
            mode is WeChatMode.COMPATIBLE and query.get("msg_signature") is not None)

    def check_query(self, query: Mapping[str, str]) -> None:
        """Everything that can be refused before the body is read."""
        timestamp, nonce = self._check_time(query)
        signature = query.get("signature")
        if self._encrypted(query):
            if not query.get("msg_signature"):
                raise SignatureError("missing msg_signature")
            # The body is authenticated by msg_signature; a signature, if sent, must match.
            if signature is not None:
                verify_signature(signature, self._token, timestamp, nonce)
        else:
            verify_signature(signature, self._token, timestamp, nonce)

    def process(self, query: Mapping[str, str], body: bytes) -> InboundMessage:
        """Verify and decode one POSTed callback into a message (no dedup, no delivery)."""
        self.check_query(query)
        timestamp, nonce = query["timestamp"], query["nonce"]
        fields = parse_fields(body, max_bytes=self._config.max_body_bytes)
        encrypt = fields.get("Encrypt")
        if self._encrypted(query):
            if not encrypt:
                raise XmlRejected("no Encrypt field in an encrypted callback")
            assert self._crypto is not None  # the config requires a key in these modes
            self._crypto.verify_msg_signature(query.get("msg_signature"), timestamp, nonce,
                                              encrypt)
            inner = self._crypto.decrypt(encrypt)
            fields = parse_fields(inner, max_bytes=self._config.max_body_bytes)
        elif "MsgType" not in fields and encrypt is not None:
            raise XmlRejected(
                f"encrypted body, but the adapter is in {self._config.mode.value} mode")
        return parse_message(fields)

    # -------------------------------------------------------------------- aiohttp side

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler: mount ``callback.handle`` on any route (GET and POST)."""
        try:
            if request.method == "GET":
                return web.Response(text=self.verify_url(request.query),
                                    content_type="text/plain")
            if request.method == "POST":
                return await self._post(request)
            return web.Response(status=405, text="method not allowed",
                                headers={"Allow": "GET, POST"})
        except CallbackRejected as exc:
            log.warning("wechat.callback.rejected", extra={
                "reason": exc.reason, "status": exc.status, "method": request.method,
                "remote": request.remote})
            return web.Response(status=exc.status, text=exc.reason,
                                content_type="text/plain")

    async def _post(self, request: web.Request) -> web.StreamResponse:
        self.check_query(request.query)  # refuse unsigned or stale requests unread
        body = await _read_limited(request, self._config.max_body_bytes)
        message = self.process(request.query, body)
        if self._consumer is None or self._closed:
            # Not "success": WeChat then retries, and the message is not lost.
            return web.Response(status=503, text="not accepting messages yet")
        if len(self._tasks) >= self._config.max_pending_deliveries:
            log.warning("wechat.callback.backlog", extra={"pending": len(self._tasks)})
            return web.Response(status=503, text="busy")
        if not self._dedup.check_and_add(message.dedup_key):
            log.info("wechat.callback.duplicate", extra={
                "kind": message.kind, "msg_id": message.message_id,
                "sender": mask_id(message.sender)})
            return web.Response(text="success", content_type="text/plain")
        if self._keeper is not None and not await self._keep(message):
            self._dedup.forget(message.dedup_key)  # WeChat's retry must get through
            return web.Response(status=503, text="not stored; try again")
        self._schedule(message)
        log.info("wechat.callback.accepted", extra={
            "kind": message.kind, "msg_id": message.message_id,
            "sender": mask_id(message.sender)})
        return web.Response(text="success", content_type="text/plain")

    # ------------------------------------------------------------------------ delivery

    async def _keep(self, message: InboundMessage) -> bool:
        assert self._keeper is not None
        try:
            async with asyncio.timeout(KEEP_WITHIN):
                await self._keeper(message)
        except Exception:
            log.exception("wechat.keep.failed", extra={
                "kind": message.kind, "msg_id": message.message_id,
                "sender": mask_id(message.sender)})
            return False
        return True

    def _schedule(self, message: InboundMessage) -> None:
        previous = self._tails.get(message.sender)
        task = asyncio.create_task(self._deliver(message, previous),
                                   name=f"wechat-deliver-{message.kind}")
        self._tasks.add(task)
        self._tails[message.sender] = task

        def done(finished: asyncio.Task[None], sender: str = message.sender) -> None:
            self._tasks.discard(finished)
            if self._tails.get(sender) is finished:
                del self._tails[sender]

        task.add_done_callback(done)

    async def _deliver(self, message: InboundMessage,
                       previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # keep each customer's messages in order
        consumer = self._consumer
        if consumer is None:
            return
        started = time.monotonic()
        try:
            await consumer(message)
        except Exception:
            # WeChat already has its "success": the service must persist before slow work.
            log.exception("wechat.deliver.failed", extra={
                "kind": message.kind, "msg_id": message.message_id,
                "sender": mask_id(message.sender)})
        else:
            log.debug("wechat.deliver.done", extra={
                "kind": message.kind, "ms": round((time.monotonic() - started) * 1000)})

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every accepted message was handed on; False on timeout."""
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        return not pending

    async def aclose(self, timeout: float = 5.0) -> None:
        """Stop accepting, give pending deliveries ``timeout`` seconds, cancel the rest."""
        self._closed = True
        if await self.drain(timeout):
            return
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        log.warning("wechat.deliver.cancelled", extra={"count": len(tasks)})


async def _read_limited(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it exceeds ``limit`` (not read to the end)."""
    if request.content_length is not None and request.content_length > limit:
        raise XmlRejected(f"body larger than {limit} bytes", status=413)
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise XmlRejected(f"body larger than {limit} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)
