"""The boundary between a chat channel and the chat service.

The chat service only ever sees what is in this module: inbound messages and events
as frozen dataclasses handed to one callback, ``send_*`` calls that return a typed
``SendResult``, and ``fetch_media``. Each channel (the WeChat official account here;
WeCom customer service, whose callback only notifies and whose messages are pulled
with ``sync_msg``, would be another) is one ``ChatAdapter`` implementation, so the
service never learns how a channel signs, encrypts, pulls or pushes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable

from aiohttp import web

__all__ = [
    "CallbackRejected",
    "ChannelApiError",
    "ChannelTransportError",
    "ChatAdapter",
    "ChatBridgeError",
    "ImageMessage",
    "Inbound",
    "InboundHandler",
    "InboundMessage",
    "LocationMessage",
    "Media",
    "MediaTooLarge",
    "MenuClick",
    "Scanned",
    "SendResult",
    "Sent",
    "Subscribed",
    "TextMessage",
    "Unsubscribed",
    "UnsupportedMessage",
    "VoiceMessage",
    "WindowClosed",
    "WindowClosedReason",
    "mask_id",
]


def mask_id(value: str | None) -> str:
    """A customer id (openid, external user id) safe for logs: ``oAbC…xY9z``.

    Ids are stable personal identifiers, so logs keep only enough to tell two
    conversations apart while reading them, never the whole id.
    """
    if not value:
        return ""
    if len(value) <= 8:
        return "****"
    return f"{value[:4]}…{value[-4:]}"


# --------------------------------------------------------------------------- inbound


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """What every inbound message or event carries.

    ``dedup_key`` is stable across the channel's retries of the same message, so the
    chat service can also drop duplicates persistently (e.g. a unique column), beyond
    the adapter's short in-memory memory. ``raw`` keeps every field the channel sent,
    for what is not modelled yet.
    """

    kind: ClassVar[str] = "inbound"
    channel: str
    account: str
    sender: str = field(repr=False)
    created_at: int
    dedup_key: str = field(repr=False)
    message_id: str | None = None
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def sender_masked(self) -> str:
        return mask_id(self.sender)


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMessage(Inbound):
    kind: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageMessage(Inbound):
    kind: ClassVar[str] = "image"
    media_id: str
    pic_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceMessage(Inbound):
    """A voice note; ``recognition`` is the channel's speech-to-text, when enabled."""

    kind: ClassVar[str] = "voice"
    media_id: str
    format: str | None = None
    recognition: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationMessage(Inbound):
    kind: ClassVar[str] = "location"
    latitude: float
    longitude: float
    scale: int | None = None
    label: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribed(Inbound):
    """The customer followed the account; a scan-to-follow also carries the QR scene."""

    kind: ClassVar[str] = "subscribe"
    event_key: str | None = None
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribed(Inbound):
    """The customer unfollowed: no service messages can reach them any more."""

    kind: ClassVar[str] = "unsubscribe"


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuClick(Inbound):
    kind: ClassVar[str] = "click"
    event_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Scanned(Inbound):
    """A follower scanned one of the account's parameterised QR codes."""

    kind: ClassVar[str] = "scan"
    event_key: str
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsupportedMessage(Inbound):
    """Anything not modelled (video, link, other events): passed on, so the service can
    tell the customer it was not understood instead of silently losing it."""

    kind: ClassVar[str] = "unsupported"
    msg_type: str
    event: str | None = None


InboundMessage = (
    TextMessage | ImageMessage | VoiceMessage | LocationMessage | Subscribed | Unsubscribed
    | MenuClick | Scanned | UnsupportedMessage
)
InboundHandler = Callable[[InboundMessage], Awaitable[None]]


# -------------------------------------------------------------------------- outbound


@dataclass(frozen=True, slots=True)
class Sent:
    """The channel accepted the message."""


class WindowClosedReason(StrEnum):
    WINDOW_EXPIRED = "window_expired"
    QUOTA_EXHAUSTED = "quota_exhausted"
    NOT_SUBSCRIBED = "not_subscribed"


@dataclass(frozen=True, slots=True)
class WindowClosed:
    """The channel refuses messages to this customer for now: a session state, not a fault.

    ``advice`` is meant for the agent's screen: what happened and what to do.
    """

    reason: WindowClosedReason
    advice: str
    errcode: int | None = None
    errmsg: str = ""


SendResult = Sent | WindowClosed


@dataclass(frozen=True, slots=True)
class Media:
    data: bytes = field(repr=False)
    content_type: str
    filename: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


# ---------------------------------------------------------------------------- errors


class ChatBridgeError(Exception):
    """Base of every error this package raises."""


class CallbackRejected(ChatBridgeError):
    """An inbound callback request was refused; ``status`` is the HTTP answer."""

    status: int = 400

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status


class ChannelApiError(ChatBridgeError):
    """The channel's API answered with an error code we do not turn into a state."""

    def __init__(self, operation: str, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"{operation} failed: errcode={errcode} errmsg={errmsg}")
        self.operation = operation
        self.errcode = errcode
        self.errmsg = errmsg


class ChannelTransportError(ChatBridgeError):
    """The channel's API could not be reached or answered something unreadable."""


class MediaTooLarge(ChatBridgeError):
    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"media of {size if size is not None else 'unknown'} bytes "
                         f"exceeds the limit of {limit}")
        self.size = size
        self.limit = limit


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class ChatAdapter(Protocol):
    """One chat channel, as the chat service uses it.

    ``start`` hands over the callback for inbound messages; the adapter calls it once
    per distinct message, in order per customer, never from the HTTP request that
    brought it (channels retry slow answers). ``keep``, if given, is awaited for each
    message before the channel is told it arrived (bounded in time; failing means "send
    it again"), so what the channel believes delivered is stored. ``handle_callback`` is
    the channel's webhook, to be mounted on any route.
    """

    channel: str

    async def start(self, on_inbound: InboundHandler,
                    keep: InboundHandler | None = None) -> None: ...

    async def close(self) -> None: ...

    async def handle_callback(self, request: web.Request) -> web.StreamResponse: ...

    async def send_text(self, recipient: str, text: str) -> SendResult: ...

    async def send_image(self, recipient: str, image: bytes, *,
                         content_type: str = "image/jpeg",
                         filename: str = "image.jpg") -> SendResult: ...

    async def fetch_media(self, media_id: str) -> Media: ...
