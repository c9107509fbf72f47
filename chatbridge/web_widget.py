"""The web widget's channel: visitors' WebSockets and their HTTP requests.

The widget is a page of this server (``/chat/widget``) that the company's site embeds
with one script tag (``/chat/widget.js`` adds it as an iframe). Everything it calls is
therefore same-origin; who may embed it is the page's CSP ``frame-ancestors``
(``chat.web.allowed_origins``), and what a visitor may touch is decided by the
conversation's token, which only that visitor's browser holds (its SHA-256 is stored).

Socket protocol (``GET /api/widget/ws``, JSON text frames):

* first frame in: ``{"t": "auth", "conversation", "token", "since"}`` (within 10 s);
  answer ``{"t": "hello", "conversation": {...}, "messages": [...after since]}``
  (``conversation.mail_to``: the masked address a transcript may be e-mailed to, or null);
* in: ``msg {id, text}`` (``id``: the visitor's own id for the message: a message sent
  twice, e.g. again after a reconnect, is stored once) -> ``ack {id, mid, at}``;
  ``typing {on}``; ``got {upto}`` / ``read {upto}`` (agent messages received / seen);
  ``ping`` -> ``pong``;
* out: ``msg`` (from the agent, or the visitor's own from another tab), ``typing``,
  ``read {upto}`` (the agent read up to), ``status {status, agent?, reason?}``,
  ``error {code, id?}``.

Close codes: 4001 no or bad auth, 4004 unknown conversation, 1008 flooding or garbage,
1009 a frame over ``max_frame_bytes``, 1007 invalid UTF-8 (aiohttp), 1003 binary frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import WSCloseCode, WSMsgType, web

from callcenter.config.models import WebChatConfig
from callcenter.errors import FieldError
from callcenter.storage import mask_identity
from callcenter.webkit.endpoints import origin_allowed

from .conversation import Conversation
from .files import FileRefused, check_upload
from .mail import MailError, send_text_mail
from .services import (
    ChatService,
    Conflict,
    Gone,
    NotAllowed,
    Throttled,
    Unavailable,
    hash_token,
    visitor_message,
)

__all__ = ["VisitorLink", "WebWidget"]

log = logging.getLogger("chatbridge.web")

AUTH_TIMEOUT = 10.0
HEARTBEAT = 55.0
MAX_SOCKETS = 4  # per conversation (tabs)
BAD_FRAMES = 20  # garbage frames tolerated on one socket
HISTORY = 500  # messages sent on (re)connect, at most
MAILED_REMEMBERED = 10_000  # conversations whose transcript e-mails are counted
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VISITOR_KEY = re.compile(r"[A-Za-z0-9_-]{32,64}")
CLOSE_AUTH = 4001
CLOSE_UNKNOWN = 4004

_STRINGS = {
    "zh": {"you": "您", "system": "系统", "title": "会话记录", "agent": "客服"},
    "en": {"you": "You", "system": "System", "title": "Chat transcript", "agent": "Agent"},
}


@dataclass(slots=True, eq=False)
class VisitorLink:
    """One socket of one visitor (a tab)."""

    ws: web.WebSocketResponse
    conv: Conversation
    bad: int = 0


class WebWidget:
    medium = "web"

    def __init__(self, service: ChatService) -> None:
        self.service = service
        self.links: dict[str, list[VisitorLink]] = {}
        self._mailed: dict[str, int] = {}  # conversation -> transcript e-mails tried

    def settings(self) -> WebChatConfig:
        return self.service.config().callcenter.chat.web

    def enabled(self) -> None:
        if not self.settings().enabled:
            raise Gone("the chat widget is not enabled")

    async def ready(self) -> None:
        self.enabled()

    def page_policy(self, request: web.Request) -> str:
        """The widget page's CSP: framed only by the allowed sites (and this one)."""
        config = self.service.config().callcenter
        ancestors = " ".join(dict.fromkeys(["'self'", config.web.public_origin,
                                            *config.chat.web.allowed_origins]))
        host = request.host
        return ("default-src 'self'; script-src 'self'; style-src 'self'; "
                "img-src 'self' blob: data:; "
                f"connect-src 'self' ws://{host} wss://{host}; "
                f"frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'")

    # ------------------------------------------------------------------ out (Visitors)

    async def message(self, conv: Conversation, frame: dict[str, Any]) -> None:
        await self._send(conv, frame)

    async def event(self, conv: Conversation, frame: dict[str, Any]) -> None:
        await self._send(conv, frame)

    async def _send(self, conv: Conversation, frame: dict[str, Any],
                    skip: VisitorLink | None = None) -> None:
        links = self.links.get(conv.id)
        if not links:
            return
        text = json.dumps(frame, ensure_ascii=False)
        for link in list(links):
            if link is skip:
                continue
            with contextlib.suppress(ConnectionError, RuntimeError):
                await link.ws.send_str(text)

    # ------------------------------------------------------------------ HTTP: start

    async def public_config(self) -> dict[str, Any]:
        self.enabled()
        cfg = self.settings()
        now = self.service.clock()
        return {"topics": [{"id": t.id, "label": {"zh": t.label.get("zh"),
                                                  "en": t.label.get("en")},
                            "live": self.service.queue_allows_live(t.queue, now) is None}
                           for t in cfg.topics],
                "require_contact": cfg.require_contact,
                "uploads": {"enabled": cfg.uploads.enabled, "max_bytes": cfg.uploads.max_bytes,
                            "types": list(cfg.uploads.types)},
                "max_message_chars": cfg.limits.max_message_chars}

    async def start(self, form: Any, remote: str) -> dict[str, Any]:
        """The pre-chat form: a new conversation (and, if needed, a new customer)."""
        self.enabled()
        cfg = self.settings()
        topic = next((t for t in cfg.topics if t.id == form.topic), None)
        if topic is None:
            raise FieldError("topic", f"choose one of {', '.join(t.id for t in cfg.topics)}")
        if cfg.require_contact and not (form.phone or form.email):
            raise FieldError("phone", "give a phone number or an e-mail address")
        service = self.service
        service.new_chat_allowed(remote)
        visitor = form.visitor if form.visitor and _VISITOR_KEY.fullmatch(form.visitor) \
            else secrets.token_urlsafe(32)
        store = service.store
        customer = await store.find_or_create_customer("web_visitor", hash_token(visitor),
                                                       form.name or None)
        claims: list[list[str]] = []
        for kind, value in (("phone", form.phone), ("email", form.email)):
            if not value:
                continue
            owner = await store.find_customer(kind, value)
            if owner is None:
                customer = await store.link_identity(customer.id, kind, value)
            elif owner.id != customer.id:
                claims.append([kind, value])  # someone else's: the agent decides (merge)
        token, token_hash = service.new_token()
        conv = await service.open_conversation(
            medium="web", address=hash_token(visitor), customer_id=customer.id,
            queue=topic.queue, skills=dict(topic.skills), topic=topic.id,
            language=form.language, token_hash=token_hash, claims=claims)
        if form.message:
            await service.customer_message(conv, source="web", external_id=f"{conv.id}:first",
                                           text=form.message.strip())
        reason = await service.enqueue(conv)
        log.info("chat.web_started", extra={"conversation": conv.id, "topic": topic.id,
                                            "claims": [mask_identity(k, v) for k, v in claims],
                                            "status": conv.status})
        return {"conversation_id": conv.id, "token": token, "visitor": visitor,
                "status": conv.status, "reason": reason}

    # ------------------------------------------------------------------ HTTP: after start

    async def _visitor(self, conversation_id: str, token: str | None) -> tuple[Any, Any]:
        self.enabled()
        return await self.service.visitor_conversation(conversation_id, token)

    async def upload(self, conversation_id: str, token: str | None, name: str | None,
                     content_type: str, read: Any, client_id: str | None) -> dict[str, Any]:
        conv, _ = await self._visitor(conversation_id, token)
        cfg = self.settings().uploads
        if not cfg.enabled:
            raise Conflict("sending files is not enabled")
        if conv is None or not conv.open:
            raise Conflict("the conversation has ended")
        if conv.files >= cfg.per_conversation:
            raise FileRefused(429, f"at most {cfg.per_conversation} files in one chat")
        data = await read(cfg.max_bytes)
        upload = check_upload(name, content_type, data, allowed=cfg.types,
                              max_bytes=cfg.max_bytes)
        cid = client_id if client_id and _CLIENT_ID.fullmatch(client_id) else \
            f"file-{upload.sha256[:32]}"
        m, file = await self.service.customer_file(conv, upload, source="web",
                                                   external_id=f"{conv.id}:{cid}")
        frame = visitor_message(m, file, None)
        await self._send(conv, frame)
        return frame

    async def file(self, conversation_id: str, token: str | None, file_id: int) -> Any:
        await self._visitor(conversation_id, token)
        file = await self.service.store.get_chat_file(file_id)
        if file is None or file.conversation_id != conversation_id:
            raise Gone("no such file in this conversation")
        return file

    async def rate(self, conversation_id: str, token: str | None, score: int,
                   comment: str | None) -> dict[str, Any]:
        _, rec = await self._visitor(conversation_id, token)
        if rec.rating is not None:
            raise Conflict("this conversation has been rated already")
        if rec.agent_id is None:
            raise Conflict("nobody served this conversation yet")
        await self.service.store.update_conversation(rec.id, rating=score,
                                                     rating_comment=comment or None)
        if rec.interaction_id is not None:  # reports read every channel's CSAT from one table
            await self.service.store.record_csat(rec.interaction_id, score, source="widget",
                                                 comment=comment or None)
        log.info("chat.rated", extra={"conversation": rec.id, "score": score})
        return {"conversation_id": rec.id, "rating": score}

    async def end(self, conversation_id: str, token: str | None) -> dict[str, Any]:
        conv, rec = await self._visitor(conversation_id, token)
        if conv is not None and conv.open:
            await self.service.customer_left(conv, "visitor")
        return {"conversation_id": rec.id, "status": "ended"}

    async def transcript(self, conversation_id: str, token: str | None) -> str:
        _, rec = await self._visitor(conversation_id, token)
        service = self.service
        words = _STRINGS.get(rec.language or "zh", _STRINGS["zh"])
        zone = ZoneInfo(service.config().callcenter.timezone)
        messages = await service.store.conversation_messages(rec.id)
        when = datetime.fromtimestamp(rec.created_at, zone).strftime("%Y-%m-%d %H:%M")
        lines = [f"{words['title']} · {when}", ""]
        for m in messages:
            who = words["you"] if m.direction == "in" else \
                (service.agent_name(m.sender) if m.sender != "system" else words["system"])
            at = datetime.fromtimestamp(m.created_at, zone).strftime("%H:%M:%S")
            body = m.body if m.content_type == "text" else f"[{m.content_type}] {m.body}"
            lines.append(f"[{at}] {who}: {body}")
        return "\n".join(lines) + "\n"

    async def _mail_address(self, rec: Any) -> str | None:
        """Where the transcript may be e-mailed: the address the visitor gave in this
        chat's form (a claim), else their customer record's (given by this browser
        before, or an agent merged them with its owner). Never one typed at the end."""
        claimed = [value for kind, value in rec.claims if kind == "email"]
        if claimed:
            return claimed[-1]
        customer = await self.service.store.get_customer(rec.customer_id) \
            if rec.customer_id is not None else None
        known = [i.value for i in (customer.identities if customer else ()) if i.kind == "email"]
        return known[-1] if known else None

    async def _mail_to(self, rec: Any) -> str | None:
        """The masked address the widget offers to e-mail the transcript to, if any."""
        if not self.settings().transcript_email.enabled:
            return None
        address = await self._mail_address(rec)
        return mask_identity("email", address) if address else None

    async def mail_transcript(self, conversation_id: str, token: str | None) -> dict[str, Any]:
        """The transcript to the visitor's own address (``chat.web.transcript_email``)."""
        self.enabled()
        cfg = self.settings().transcript_email
        if not cfg.enabled:
            raise Gone("e-mailing transcripts is not enabled: download it instead")
        _, rec = await self._visitor(conversation_id, token)
        address = await self._mail_address(rec)
        if address is None:
            raise Conflict("no e-mail address was given for this chat: download it instead")
        sent = self._mailed.get(rec.id, 0)
        if sent >= cfg.per_conversation:
            raise Throttled(f"at most {cfg.per_conversation} transcripts by e-mail per chat",
                            retry_after=3600)
        text = await self.transcript(conversation_id, token)
        subject = text.split("\n", 1)[0]
        masked = mask_identity("email", address)
        self._mailed[rec.id] = sent + 1  # tries count: a failing relay is not hammered
        while len(self._mailed) > MAILED_REMEMBERED:
            self._mailed.pop(next(iter(self._mailed)))
        try:
            await send_text_mail(cfg, address, subject, text)
        except MailError as exc:
            log.warning("chat.transcript_mail_failed", extra={"conversation": rec.id,
                                                              "to": masked, "error": str(exc)})
            raise Unavailable(f"{exc}; download the transcript instead") from None
        log.info("chat.transcript_mailed", extra={"conversation": rec.id, "to": masked})
        return {"conversation_id": rec.id, "to": masked}

    # ------------------------------------------------------------------ the socket

    async def socket(self, request: web.Request) -> web.StreamResponse:
        self.enabled()
        cfg = self.settings()
        if not origin_allowed(request, self.service.config().callcenter.web.public_origin):
            # Only the widget's own page (this server) opens visitors' sockets: a page of
            # another site holding a stolen token cannot use it from a browser.
            raise NotAllowed("visitors' sockets open from the widget's page only")
        ws = web.WebSocketResponse(max_msg_size=cfg.limits.max_frame_bytes, heartbeat=HEARTBEAT)
        await ws.prepare(request)
        link = None
        try:
            link = await self._authenticate(ws)
            if link is None:
                return ws
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    if not await self._frame(link, msg.data):
                        break
                elif msg.type == WSMsgType.BINARY:
                    await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"text frames only")
                    break
        finally:
            if link is not None:
                await self._detach(link)
        return ws

    async def _authenticate(self, ws: web.WebSocketResponse) -> VisitorLink | None:
        try:
            msg = await ws.receive(timeout=AUTH_TIMEOUT)
        except TimeoutError:
            await ws.close(code=CLOSE_AUTH, message=b"authenticate first")
            return None
        frame = _json(msg.data) if msg.type == WSMsgType.TEXT else None
        if not frame or frame.get("t") != "auth" or not isinstance(frame.get("token"), str) \
                or not isinstance(frame.get("conversation"), str):
            await ws.close(code=CLOSE_AUTH, message=b"authenticate first")
            return None
        try:
            conv, rec = await self.service.visitor_conversation(frame["conversation"],
                                                                frame["token"])
        except Gone:
            await ws.close(code=CLOSE_UNKNOWN, message=b"unknown conversation")
            return None
        since = frame.get("since") if isinstance(frame.get("since"), int) else 0
        if conv is None or not conv.open:
            await ws.send_str(json.dumps(await self._hello(rec, None, since),
                                         ensure_ascii=False))
            await ws.close(code=WSCloseCode.OK, message=b"ended")
            return None
        links = self.links.setdefault(conv.id, [])
        if len(links) >= MAX_SOCKETS:
            old = links.pop(0)
            await old.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too many tabs")
            conv.online -= 1
        link = VisitorLink(ws, conv)
        links.append(link)
        conv.online += 1
        conv.last_seen_at = self.service.clock()
        conv.dirty = True
        await ws.send_str(json.dumps(await self._hello(rec, conv, since), ensure_ascii=False))
        if conv.online == 1:
            self.service.notifier.conversation(conv, self.service.summary(conv))
        return link

    async def _hello(self, rec: Any, conv: Conversation | None, since: int) -> dict[str, Any]:
        service = self.service
        messages = await service.store.conversation_messages(rec.id, after=max(0, since),
                                                             limit=HISTORY)
        files = await service.store.files_of_messages(m.id for m in messages
                                                      if m.content_type != "text")
        status = conv.status if conv is not None else rec.status
        agent = conv.agent_id if conv is not None else rec.agent_id
        cfg = self.settings()
        return {"t": "hello",
                "conversation": {"id": rec.id, "status": status,
                                 "agent": service.agent_name(agent) if agent else None,
                                 "queue_name": service.customers.queue_name(rec.queue),
                                 "topic": rec.topic, "language": rec.language,
                                 "rated": rec.rating is not None,
                                 "agent_read": conv.agent_read if conv else rec.agent_read,
                                 "uploads": cfg.uploads.enabled,
                                 "mail_to": await self._mail_to(rec),
                                 "max_message_chars": cfg.limits.max_message_chars},
                "messages": [visitor_message(m, files.get(m.id),
                                             service.agent_name(m.sender)
                                             if m.direction == "out" else None)
                             for m in messages]}

    async def _detach(self, link: VisitorLink) -> None:
        links = self.links.get(link.conv.id)
        if links is None or link not in links:
            return
        links.remove(link)
        if not links:
            del self.links[link.conv.id]
        conv = link.conv
        conv.online = max(0, conv.online - 1)
        conv.last_seen_at = self.service.clock()
        conv.dirty = True
        if conv.online == 0 and conv.open:
            self.service.notifier.conversation(conv, self.service.summary(conv))

    async def _frame(self, link: VisitorLink, text: str) -> bool:
        """Handle one frame; False to close the socket."""
        frame = _json(text)
        kind = frame.get("t") if frame else None
        conv = link.conv
        service = self.service
        if kind == "msg":
            return await self._msg(link, frame or {})
        if kind == "typing" and conv.open:
            service.customer_typing(conv, bool((frame or {}).get("on")))
        elif kind in ("got", "read") and isinstance((frame or {}).get("upto"), int):
            service.customer_saw(conv, kind, int((frame or {})["upto"]))
        elif kind == "ping":
            await link.ws.send_str('{"t":"pong"}')
        else:
            return await self._bad(link, "bad_frame")
        return True

    async def _msg(self, link: VisitorLink, frame: dict[str, Any]) -> bool:
        conv, service = link.conv, self.service
        cid, text = frame.get("id"), frame.get("text")
        if not isinstance(cid, str) or not _CLIENT_ID.fullmatch(cid) or \
                not isinstance(text, str) or not text.strip():
            return await self._bad(link, "bad_message", cid if isinstance(cid, str) else None)
        if len(text) > self.settings().limits.max_message_chars:
            await self._error(link, "too_long", cid)
            return True
        if not conv.open:
            await self._error(link, "ended", cid)
            return True
        if not service.check_rate(conv):
            limit = self.settings().limits.messages_per_minute
            assert conv.bucket is not None
            if conv.bucket.debt > 2 * limit:
                log.warning("chat.visitor_flooding", extra={"conversation": conv.id})
                await link.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"flooding")
                return False
            await self._error(link, "rate_limited", cid)
            return True
        m = await service.customer_message(conv, source="web", external_id=f"{conv.id}:{cid}",
                                           text=text.strip())
        await link.ws.send_str(json.dumps({"t": "ack", "id": cid, "mid": m.id,
                                           "at": m.created_at}))
        if not m.duplicate and len(self.links.get(conv.id, ())) > 1:
            await self._send(conv, visitor_message(m, None, None), skip=link)
        return True

    async def _error(self, link: VisitorLink, code: str, cid: str | None = None) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await link.ws.send_str(json.dumps({"t": "error", "code": code, "id": cid}))

    async def _bad(self, link: VisitorLink, code: str, cid: str | None = None) -> bool:
        link.bad += 1
        if link.bad > BAD_FRAMES:
            await link.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"garbage")
            return False
        await self._error(link, code, cid)
        return True

    async def close_all(self) -> None:
        for links in list(self.links.values()):
            for link in list(links):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(link.ws.close(code=WSCloseCode.GOING_AWAY,
                                                         message=b"server shutdown"), 2)


def _json(text: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None

