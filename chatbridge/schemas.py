"""The chat feature's request and response models, and the WeChat adapter's config.

``WeChatConfig`` is mapped from ``callcenter.yaml``'s ``chat.wechat`` section (without
``enabled``, ``queue`` and ``menu_queues``, which are the feature's business). Secrets
are ``SecretStr`` so a config that ends up in a log or a traceback shows ``**********``.
"""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from callcenter.customers.schemas import CustomerCard, Identity, Localized

__all__ = ["DEFAULT_API_BASE", "WeChatConfig", "WeChatMode"]

DEFAULT_API_BASE = "https://api.weixin.qq.com"
_TOKEN = re.compile(r"^[A-Za-z0-9]{3,32}$")
_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")


class WeChatMode(StrEnum):
    """The account's message encryption mode (消息加解密方式) in the WeChat console."""

    PLAINTEXT = "plaintext"  # 明文模式: bodies unsigned and unencrypted
    COMPATIBLE = "compatible"  # 兼容模式: plain fields and an Encrypt field side by side
    SECURE = "secure"  # 安全模式: only the Encrypt field


class WeChatConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    app_secret: SecretStr
    token: SecretStr
    encoding_aes_key: SecretStr | None = None
    mode: WeChatMode = WeChatMode.SECURE
    api_base: str = DEFAULT_API_BASE

    http_timeout_s: float = Field(default=10.0, gt=0)
    timestamp_tolerance_s: int = Field(default=300, gt=0)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_media_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    token_refresh_margin_s: int = Field(default=300, ge=0)
    dedup_ttl_s: float = Field(default=600.0, gt=0)
    dedup_max_entries: int = Field(default=10_000, ge=1)
    max_pending_deliveries: int = Field(default=1_000, ge=1)

    @field_validator("app_secret")
    @classmethod
    def _secret_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("app_secret is empty")
        return value

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        # The console accepts 3-32 letters or digits; anything else is a typo or a paste
        # of the wrong value, better caught at start than as failing signatures later.
        if not _TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("token must be 3-32 letters or digits")
        return value

    @field_validator("encoding_aes_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value()
        if not _AES_KEY.fullmatch(text):
            raise ValueError("encoding_aes_key must be exactly 43 letters or digits")
        try:
            raw = base64.b64decode(text + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("encoding_aes_key is not base64") from exc
        if len(raw) != 32:
            raise ValueError("encoding_aes_key does not decode to a 32-byte AES key")
        return value

    @field_validator("api_base")
    @classmethod
    def _api_base_shape(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("api_base must be an http(s) URL without query")
        return value

    @model_validator(mode="after")
    def _key_when_encrypted(self) -> WeChatConfig:
        if self.mode is not WeChatMode.PLAINTEXT and self.encoding_aes_key is None:
            raise ValueError(f"mode {self.mode.value} needs encoding_aes_key")
        return self

    @property
    def aes_key(self) -> bytes | None:
        """The 32-byte AES key: base64decode(EncodingAESKey + "=")."""
        if self.encoding_aes_key is None:
            return None
        return base64.b64decode(self.encoding_aes_key.get_secret_value() + "=")


# ------------------------------------------------------------------------- the widget

_PHONE = r"^\+?[0-9][0-9 ()-]{3,30}$"
_EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,185}\.[^@\s.]{2,}$"


class WidgetStart(BaseModel):
    """The pre-chat form."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(max_length=64)
    name: str = Field("", max_length=64)
    phone: str | None = Field(None, pattern=_PHONE)
    email: str | None = Field(None, max_length=254, pattern=_EMAIL)
    language: Literal["zh", "en"] = "zh"
    visitor: str | None = Field(None, max_length=64,
                                description="The browser's visitor key from an earlier chat")
    message: str | None = Field(None, max_length=2000)

    @field_validator("phone", "email", "message", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class WidgetStarted(BaseModel):
    conversation_id: str
    token: str = Field(description="Keep it: it is the only key to this conversation")
    visitor: str = Field(description="The browser's visitor key, for its next chats")
    status: str = Field(description="queued, or message (left for later: closed/nobody)")
    reason: str | None = None


class WidgetTopic(BaseModel):
    id: str
    label: Localized
    live: bool = Field(description="False: a message is taken for later")


class WidgetUploads(BaseModel):
    enabled: bool
    max_bytes: int
    types: list[str]


class WidgetConfig(BaseModel):
    topics: list[WidgetTopic]
    require_contact: bool
    uploads: WidgetUploads
    max_message_chars: int


class Rating(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=1000)


class Rated(BaseModel):
    conversation_id: str
    rating: int


class TranscriptMailed(BaseModel):
    conversation_id: str
    to: str
    """The address it went to, masked."""


class VisitorEnded(BaseModel):
    conversation_id: str
    status: str


class FileRef(BaseModel):
    id: int
    name: str
    type: str
    size: int


class VisitorMessage(BaseModel):
    t: str
    mid: int
    text: str
    type: str
    at: float
    cid: str | None = None
    file: FileRef | None = None


# ------------------------------------------------------------------------- the consoles


class ChatSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20000)
    client_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                           description="The console's id for this message: a retry "
                                       "with the same id is stored once")


class ChatTyping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: bool


class ChatRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upto: int = Field(ge=0)


class ChatTransfer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue: str | None = Field(None, max_length=64)
    agent_id: str | None = Field(None, max_length=64)


class ChatMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int


class StaffMessage(BaseModel):
    id: int
    direction: str
    sender: str
    sender_name: str | None
    body: str
    type: str = Field(description="text | image | file")
    at: float
    status: str | None = Field(description="outbound: pending | sent | refused | failed")
    error: str | None
    file: FileRef | None


class Window(BaseModel):
    reason: str = Field(description="window_expired | quota_exhausted | not_subscribed")
    errcode: int | None
    advice: str | None


class ConversationSummary(BaseModel):
    id: str
    task_id: str | None
    medium: str
    queue: str
    queue_name: Localized | None
    status: str = Field(description="queued | active | message | ended")
    wrapping: bool
    agent_id: str | None
    agent_name: str | None
    topic: str | None
    language: str | None
    customer_id: int | None
    online: bool | None = Field(description="web: the visitor has the widget open")
    window: Window | None = Field(description="WeChat: why messages cannot reach them now")
    joined: list[str]
    agent_read: int
    visitor_got: int
    visitor_read: int
    created_at: float
    last_seen_at: float


class Suggestion(BaseModel):
    customer: CustomerCard
    because: Identity


class Target(BaseModel):
    id: str
    name: Localized | str | None


class TransferTargets(BaseModel):
    queues: list[Target]
    agents: list[Target]


class ConversationDetail(ConversationSummary):
    messages: list[StaffMessage]
    pop: dict[str, Any] = Field(description="The screen-pop card (customers feature)")
    canned: list[Localized]
    callback_possible: bool
    suggestions: list[Suggestion]
    transfer: TransferTargets


class CallbackQueued(BaseModel):
    task_id: str
    queue: str
    number: str = Field(description="masked")


class Merged(BaseModel):
    merge_id: int
    customer_id: int
    merged_id: int
