"""A local stand-in for WeChat's servers, for tests over loopback HTTP.

It plays both sides WeChat plays against an official account's server:

* the API (``/cgi-bin/token``, ``/cgi-bin/message/custom/send``, ``/cgi-bin/media/upload``,
  ``/cgi-bin/media/get``): issues access tokens, checks them on every call like WeChat
  (41001 missing, 40001 unknown, 42001 expired), checks JSON bodies and records what
  it received; it can be told to expire tokens, reject the next uses with 40001, delay
  token answers, or refuse messages to an openid with 45015/45047;
* the callback sender: builds message XML, signs it, encrypts it in compatible/secure
  mode and POSTs it to the adapter's URL, retrying like WeChat does (5 s timeout).

Its signing and AES code is written separately from ``chatbridge.wechat_crypto`` on
purpose (``cryptography``'s PKCS7 padder here, hand-made padding there), so a mistake
in one is not mirrored by the other; the official WXBizMsgCrypt sample vector in the
tests anchors both.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "CallbackReply",
    "SendRecord",
    "UploadRecord",
    "WeChatStandIn",
    "event_xml",
    "image_xml",
    "location_xml",
    "new_aes_key",
    "text_xml",
    "voice_xml",
]

MODES = ("plaintext", "compatible", "secure")


def new_aes_key() -> str:
    """A random EncodingAESKey as the WeChat console makes them: 43 letters/digits."""
    while True:
        text = base64.b64encode(os.urandom(32)).decode("ascii").rstrip("=")
        if text.isalnum():
            return text


# ---------------------------------------------------------------- message builders


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _message(to: str, sender: str, create_time: int | None, msg_type: str,
             body: str) -> str:
    stamp = int(time.time()) if create_time is None else create_time
    return (f"<xml><ToUserName>{_cdata(to)}</ToUserName>"
            f"<FromUserName>{_cdata(sender)}</FromUserName>"
            f"<CreateTime>{stamp}</CreateTime><MsgType>{_cdata(msg_type)}</MsgType>"
            f"{body}</xml>")


def text_xml(sender: str, content: str, msg_id: int, *, to: str = "gh_standin0001",
             create_time: int | None = None) -> str:
    return _message(to, sender, create_time, "text",
                    f"<Content>{_cdata(content)}</Content><MsgId>{msg_id}</MsgId>")


def image_xml(sender: str, media_id: str, msg_id: int, *, pic_url: str = "",
              to: str = "gh_standin0001", create_time: int | None = None) -> str:
    return _message(to, sender, create_time, "image",
                    f"<PicUrl>{_cdata(pic_url)}</PicUrl><MediaId>{_cdata(media_id)}</MediaId>"
                    f"<MsgId>{msg_id}</MsgId>")


def voice_xml(sender: str, media_id: str, msg_id: int, *, fmt: str = "amr",
              recognition: str | None = None, to: str = "gh_standin0001",
              create_time: int | None = None) -> str:
    extra = "" if recognition is None else f"<Recognition>{_cdata(recognition)}</Recognition>"
    return _message(to, sender, create_time, "voice",
                    f"<MediaId>{_cdata(media_id)}</MediaId><Format>{_cdata(fmt)}</Format>"
                    f"{extra}<MsgId>{msg_id}</MsgId>")


def location_xml(sender: str, lat: float, lon: float, msg_id: int, *, scale: int = 15,
                 label: str = "", to: str = "gh_standin0001",
                 create_time: int | None = None) -> str:
    return _message(to, sender, create_time, "location",
                    f"<Location_X>{lat}</Location_X><Location_Y>{lon}</Location_Y>"
                    f"<Scale>{scale}</Scale><Label>{_cdata(label)}</Label>"
                    f"<MsgId>{msg_id}</MsgId>")


def event_xml(sender: str, event: str, *, event_key: str | None = None,
              ticket: str | None = None, to: str = "gh_standin0001",
              create_time: int | None = None) -> str:
    body = f"<Event>{_cdata(event)}</Event>"
    if event_key is not None:
        body += f"<EventKey>{_cdata(event_key)}</EventKey>"
    if ticket is not None:
        body += f"<Ticket>{_cdata(ticket)}</Ticket>"
    return _message(to, sender, create_time, "event", body)


# ------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SendRecord:
    touser: str
    msgtype: str
    payload: dict[str, Any]
    raw: bytes
    content_type: str


@dataclass(frozen=True)
class UploadRecord:
    media_type: str
    media_id: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class CallbackReply:
    """What the adapter answered one callback POST/GET; ``status`` None = timed out."""

    status: int | None
    text: str
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.text == "success"


@dataclass
class _Token:
    value: str
    expires_at: float


@dataclass
class WeChatStandIn:
    app_id: str = "wx5823bf96d3bd56c7"
    app_secret: str = "standin-app-secret"
    token: str = "standinToken42"
    encoding_aes_key: str = field(default_factory=new_aes_key)
    account: str = "gh_standin0001"
    token_ttl_s: int = 7200

    # what it saw
    token_requests: int = 0
    sends: list[SendRecord] = field(default_factory=list)
    uploads: list[UploadRecord] = field(default_factory=list)
    media_gets: list[str] = field(default_factory=list)
    api_errors: list[tuple[str, int]] = field(default_factory=list)
    # what it was told
    token_delay_s: float = 0.0
    media_chunked: bool = False  # serve media/get without Content-Length
    closed_windows: dict[str, int] = field(default_factory=dict)
    media: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)

    _tokens: dict[str, _Token] = field(default_factory=dict, repr=False)
    _reject_next: list[int] = field(default_factory=list, repr=False)
    _runner: web.AppRunner | None = field(default=None, repr=False)
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)
    _port: int = 0

    # ----------------------------------------------------------------- life cycle

    async def start(self) -> WeChatStandIn:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_get("/cgi-bin/token", self._token_endpoint)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()
        return self

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> WeChatStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # -------------------------------------------------------------------- controls

    def expire_tokens(self) -> None:
        """Every token issued so far is expired from now on (42001)."""
        for token in self._tokens.values():
            token.expires_at = 0.0

    def reject_next_token_uses(self, errcode: int = 40001, count: int = 1) -> None:
        """The next ``count`` API calls with a valid token answer ``errcode`` instead, as
        WeChat does when a token was superseded by a fetch elsewhere. The token is then
        invalid for good (only a new one works)."""
        self._reject_next.extend([errcode] * count)

    def close_window(self, openid: str, errcode: int = 45015) -> None:
        """custom/send to ``openid`` answers ``errcode`` (45015, 45047, 43004...)."""
        self.closed_windows[openid] = errcode

    def add_media(self, data: bytes, content_type: str = "image/jpeg",
                  filename: str = "media.jpg") -> str:
        media_id = "MEDIA_" + secrets.token_urlsafe(24)
        self.media[media_id] = (data, content_type, filename)
        return media_id

    @property
    def live_tokens(self) -> list[str]:
        now = time.monotonic()
        return [t.value for t in self._tokens.values() if t.expires_at > now]

    # ---------------------------------------------------------------- API endpoints

    @staticmethod
    def _error(errcode: int, errmsg: str) -> web.Response:
        # Like WeChat: HTTP 200, JSON body, often served as text/plain.
        return web.Response(text=json.dumps({"errcode": errcode, "errmsg": errmsg}),
                            content_type="text/plain")

    def _check_token(self, request: web.Request, endpoint: str) -> web.Response | None:
        value = request.query.get("access_token")
        if not value:
            reply = (41001, "access_token missing")
        elif value not in self._tokens:
            reply = (40001, "invalid credential, access_token is invalid or not latest")
        elif self._tokens[value].expires_at <= time.monotonic():
            reply = (42001, "access_token expired")
        elif self._reject_next:
            errcode = self._reject_next.pop(0)
            del self._tokens[value]  # superseded: this token never works again
            reply = (errcode, "invalid credential, access_token is invalid or not latest")
        else:
            return None
        self.api_errors.append((endpoint, reply[0]))
        return self._error(*reply)

    async def _token_endpoint(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if self.token_delay_s:
            await asyncio.sleep(self.token_delay_s)
        query = request.query
        if query.get("grant_type") != "client_credential":
            return self._error(40002, "invalid grant_type")
        if query.get("appid") != self.app_id:
            return self._error(40013, "invalid appid")
        if query.get("secret") != self.app_secret:
            return self._error(40125, "invalid appsecret")
        value = f"ACCESS_TOKEN_{self.token_requests}_{secrets.token_urlsafe(16)}"
        self._tokens[value] = _Token(value, time.monotonic() + self.token_ttl_s)
        return web.json_response({"access_token": value, "expires_in": self.token_ttl_s})

    async def _custom_send(self, request: web.Request) -> web.Response:
        if (refused := self._check_token(request, "custom/send")) is not None:
            return refused
        raw = await request.read()
        if not raw:
            return self._error(44002, "empty post data")
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._error(47001, "data format error")
        if not isinstance(payload, dict) or not isinstance(payload.get("touser"), str):
            return self._error(47001, "data format error")
        msgtype = payload.get("msgtype")
        part = payload.get(msgtype) if isinstance(msgtype, str) else None
        if msgtype not in ("text", "image", "voice") or not isinstance(part, dict):
            return self._error(40008, "invalid message type")
        if msgtype == "text" and not (isinstance(part.get("content"), str)
                                      and part["content"]):
            return self._error(44003, "empty news data")
        if msgtype in ("image", "voice") and part.get("media_id") not in self.media:
            return self._error(40007, "invalid media_id")
        touser = payload["touser"]
        if not touser.startswith("o") or len(touser) < 10:
            return self._error(40003, "invalid openid")
        if touser in self.closed_windows:
            errcode = self.closed_windows[touser]
            self.api_errors.append(("custom/send", errcode))
            return self._error(errcode, {45015: "response out of time limit or subscription "
                                                "is canceled",
                                         45047: "out of response count limit"}.get(
                                                    errcode, "refused"))
        self.sends.append(SendRecord(touser, msgtype, payload, raw,
                                     request.headers.get("Content-Type", "")))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _media_upload(self, request: web.Request) -> web.Response:
        if (refused := self._check_token(request, "media/upload")) is not None:
            return refused
        media_type = request.query.get("type", "")
        if media_type not in ("image", "voice", "video", "thumb"):
            return self._error(40004, "invalid media type")
        if not request.content_type.startswith("multipart/"):
            return self._error(41005, "media data missing")
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, aiohttp.BodyPartReader) and part.name == "media":
                data = await part.read(decode=False)
                media_id = "MEDIA_" + secrets.token_urlsafe(24)
                content_type = part.headers.get("Content-Type")
                self.media[media_id] = (bytes(data), content_type or "application/octet-stream",
                                        part.filename or "media")
                self.uploads.append(UploadRecord(media_type, media_id, part.filename,
                                                 content_type, bytes(data)))
                return web.json_response({"type": media_type, "media_id": media_id,
                                          "created_at": int(time.time())})
        return self._error(41005, "media data missing")

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._check_token(request, "media/get")) is not None:
            return refused
        media_id = request.query.get("media_id", "")
        self.media_gets.append(media_id)
        if media_id not in self.media:
            return self._error(40007, "invalid media_id")
        data, content_type, filename = self.media[media_id]
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if not self.media_chunked:
            return web.Response(body=data, content_type=content_type, headers=headers)
        response = web.StreamResponse(headers={**headers, "Content-Type": content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), 1024):
            await response.write(data[start:start + 1024])
        await response.write_eof()
        return response

    # -------------------------------------------------------------- callback side

    @property
    def _key(self) -> bytes:
        return base64.b64decode(self.encoding_aes_key + "=")

    def sign(self, *parts: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, *parts])).encode()).hexdigest()

    def encrypt(self, text: str, *, app_id: str | None = None) -> str:
        raw = text.encode("utf-8")
        plain = (os.urandom(16) + struct.pack(">I", len(raw)) + raw
                 + (self.app_id if app_id is None else app_id).encode())
        padder = padding.PKCS7(256).padder()  # 256 bits = WeChat's 32-byte blocks
        padded = padder.update(plain) + padder.finalize()
        enc = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(enc.update(padded) + enc.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        """Decrypt what the adapter encrypted (a passive reply), checking our appid."""
        dec = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        padded = dec.update(base64.b64decode(encrypted)) + dec.finalize()
        unpadder = padding.PKCS7(256).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        (length,) = struct.unpack(">I", plain[16:20])
        if plain[20 + length:].decode() != self.app_id:
            raise ValueError("reply encrypted for another appid")
        return plain[20:20 + length].decode("utf-8")

    def callback_request(self, xml: str, *, mode: str, timestamp: int | None = None,
                         nonce: str | None = None, app_id: str | None = None,
                         ) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of one callback POST, as WeChat sends them."""
        if mode not in MODES:
            raise ValueError(mode)
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or str(secrets.randbelow(10**9))
        params = {"signature": self.sign(stamp, nonce), "timestamp": stamp, "nonce": nonce,
                  "openid": _field(xml, "FromUserName")}
        if mode == "plaintext":
            return params, xml.encode("utf-8")
        encrypt = self.encrypt(xml, app_id=app_id)
        params["encrypt_type"] = "aes"
        params["msg_signature"] = self.sign(stamp, nonce, encrypt)
        envelope = f"<Encrypt>{_cdata(encrypt)}</Encrypt>"
        if mode == "secure":
            body = f"<xml><ToUserName>{_cdata(self.account)}</ToUserName>{envelope}</xml>"
        else:
            body = xml.replace("</xml>", envelope + "</xml>")
        return params, body.encode("utf-8")

    async def post(self, url: str, params: dict[str, str], body: bytes, *,
                   timeout: float = 5.0) -> CallbackReply:
        """One raw POST to the adapter, with WeChat's 5 s patience by default."""
        assert self._session is not None, "start() the stand-in first"
        started = time.monotonic()
        try:
            async with self._session.post(url, params=params, data=body,
                                          headers={"Content-Type": "text/xml"},
                                          timeout=aiohttp.ClientTimeout(total=timeout)) as r:
                text = await r.text()
                return CallbackReply(r.status, text, time.monotonic() - started)
        except TimeoutError:
            return CallbackReply(None, "", time.monotonic() - started)

    async def push(self, url: str, xml: str, *, mode: str, timeout: float = 5.0,
                   **signing: Any) -> CallbackReply:
        params, body = self.callback_request(xml, mode=mode, **signing)
        return await self.post(url, params, body, timeout=timeout)

    async def push_with_retries(self, url: str, xml: str, *, mode: str, attempts: int = 3,
                                timeout: float = 5.0, retry_even_if_ok: bool = False,
                                ) -> list[CallbackReply]:
        """Deliver like WeChat: a new attempt when one is not answered ``success`` in
        ``timeout`` seconds, up to ``attempts``; ``retry_even_if_ok`` sends them all
        (an answer lost on the way back looks like that to the adapter)."""
        replies: list[CallbackReply] = []
        for _ in range(attempts):
            reply = await self.push(url, xml, mode=mode, timeout=timeout)
            replies.append(reply)
            if reply.ok and not retry_even_if_ok:
                break
        return replies

    async def verify_url(self, url: str, *, echostr: str, encrypted: bool = False,
                         timestamp: int | None = None) -> CallbackReply:
        """The console's URL check (GET); ``encrypted`` sends echostr encrypted and signed
        with msg_signature, as secure mode does."""
        assert self._session is not None, "start() the stand-in first"
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = str(secrets.randbelow(10**9))
        params = {"signature": self.sign(stamp, nonce), "timestamp": stamp, "nonce": nonce,
                  "echostr": echostr}
        if encrypted:
            params["echostr"] = self.encrypt(echostr)
            params["msg_signature"] = self.sign(stamp, nonce, params["echostr"])
        started = time.monotonic()
        async with self._session.get(url, params=params) as r:
            return CallbackReply(r.status, await r.text(), time.monotonic() - started)


def _field(xml: str, name: str) -> str:
    start = xml.find(f"<{name}>")
    end = xml.find(f"</{name}>")
    if start < 0 or end < 0:
        return ""
    value = xml[start + len(name) + 2:end]
    if value.startswith("<![CDATA[") and value.endswith("]]>"):
        value = value[9:-3]
    return value
