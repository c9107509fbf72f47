"""Configuration of the WeChat official account adapter.

Mapped from ``callcenter.yaml``'s ``chat.wechat`` section (without its ``enabled``
switch, which is the application's business). Secrets are ``SecretStr`` so a config
that ends up in a log or a traceback shows ``**********``.
"""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

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
