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

Rating (``reports.csat.wechat_rating``): when a chat an agent served ends with the
window open, the follower is asked to reply 1-5. A reply of one such digit within
``RATING_HOURS``, before any other message, is stored as the chat's rating (and CSAT)
and thanked; it opens no chat. The request is remembered in memory only: after a
restart a digit is an ordinary first message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callcenter.storage import Message
from callcenter.storage.chats import ChatFile
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
from .notifier import staff_message
from .services import ChatService

__all__ = ["AccountChannel"]

log = logging.getLogger("chatbridge")

RETRIES = 3
RETRY_DELAY = 2.0
_CHOICES = 10_000  # followers whose menu choice is remembered
RATING_HOURS = 24
_ASKED = 10_000  # followers whose rating is awaited
RATING_TEXT = {
    "zh": "感谢您的咨询！请回复一个数字为本次服务评分：5 非常满意，4 满意，3 一般，2 不满意，"
          "1 非常不满意。",
    "en": "Thank you for contacting us! Please rate this chat with one digit: 5 very good, "
          "4 good, 3 fair, 2 poor, 1 very poor.",
}
THANKS_TEXT = {"zh": "感谢您的评价！", "en": "Thank you for your rating!"}


@dataclass
class _Asked:
    conversation_id: str
    interaction_id: str
    language: str
    at: float


