"""Models of ``callcenter.yaml``'s ``chat:`` section: the web widget and WeChat.

Re-exported by ``models``; import them from there. Every key is something the chat
feature does (``chatbridge``); anything it does not do is an unknown key and refused.
Cross-file checks (topics and WeChat queues exist and take chats) are in
``chat_check``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from .fields import Ident, Level, LocalizedText, Strict, config_error

_MIME = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
_TOKEN = re.compile(r"[A-Za-z0-9]{3,32}")
_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")


def _origin(value: str) -> str:
    value = value.rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path \
            or parts.query or "*" in value:
        raise config_error(
            "{value} is not an origin; write scheme://host[:port] of the site that embeds "
            "the widget, e.g. https://www.example.com (no path, no wildcard)", value)
    return value


Origin = Annotated[str, AfterValidator(_origin)]


def _mime(value: str) -> str:
    if not _MIME.fullmatch(value):
        raise config_error("{value} is not a media type; write it like image/png", value)
    return value


MediaType = Annotated[str, AfterValidator(_mime)]


class Topic(Strict):
    """A choice of the widget's pre-chat form, and the queue (and skills) it leads to."""

    id: Ident
    label: LocalizedText
    queue: Ident
    skills: dict[Ident, Level] = Field(default_factory=dict)
    """Skills the chat needs on top of the queue's own."""


class Uploads(Strict):
    """Files and images a visitor sends from the widget."""

    enabled: bool = True
    """false: the widget has no attach button and uploads are refused (403)."""
    max_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024)
    """A larger file is refused (413) before it is stored."""
    types: tuple[MediaType, ...] = ("image/png", "image/jpeg", "image/gif", "image/webp",
                                    "application/pdf", "text/plain")
    """Media types accepted (checked against the file's first bytes too); others: 415."""
    per_conversation: int = Field(20, ge=1, le=1000)
    """Files one conversation may send; then 429."""


class LeaveMessage(Strict):
    """When the widget takes a message for later instead of queueing a live chat."""

    when_closed: bool = True
    """Outside the queue's business_hours."""
    when_nobody: bool = True
    """Nobody who could serve the topic's queue is signed in."""
    retry_seconds: int = Field(60, ge=5, le=86400)
    """How often a message left is offered to its queue again (while open and staffed)."""


class VisitorLimits(Strict):
    """What one visitor may send; beyond it they get an error, never the engine's time."""

    messages_per_minute: int = Field(30, ge=1, le=6000)
    """Messages of one conversation per minute; more are refused (error frame), and a
    visitor who keeps sending past twice the limit is disconnected."""
    max_message_chars: int = Field(2000, ge=1, le=20000)
    """Longer messages are refused."""
    max_frame_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024)
    """A larger WebSocket frame closes the connection (1009)."""
    conversations_per_hour: int = Field(20, ge=1, le=1_000_000)
    """New conversations from one visitor address per hour; then 429."""


class TranscriptEmail(Strict):
    """The widget's "e-mail me the transcript", to the address the customer gave (in the
    pre-chat form, or earlier: their record's), never to one typed at the end; sent through
    an SMTP relay that takes this host's mail without a login (the host's own Postfix)."""

    enabled: bool = False
    """false: the widget offers the download only (the e-mail request answers 404)."""
    smtp_host: str = Field("127.0.0.1", min_length=1, max_length=253)
    smtp_port: int = Field(25, ge=1, le=65535)
    sender: str = Field("noreply@localhost", min_length=3, max_length=254)
    """The From: address (the relay may insist on its own domain)."""
    per_conversation: int = Field(3, ge=1, le=20)
    """Transcripts one conversation may have e-mailed; then 429."""

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not re.fullmatch(r"[^@\s<>]{1,64}@[^@\s<>]{1,189}", value):
            raise config_error("{value} is not an e-mail address (write name@domain)", value)
        return value


