"""The WeChat official account server API, as far as customer service needs it.

* access token: ``GET /cgi-bin/token``, cached, refreshed ``token_refresh_margin_s``
  before it expires, one refresh shared by all concurrent callers (single flight);
  an answer of 40001/40014/42001 (token invalid or expired) refreshes once and retries
  once;
* customer-service messages: ``POST /cgi-bin/message/custom/send`` (text, image, voice)
  as UTF-8 JSON with Chinese unescaped; 45015/45047/43004 become ``WindowClosed``;
* media: ``POST /cgi-bin/media/upload`` (temporary, 3 days) and ``GET /cgi-bin/media/get``
  with a size limit.

Errors are never swallowed: other errcodes raise ``WeChatApiError``, network trouble
``ChannelTransportError``. Tokens and the app secret travel in query strings, so they
are redacted from every error text and never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from chatbridge.adapter import (
    ChannelApiError,
    ChannelTransportError,
    Media,
    MediaTooLarge,
    SendResult,
    Sent,
    WindowClosed,
    WindowClosedReason,
    mask_id,
)
from chatbridge.schemas import WeChatConfig

__all__ = ["TOKEN_ERRCODES", "UPLOAD_LIMITS", "WINDOW_ERRCODES", "WeChatApiClient",
           "WeChatApiError"]

log = logging.getLogger("chatbridge.wechat")

TOKEN_ERRCODES: Final = frozenset({40001, 40014, 42001})

WINDOW_ERRCODES: Final[dict[int, tuple[WindowClosedReason, str]]] = {
    45015: (WindowClosedReason.WINDOW_EXPIRED,
            "WeChat only delivers service messages within 48 hours of the customer's last "
            "message (or the customer unfollowed). Wait until they write again, or reach "
            "them on another channel."),
    45047: (WindowClosedReason.QUOTA_EXHAUSTED,
            "WeChat's limit of service messages since the customer's last message is used "
            "up. Wait until the customer writes again; combine what is left into fewer "
            "messages."),
    43004: (WindowClosedReason.NOT_SUBSCRIBED,
            "The customer does not follow the account (any more), so WeChat refuses "
            "service messages. They must follow it again and write first."),
}

# Temporary-media size limits WeChat documents, per type.
UPLOAD_LIMITS: Final[dict[str, int]] = {
    "image": 10 * 1024 * 1024,
    "voice": 2 * 1024 * 1024,
    "video": 10 * 1024 * 1024,
    "thumb": 64 * 1024,
}

_JSON_LIMIT = 1024 * 1024
_CHUNK = 64 * 1024
_REDACT = re.compile(r"(access_token|secret|appid)=[^&\s'\"]*", re.I)


def _redact(text: str) -> str:
    return _REDACT.sub(r"\1=***", text)


class WeChatApiError(ChannelApiError):
    """WeChat answered an errcode that is neither success nor a session state."""


@dataclass(slots=True)
class _Token:
    value: str
    refresh_at: float


@dataclass(slots=True)
class _Reply:
    status: int
    content_type: str
    disposition: str | None
    body: bytes


class WeChatApiClient:
    """Async client for one official account; share one instance per app_id.

    ``session`` may be passed in (it is then not closed here); otherwise one is created
    on first use and closed by ``close``. Every request has ``http_timeout_s``.
    """

    def __init__(self, config: WeChatConfig, *, session: aiohttp.ClientSession | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._base = config.api_base
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=config.http_timeout_s)
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self.token_fetches = 0  # how often /cgi-bin/token was asked, for metrics and tests

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise ChannelTransportError("the ClientSession passed in is closed")
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    # -------------------------------------------------------------------------- HTTP

    async def _fetch(self, op: str, method: str, path: str, *, params: dict[str, str],
                     limit: int = _JSON_LIMIT, **kwargs: Any) -> _Reply:
        session = self._get_session()
        try:
            async with session.request(method, f"{self._base}{path}", params=params,
                                       timeout=self._timeout, **kwargs) as resp:
                if resp.content_length is not None and resp.content_length > limit:
                    raise MediaTooLarge(resp.content_length, limit)
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise MediaTooLarge(None, limit)
                    chunks.append(chunk)
                return _Reply(resp.status, resp.headers.get("Content-Type", ""),
                              resp.headers.get("Content-Disposition"), b"".join(chunks))
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = _redact(str(exc)) or type(exc).__name__
            # "from None": the cause's text may carry the URL with its token.
            raise ChannelTransportError(f"{op}: {type(exc).__name__}: {detail}") from None

    @staticmethod
    def _json(op: str, reply: _Reply) -> dict[str, Any]:
        if reply.status != 200:
            raise ChannelTransportError(f"{op}: HTTP {reply.status}")
        try:
            data = json.loads(reply.body)
        except (UnicodeDecodeError, ValueError):
            raise ChannelTransportError(f"{op}: answer is not JSON") from None
        if not isinstance(data, dict):
            raise ChannelTransportError(f"{op}: answer is not a JSON object")
        return data

    async def _json_call(self, op: str, method: str, path: str, *,
                         params: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        try:
            reply = await self._fetch(op, method, path, params=params or {}, **kwargs)
        except MediaTooLarge:
            raise ChannelTransportError(f"{op}: answer too large") from None
        return self._json(op, reply)

    # ------------------------------------------------------------------ access token

    async def access_token(self) -> str:
        """A valid token: the cached one, or a fresh one if it is due for refresh."""
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.value
        return await self.refresh_token(stale=token.value if token else None)

    async def refresh_token(self, stale: str | None = None) -> str:
        """Fetch a new token unless someone already replaced ``stale`` meanwhile.

        Every caller that saw the same stale token waits on one lock; the first one
        fetches, the others find the new token and return it (single flight).
        """
        async with self._lock:
            current = self._token
            if (current is not None and current.value != stale
                    and self._clock() < current.refresh_at):
                return current.value
            self._token = await self._fetch_token()
            return self._token.value

    async def _fetch_token(self) -> _Token:
        self.token_fetches += 1
        data = await self._json_call("token", "GET", "/cgi-bin/token", params={
            "grant_type": "client_credential",
            "appid": self._config.app_id,
            "secret": self._config.app_secret.get_secret_value(),
        })
        if data.get("errcode"):
            raise WeChatApiError("token", _int(data.get("errcode")), str(data.get("errmsg", "")))
        value, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(value, str) or not value:
            raise ChannelTransportError("token: answer has no access_token")
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
            raise ChannelTransportError("token: answer has no valid expires_in")
        lifetime = max(expires_in - self._config.token_refresh_margin_s, expires_in / 2)
        log.info("wechat.token.refreshed", extra={"expires_in": expires_in,
                                                  "fetches": self.token_fetches})
        return _Token(value, self._clock() + lifetime)

    async def _authorized(self, op: str,
                          call: Callable[[str], Awaitable[dict[str, Any] | Media]]
                          ) -> dict[str, Any] | Media:
        """Run ``call(token)``; on a token errcode refresh once and run it once more."""
        token = await self.access_token()
        result = await call(token)
        if isinstance(result, dict) and _int(result.get("errcode")) in TOKEN_ERRCODES:
            log.info("wechat.token.rejected", extra={"op": op,
                                                     "errcode": result.get("errcode")})
            token = await self.refresh_token(stale=token)
            result = await call(token)
        return result

    # ---------------------------------------------------------------------- messages

    async def send_custom(self, payload: dict[str, Any]) -> SendResult:
        """POST one customer-service message; ``payload`` as WeChat documents it."""
        touser = payload.get("touser")
        if not isinstance(touser, str) or not touser:
            raise ValueError("payload needs touser (an openid)")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

        async def call(token: str) -> dict[str, Any]:
            return await self._json_call(
                "custom/send", "POST", "/cgi-bin/message/custom/send",
                params={"access_token": token}, data=body,
                headers={"Content-Type": "application/json; charset=utf-8"})

        result = await self._authorized("custom/send", call)
        assert isinstance(result, dict)
        errcode = _int(result.get("errcode"))
        errmsg = str(result.get("errmsg", ""))
        extra = {"msgtype": payload.get("msgtype"), "recipient": mask_id(touser)}
        if not errcode:
            log.info("wechat.send.ok", extra=extra)
            return Sent()
        if errcode in WINDOW_ERRCODES:
            reason, advice = WINDOW_ERRCODES[errcode]
            log.info("wechat.send.window_closed", extra={**extra, "errcode": errcode,
                                                         "reason": reason.value})
            return WindowClosed(reason=reason, advice=advice, errcode=errcode, errmsg=errmsg)
        log.warning("wechat.send.failed", extra={**extra, "errcode": errcode,
                                                 "errmsg": errmsg})
        raise WeChatApiError("custom/send", errcode, errmsg)

    async def send_text(self, openid: str, content: str) -> SendResult:
        if not content:
            raise ValueError("empty text")
        return await self.send_custom({"touser": openid, "msgtype": "text",
                                       "text": {"content": content}})

    async def send_image(self, openid: str, media_id: str) -> SendResult:
        return await self.send_custom({"touser": openid, "msgtype": "image",
                                       "image": {"media_id": media_id}})

    async def send_voice(self, openid: str, media_id: str) -> SendResult:
        return await self.send_custom({"touser": openid, "msgtype": "voice",
                                       "voice": {"media_id": media_id}})

    # ------------------------------------------------------------------------- media

    async def upload_media(self, data: bytes, *, media_type: str = "image",
                           filename: str = "image.jpg",
                           content_type: str = "image/jpeg") -> str:
        """Upload temporary media (kept 3 days by WeChat); returns its media_id."""
        if media_type not in UPLOAD_LIMITS:
            raise ValueError(f"media_type must be one of {sorted(UPLOAD_LIMITS)}")
        limit = min(UPLOAD_LIMITS[media_type], self._config.max_media_bytes)
        if len(data) > limit:
            raise MediaTooLarge(len(data), limit)
        if not data:
            raise ValueError("empty media")

        async def call(token: str) -> dict[str, Any]:
            form = aiohttp.FormData()  # single use: built again for the retry
            form.add_field("media", data, filename=_ascii_filename(filename, media_type),
                           content_type=content_type)
            return await self._json_call("media/upload", "POST", "/cgi-bin/media/upload",
                                         params={"access_token": token, "type": media_type},
                                         data=form)

        result = await self._authorized("media/upload", call)
        assert isinstance(result, dict)
        media_id = result.get("media_id")
        if _int(result.get("errcode")) or not isinstance(media_id, str) or not media_id:
            raise WeChatApiError("media/upload", _int(result.get("errcode")),
                                 str(result.get("errmsg", "no media_id in answer")))
        log.info("wechat.media.uploaded", extra={"media_type": media_type, "bytes": len(data)})
        return media_id

    async def get_media(self, media_id: str, *, max_bytes: int | None = None) -> Media:
        """Download temporary media (an inbound image or voice) as bytes + content type."""
        if not media_id:
            raise ValueError("empty media_id")
        limit = max_bytes or self._config.max_media_bytes

        async def call(token: str) -> dict[str, Any] | Media:
            reply = await self._fetch("media/get", "GET", "/cgi-bin/media/get",
                                      params={"access_token": token, "media_id": media_id},
                                      limit=limit)
            kind = reply.content_type.split(";")[0].strip().lower()
            if kind in ("application/json", "text/plain", "text/json", ""):
                return self._json("media/get", reply)  # WeChat reports errors as JSON
            if reply.status != 200:
                raise ChannelTransportError(f"media/get: HTTP {reply.status}")
            return Media(reply.body, kind, _filename(reply.disposition))

        result = await self._authorized("media/get", call)
        if isinstance(result, Media):
            log.info("wechat.media.fetched", extra={"content_type": result.content_type,
                                                    "bytes": result.size})
            return result
        if "video_url" in result and not result.get("errcode"):
            raise WeChatApiError("media/get", None,
                                 "video media is served as a URL, not supported here")
        raise WeChatApiError("media/get", _int(result.get("errcode")),
                             str(result.get("errmsg", "")))


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return -1


def _ascii_filename(filename: str, media_type: str) -> str:
    """A plain ASCII file name: WeChat goes by its extension, and a non-ASCII name would
    be sent percent-encoded, which its upload endpoint is not documented to decode."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    if not ext.isascii() or not ext.isalnum():
        ext = ""
    if not stem or not re.fullmatch(r"[A-Za-z0-9_.-]+", stem):
        stem = media_type
    return f"{stem}.{ext}" if ext else stem


def _filename(disposition: str | None) -> str | None:
    if not disposition:
        return None
    try:
        _, params = parse_content_disposition(disposition)
        return content_disposition_filename(params, "filename")
    except Exception:  # a malformed header only costs us the name
        return None
