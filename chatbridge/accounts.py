"""Chat channels reached through a ``ChatAdapter``: a WeChat official account now; a
WeCom customer-service account would be one more adapter handed to the same class.

Inbound: each distinct message of a follower (the adapter calls ``inbound`` once per
message, in order per follower, after it answered WeChat) lands in the follower's open
conversation, or opens one in the configured queue (or the queue of the menu button
they clicked last). Images and voice notes are fetched and stored with the conversation
(a voice note's text is WeChat's recognition). Stored with the channel's dedup key, so
a retry WeChat makes after a restart is not stored twice.

Outbound: an agent's message is stored ``pending``, then sent in order per
conversation. ``WindowClosed`` (45015: 48 hours since the follower's last message, or
unfollowed; 45047: quota) marks it ``refused`` and closes the conversation's window:
the agent sees why and what to do, and a voice callback if the phone is known. The
follower's next message opens the window again. A transport failure is retried; what
is still ``pending`` when the engine stops is sent by the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from callcenter.storage import Message
from chatbridge.adapter import (
    ChatAdapter,
    ChatBridgeError,
    ImageMessage,
    InboundMessage,
    LocationMessage,
    MenuClick,
    Scanned,
    Subscribed,
    TextMessage,
    Unsubscribed,
    UnsupportedMessage,
    VoiceMessage,
    WindowClosed,
    WindowClosedReason,
    mask_id,
)

from .conversation import Conversation
from .files import INLINE_TYPES, Upload
from .services import ChatService

__all__ = ["AccountChannel"]

log = logging.getLogger("chatbridge")

RETRIES = 3
RETRY_DELAY = 2.0
_CHOICES = 10_000  # followers whose menu choice is remembered


class AccountChannel:
    def __init__(self, service: ChatService, adapter: ChatAdapter, *,
                 queue: Callable[[], str], menu_queues: Callable[[], dict[str, str]]) -> None:
        self.service = service
        self.adapter = adapter
        self.medium = adapter.channel
        self._queue = queue
        self._menu = menu_queues
        self._chosen: OrderedDict[str, str] = OrderedDict()

    async def start(self) -> None:
        await self.adapter.start(self.inbound)
        for m, address in await self.service.store.pending_chat_outbound(self.medium):
            conv = self.service.convs.get(m.conversation_id or "")
            if conv is not None and conv.address == address:
                self.queue_send(conv, m, None)

    async def close(self) -> None:
        for conv in self.service.convs:
            if conv.medium == self.medium and conv.sending is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(conv.sending), 5)
        await self.adapter.close()

    # ------------------------------------------------------------------ inbound

    async def inbound(self, message: InboundMessage) -> None:
        service = self.service
        sender = message.sender
        if isinstance(message, MenuClick | Scanned | Subscribed):
            key = getattr(message, "event_key", None)
            queue = self._menu().get(key or "")
            if queue is not None:
                self._chosen.pop(sender, None)
                self._chosen[sender] = queue
                while len(self._chosen) > _CHOICES:
                    self._chosen.popitem(last=False)
            return
        conv = service.convs.of_address(self.medium, sender)
        if isinstance(message, Unsubscribed):
            if conv is not None:
                await self.window_closed(conv, WindowClosed(
                    WindowClosedReason.NOT_SUBSCRIBED,
                    "The customer unfollowed the account: WeChat delivers nothing more until "
                    "they follow again and write."))
            return
        fresh = conv is None
        if conv is None:
            conv = await self._open(sender)
        elif conv.window is not None:
            await service.convs.save(conv, window=None, window_errcode=None, window_at=None)
            conv.window_advice = None
            service.notifier.conversation(conv, service.summary(conv))
        await self._store(conv, message)
        if fresh:
            await service.enqueue(conv, arrival=float(message.created_at))

    async def _open(self, openid: str) -> Conversation:
        service = self.service
        customer = await service.store.find_or_create_customer("wechat_openid", openid)
        queue = self._chosen.pop(openid, None) or self._queue()
        return await service.open_conversation(medium=self.medium, address=openid,
                                               customer_id=customer.id, queue=queue)

    async def _store(self, conv: Conversation, message: InboundMessage) -> None:
        service = self.service
        key = message.dedup_key
        at = float(message.created_at)
        if isinstance(message, TextMessage):
            await service.customer_message(conv, source=self.medium, external_id=key,
                                           text=message.text, at=at)
            return
        if isinstance(message, ImageMessage | VoiceMessage):
            text = None
            if isinstance(message, VoiceMessage):
                text = f"[语音] {message.recognition}" if message.recognition else "[语音]"
            try:
                media = await self.adapter.fetch_media(message.media_id)
            except ChatBridgeError as exc:
                log.warning("chat.media_not_fetched", extra={"error": str(exc),
                                                             "sender": mask_id(message.sender)})
                await service.customer_message(conv, source=self.medium, external_id=key,
                                               text=text or "[图片]", at=at)
                return
            content_type = media.content_type.split(";", 1)[0].strip().lower()
            name = media.filename or ("image.jpg" if content_type.startswith("image/")
                                      else f"voice.{getattr(message, 'format', None) or 'amr'}")
            upload = Upload(name, content_type, media.data,
                            hashlib.sha256(media.data).hexdigest())
            await service.customer_file(conv, upload, source=self.medium, external_id=key,
                                        body=text)
            return
        if isinstance(message, LocationMessage):
            text = (f"[位置] {message.label} ({message.latitude:.5f}, "
                    f"{message.longitude:.5f})").replace("  ", " ")
        elif isinstance(message, UnsupportedMessage):
            text = f"[{message.msg_type}]"
        else:
            text = f"[{message.kind}]"
        await service.customer_message(conv, source=self.medium, external_id=key, text=text,
                                       at=at)

    # ------------------------------------------------------------------ outbound

    def queue_send(self, conv: Conversation, m: Message, upload: Upload | None) -> None:
        previous = conv.sending
        conv.sending = asyncio.get_running_loop().create_task(
            self._send(conv, m, upload, previous), name="chat-send")

    async def _send(self, conv: Conversation, m: Message, upload: Upload | None,
                    previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait([previous])
        service = self.service
        error = "not sent"
        for attempt in range(RETRIES):
            try:
                result = await self._call(conv, m, upload)
            except ChatBridgeError as exc:
                error = str(exc)
                log.warning("chat.send_failed", extra={"conversation": conv.id,
                                                       "attempt": attempt + 1, "error": error})
                await asyncio.sleep(RETRY_DELAY * (attempt + 1))
                continue
            if isinstance(result, WindowClosed):
                await service.store.set_message_status(m.id, "refused",
                                                       error=result.reason.value)
                service.notifier.delivery(conv, m.id, "refused", result.reason.value)
                await self.window_closed(conv, result)
                return
            await service.store.set_message_status(m.id, "sent")
            service.notifier.delivery(conv, m.id, "sent")
            return
        await service.store.set_message_status(m.id, "failed", error=error[:500])
        service.notifier.delivery(conv, m.id, "failed", error[:200])

    async def _call(self, conv: Conversation, m: Message, upload: Upload | None) -> Any:
        if m.content_type == "text":
            return await self.adapter.send_text(conv.address, m.body)
        if upload is None:  # an image left pending by a previous run: from the store
            files = await self.service.store.files_of_messages([m.id])
            file = files.get(m.id)
            stored = await self.service.store.get_chat_file(file.id) if file else None
            if stored is None or stored.data is None:
                raise ChatBridgeError("the image of this message is gone")
            upload = Upload(stored.name, stored.content_type, stored.data, stored.sha256)
        if upload.content_type not in INLINE_TYPES:
            raise ChatBridgeError("this channel takes images only")
        return await self.adapter.send_image(conv.address, upload.data,
                                             content_type=upload.content_type,
                                             filename=upload.name)

    async def window_closed(self, conv: Conversation, result: WindowClosed) -> None:
        service = self.service
        conv.window_advice = result.advice
        await service.convs.save(conv, window=result.reason.value, window_errcode=result.errcode,
                                 window_at=service.clock())
        log.info("chat.window_closed", extra={"conversation": conv.id,
                                              "reason": result.reason.value,
                                              "errcode": result.errcode})
        service.notifier.conversation(conv, service.summary(conv))