class AccountChannel:
    def __init__(self, service: ChatService, adapter: ChatAdapter, *,
                 queue: Callable[[], str], menu_queues: Callable[[], dict[str, str]],
                 ask_rating: Callable[[], bool] = lambda: False) -> None:
        self.service = service
        self.adapter = adapter
        self.medium = adapter.channel
        self._queue = queue
        self._menu = menu_queues
        self._ask_rating = ask_rating
        self._chosen: OrderedDict[str, str] = OrderedDict()
        self._kept: dict[str, tuple[Conversation, Message, bool]] = {}
        self._asked: OrderedDict[str, _Asked] = OrderedDict()  # openid -> rating awaited
        self._rated: dict[str, str] = {}  # dedup key of a rating reply -> its language
        service.on_ended.append(self.ended)

    async def start(self) -> None:
        await self.adapter.start(self.inbound, self.keep)
        for m, conversation_id, address in await self.service.store.pending_chat_outbound(
                self.medium):
            conv = self.service.convs.get(conversation_id)
            if conv is not None and conv.address == address:
                self.queue_send(conv, m, None)

    async def close(self) -> None:
        for conv in self.service.convs:
            if conv.medium == self.medium and conv.sending is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(conv.sending), 5)
        await self.adapter.close()

    # ------------------------------------------------------------------ inbound

    async def keep(self, message: InboundMessage) -> None:
        """Store the follower's message before the channel is answered (fast: no media
        download, nobody told yet); ``inbound`` does the rest in the background."""
        service = self.service
        sender = message.sender
        if isinstance(message, MenuClick | Scanned | Subscribed):
            queue = self._menu().get(getattr(message, "event_key", None) or "")
            if queue is not None:
                self._chosen.pop(sender, None)
                self._chosen[sender] = queue
                while len(self._chosen) > _CHOICES:
                    self._chosen.popitem(last=False)
            return
        if isinstance(message, Unsubscribed):
            return
        conv = service.convs.of_address(self.medium, sender)
        if conv is None and await self._rating(message):
            return
        fresh = conv is None
        if conv is None:
            conv = await self._open(sender)
        text, content_type = _render(message)
        m = await service.customer_message(conv, source=self.medium,
                                           external_id=message.dedup_key, text=text,
                                           content_type=content_type,
                                           at=float(message.created_at), notify=False)
        self._kept[message.dedup_key] = (conv, m, fresh)

    async def inbound(self, message: InboundMessage) -> None:
        service = self.service
        if isinstance(message, MenuClick | Scanned | Subscribed):
            return
        if isinstance(message, Unsubscribed):
            conv = service.convs.of_address(self.medium, message.sender)
            if conv is not None:
                await self.window_closed(conv, WindowClosed(
                    WindowClosedReason.NOT_SUBSCRIBED,
                    "The customer unfollowed the account: WeChat delivers nothing more until "
                    "they follow again and write."))
            return
        if message.dedup_key not in self._kept and message.dedup_key not in self._rated:
            await self.keep(message)  # an adapter that does not keep first
        language = self._rated.pop(message.dedup_key, None)
        if language is not None:
            await self._say(message.sender, THANKS_TEXT.get(language, THANKS_TEXT["zh"]))
            return
        conv, m, fresh = self._kept.pop(message.dedup_key)
        if conv.window is not None:
            await service.convs.save(conv, window=None, window_errcode=None, window_at=None)
            conv.window_advice = None
            service.notifier.conversation(conv, service.summary(conv))
        if not m.duplicate:
            file = await self._media(conv, m, message)
            service.notifier.message(conv, staff_message(m, file, service.agent_name))
        if fresh:
            await service.enqueue(conv, arrival=float(message.created_at))

    async def _open(self, openid: str) -> Conversation:
        service = self.service
        customer = await service.store.find_or_create_customer("wechat_openid", openid)
        queue = self._chosen.pop(openid, None) or self._queue()
        return await service.open_conversation(medium=self.medium, address=openid,
                                               customer_id=customer.id, queue=queue)

    async def _media(self, conv: Conversation, m: Message,
                     message: InboundMessage) -> ChatFile | None:
        """Fetch an image or voice note from the channel and keep it with its message."""
        if not isinstance(message, ImageMessage | VoiceMessage):
            return None
        try:
            media = await self.adapter.fetch_media(message.media_id)
        except ChatBridgeError as exc:
            log.warning("chat.media_not_fetched", extra={"error": str(exc),
                                                         "sender": mask_id(message.sender)})
            return None
        content_type = media.content_type.split(";", 1)[0].strip().lower()
        name = media.filename or ("image.jpg" if content_type.startswith("image/") else
                                  f"voice.{getattr(message, 'format', None) or 'amr'}")
        file = await self.service.store.add_chat_file(
            conv.id, name=name, content_type=content_type, data=media.data,
            sha256=hashlib.sha256(media.data).hexdigest(), message_id=m.id)
        conv.files += 1
        return file

    # ------------------------------------------------------------------ rating

    async def ended(self, conv: Conversation, by: str) -> None:
        """A chat of this channel ended: ask the follower for a rating if an agent served
        it and WeChat still delivers (the window is open)."""
        if conv.medium != self.medium or conv.agent_id is None or conv.task_id is None \
                or conv.window is not None or not self._ask_rating():
            return
        language = conv.language if conv.language in RATING_TEXT else "zh"
        if await self._say(conv.address, RATING_TEXT[language]):
            self._asked.pop(conv.address, None)
            self._asked[conv.address] = _Asked(conv.id, conv.task_id, language,
                                               self.service.clock())
            while len(self._asked) > _ASKED:
                self._asked.popitem(last=False)
            log.info("chat.rating_asked", extra={"conversation": conv.id, "by": by})

    async def _rating(self, message: InboundMessage) -> bool:
        """A follower asked for a rating answers with one digit 1-5: store it (before
        WeChat is answered, like any message) and say thanks later. Anything else ends
        the wait and is an ordinary message."""
        asked = self._asked.pop(message.sender, None)
        if asked is None or not isinstance(message, TextMessage):
            return False
        answer = message.text.strip()
        if len(answer) != 1 or answer not in "12345" \
                or self.service.clock() - asked.at > RATING_HOURS * 3600:
            return False
        score = int(answer)
        store = self.service.store
        await store.update_conversation(asked.conversation_id, rating=score)
        await store.record_csat(asked.interaction_id, score, source="wechat",
                                at=float(message.created_at))
        self._rated[message.dedup_key] = asked.language
        log.info("chat.rated", extra={"conversation": asked.conversation_id, "score": score,
                                      "channel": self.medium})
        return True

    async def _say(self, openid: str, text: str) -> bool:
        """A short system text to the follower; False if WeChat would not take it."""
        try:
            result = await self.adapter.send_text(openid, text)
        except ChatBridgeError as exc:
            log.warning("chat.system_text_failed", extra={"error": str(exc),
                                                          "sender": mask_id(openid)})
            return False
        return not isinstance(result, WindowClosed)

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


def _render(message: InboundMessage) -> tuple[str, str]:
    """The text a message is stored with, and its content type (text, image, file)."""
    if isinstance(message, TextMessage):
        return message.text, "text"
    if isinstance(message, ImageMessage):
        return "[图片]", "image"
    if isinstance(message, VoiceMessage):
        return (f"[语音] {message.recognition}" if message.recognition else "[语音]"), "file"
    if isinstance(message, LocationMessage):
        label = f"{message.label} " if message.label else ""
        return f"[位置] {label}({message.latitude:.5f}, {message.longitude:.5f})", "text"
    if isinstance(message, UnsupportedMessage):
        return f"[{message.msg_type}]", "text"
    return f"[{message.kind}]", "text"