class WebChatConfig(Strict):
    """The chat widget: one script tag on the company's site, served by this engine."""

    enabled: bool = True
    """false: the widget's script, page and API answer 404."""
    allowed_origins: tuple[Origin, ...] = ()
    """Sites that may embed the widget (the browser refuses it anywhere else); the
    console's own web.public_origin is always allowed."""
    topics: tuple[Topic, ...] = ()
    """The pre-chat form's choices, in order; at least one when enabled."""
    require_contact: bool = False
    """The pre-chat form insists on a phone number or an e-mail address."""
    idle_end_minutes: int = Field(30, ge=1, le=7 * 24 * 60)
    """A conversation whose visitor has been away this long is ended."""
    leave_message: LeaveMessage = Field(default_factory=LeaveMessage)
    uploads: Uploads = Field(default_factory=Uploads)
    limits: VisitorLimits = Field(default_factory=VisitorLimits)
    transcript_email: TranscriptEmail = Field(default_factory=TranscriptEmail)

    @field_validator("topics")
    @classmethod
    def _unique_topics(cls, value: tuple[Topic, ...]) -> tuple[Topic, ...]:
        ids = [t.id for t in value]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise config_error("topic ids listed twice: " + ", ".join(dup))
        return value

    @model_validator(mode="after")
    def _topics_when_enabled(self) -> WebChatConfig:
        if self.enabled and not self.topics:
            raise config_error("enabled but no topics: the pre-chat form needs at least one "
                               "topic (id, label, queue)")
        return self


class WeChatConfig(Strict):
    """A WeChat official account (公众号) feeding chats into the queues.

    Maps onto ``chatbridge.WeChatConfig`` (without ``enabled``, ``queue`` and
    ``menu_queues``); its checks are repeated here so a mistake is shown with its line.
    """

    enabled: bool = False
    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    """The console's 令牌 (Token): 3-32 letters or digits."""
    encoding_aes_key: SecretStr = SecretStr("")
    """The console's EncodingAESKey: 43 letters or digits (needed unless plaintext)."""
    mode: Literal["plaintext", "compatible", "secure"] = "secure"
    """消息加解密方式: secure (安全模式) checks msg_signature and decrypts every message."""
    api_base: str = "https://api.weixin.qq.com"
    queue: Ident = "support"
    """The queue WeChat chats wait in."""
    menu_queues: dict[Annotated[str, Field(min_length=1, max_length=128)], Ident] = Field(
        default_factory=dict)
    """A menu click's EventKey -> the queue the customer's next chat waits in."""

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        if text and not _AES_KEY.fullmatch(text):
            raise config_error(f"must be exactly 43 letters or digits (it has {len(text)} "
                               "characters)")
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        if text and not _TOKEN.fullmatch(text):
            raise config_error("must be 3-32 letters or digits, as the WeChat console sets it")
        return value

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise config_error("{value} is not an http(s) URL without query", value)
        return value

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> WeChatConfig:
        if not self.enabled:
            return self
        missing = [name for name, val in (("app_id", self.app_id),
                                          ("app_secret", self.app_secret.get_secret_value()),
                                          ("token", self.token.get_secret_value())) if not val]
        if missing:
            raise config_error("enabled but empty: " + ", ".join(missing))
        if self.mode != "plaintext" and not self.encoding_aes_key.get_secret_value():
            raise config_error(f"mode {self.mode} needs encoding_aes_key (or mode: plaintext, "
                               "which leaves message bodies unsigned)")
        return self


class ChatConfig(Strict):
    web: WebChatConfig = Field(default_factory=lambda: WebChatConfig(enabled=False))
    wechat: WeChatConfig = Field(default_factory=WeChatConfig)


class CannedReply(Strict):
    """A reply an agent inserts with one click (queues.yaml, per chat queue)."""

    zh: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    en: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> CannedReply:
        if self.zh is None and self.en is None:
            raise config_error("give the reply in at least one language (zh, en)")
        return self
