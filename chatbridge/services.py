"""The chat feature's core: conversations from every chat channel as tasks of the one engine.

``ChatService`` is what the channels hand their customers' messages to (the widget,
``AccountChannel`` for WeChat) and what ``QueueSide`` (the engine's decisions and events)
and ``ChatDesk`` (the staff's side, ``staff.py``) work on. A conversation starts from the
widget's pre-chat form or a WeChat follower's first message; each queue visit is an
interaction and an engine task. When no live chat is possible (closed, nobody signed in,
the task left the queue) it waits as a message for later.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import acd
from callcenter.agents.notifier import OfferNotifier
from callcenter.agents.services import AgentService
from callcenter.config.models import Config
from callcenter.customers.services import CustomerService
from callcenter.routing.services import RoutingService
from callcenter.storage import Message, Store, mask_identity
from callcenter.storage.chats import ChatFile, NewMessage

from .conversation import Conversation, Conversations
from .files import Upload
from .limits import AddressWindow, Bucket
from .notifier import ChatNotifier, file_dict, staff_message

__all__ = ["ChatError", "ChatService", "Conflict", "Gone", "NotAllowed", "Throttled",
           "Unavailable", "hash_token"]

log = logging.getLogger("chatbridge")

CLIENT_ID_MAX = 64
TYPING_GAP = 2.0  # a visitor's "still typing" reaches the agent at most this often


class ChatError(Exception):
    status = 409


class NotAllowed(ChatError):
    status = 403


class Gone(ChatError):
    status = 404


class Conflict(ChatError):
    status = 409


class Throttled(ChatError):
    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))


class Unavailable(ChatError):
    status = 503


class Visitors(Protocol):
    """The live side of a channel (the widget's sockets): what the visitor sees now."""

    async def message(self, conv: Conversation, frame: dict[str, Any]) -> None: ...

    async def event(self, conv: Conversation, frame: dict[str, Any]) -> None: ...


class Callbacks(Protocol):
    """The voice feature's way to call a customer back through a queue."""

    async def request_callback(self, number: str, queue: str, *, customer_id: int | None,
                               origin: str) -> str: ...


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def visitor_message(m: Message, file: ChatFile | None, name: str | None) -> dict[str, Any]:
    """A message as the widget shows it (no agent ids, the visitor's own client id)."""
    cid = m.external_id.partition(":")[2] if m.direction == "in" and m.external_id else None
    return {"t": "msg", "mid": m.id, "from": "visitor" if m.direction == "in" else "agent",
            "name": name, "text": m.body, "type": m.content_type, "at": m.created_at,
            "cid": cid, "file": file_dict(file)}


class ChatService:
    def __init__(self, *, store: Store, routing: RoutingService, config: Callable[[], Config],
                 clock: Callable[[], float], notifier: ChatNotifier, offers: OfferNotifier,
                 agents: AgentService, customers: CustomerService) -> None:
        self.store = store
        self.routing = routing
        self.config = config
        self.clock = clock
        self.notifier = notifier
        self.offers = offers
        self.agents = agents
        self.customers = customers
        self.convs = Conversations(store)
        self.visitors: dict[str, Visitors] = {}  # medium -> its live side (web)
        self.on_ended: list[Callable[[Conversation, str], Awaitable[None]]] = []
        """Run once a conversation has ended (a channel asking the customer for a rating)."""
        self.senders: dict[str, Any] = {}  # medium -> ChatAdapter (wechat) for outbound
        self._new_chats: AddressWindow | None = None

    # ------------------------------------------------------------------ names

    def agent_name(self, sender: str | None) -> str | None:
        if not sender:
            return None
        agent = self.config().agent(sender)
        return agent.name if agent is not None else sender

    def queue_allows_live(self, queue_id: str, now: float) -> str | None:
        """Why a live chat cannot wait in this queue now (closed / nobody), or None."""
        config = self.config()
        queue = config.queues.get(queue_id)
        if queue is None or not queue.chat:
            return "unknown_queue"
        hours = queue.business_hours
        if hours is not None and not hours.is_open(datetime.fromtimestamp(now, UTC)):
            return "closed"
        present = {v.agent_id for v in self.routing.agents()
                   if v.presence != acd.Presence.LOGGED_OUT}
        if not any(a.id in present and a.takes_chat for a in config.eligible_agents(queue_id)):
            return "nobody"
        return None

    # ------------------------------------------------------------------ conversations

    async def open_conversation(self, *, medium: str, address: str, customer_id: int | None,
                                queue: str, skills: dict[str, int] | None = None,
                                topic: str | None = None, language: str = "zh",
                                token_hash: str | None = None,
                                claims: list[list[str]] | None = None) -> Conversation:
        now = self.clock()
        conv = Conversation(id=str(uuid.uuid4()), medium=medium, address=address, queue=queue,
                            status="queued", customer_id=customer_id, skills=dict(skills or {}),
                            topic=topic, language=language, token_hash=token_hash,
                            created_at=now, last_seen_at=now)
        await self.store.create_conversation(
            conv.id, medium=medium, address=address, customer_id=customer_id, queue=queue,
            skills=conv.skills, topic=topic, language=language, status="queued",
            token_hash=token_hash, claims=claims or [], created_at=now, last_seen_at=now)
        self.convs.add(conv)
        log.info("chat.opened", extra={"conversation": conv.id, "medium": medium,
                                       "queue": queue, "address": mask_identity("x", address)})
        return conv

    async def enqueue(self, conv: Conversation, *, arrival: float | None = None,
                      leave_message: bool = True, reattach: str | None = None) -> str | None:
        """A new queue visit (interaction + engine task). Returns why it could not be a
        live chat (the conversation then waits as a message for later), or None."""
        now = self.clock()
        if leave_message and (why := self._leave_message_reason(conv, now)) is not None:
            await self.to_message(conv, why)
            return why
        label = self._topic_label(conv.topic)
        interaction = await self.store.create_interaction(
            "chat", medium=conv.medium, customer_id=conv.customer_id, queue=conv.queue,
            arrived_at=arrival or now,
            attributes={"conversation": conv.id, "topic": conv.topic,
                        "language": conv.language, "label": label})
        await self.store.assign_messages(conv.id, interaction.id)
        self.convs.set_task(conv, interaction.id)
        conv.reattach = reattach
        await self.convs.save(conv, interaction_id=interaction.id, status="queued",
                              agent_id=None)
        return await self.arrive(conv, arrival or now, preferred=reattach)

    async def arrive(self, conv: Conversation, arrival: float, *,
                     preferred: str | None = None) -> str | None:
        """The conversation's current interaction enters the engine."""
        queue = self.config().queues[conv.queue]
        wait = float(queue.preferred_agent_seconds)
        if preferred is None and wait and conv.customer_id is not None:
            preferred = await self._last_agent(conv.customer_id, conv.task_id)
        elif preferred is not None:
            wait = max(wait, float(queue.offer_timeout_seconds) * 4)
        assert conv.task_id is not None
        refused = self.routing.arrive(acd.Task(
            id=conv.task_id, channel="chat", queue=conv.queue, skills=dict(conv.skills),
            arrival=arrival, attributes={"medium": conv.medium, "language": conv.language},
            preferred_agent=preferred, preferred_wait_seconds=wait if preferred else 0.0))
        if refused is not None:
            await self.to_message(conv, refused)
        return refused

    def _leave_message_reason(self, conv: Conversation, now: float) -> str | None:
        why = self.queue_allows_live(conv.queue, now)
        if why is None or why == "unknown_queue":
            return None
        if conv.medium != "web":
            return why  # WeChat is asynchronous anyway: the message waits for the queue
        rules = self.config().callcenter.chat.web.leave_message
        return why if (why == "closed" and rules.when_closed) or \
            (why == "nobody" and rules.when_nobody) else None

    async def _last_agent(self, customer_id: int, exclude: str | None) -> str | None:
        for entry in await self.store.customer_history(customer_id, 5,
                                                       messages_per_interaction=0):
            if entry.interaction.id != exclude and entry.interaction.agent_id:
                return entry.interaction.agent_id
        return None

    def _topic_label(self, topic: str | None) -> dict[str, str | None] | None:
        for t in self.config().callcenter.chat.web.topics:
            if t.id == topic:
                return {"zh": t.label.get("zh"), "en": t.label.get("en")}
        return None

    async def to_message(self, conv: Conversation, reason: str) -> None:
        """No live chat now: what the customer writes waits, and is offered to the queue
        again when it can be served (``QueueSide.retry_messages``)."""
        if conv.status == "message" or not conv.open:
            return
        conv.reattach = None
        await self.convs.save(conv, status="message", agent_id=None)
        log.info("chat.left_for_later", extra={"conversation": conv.id, "reason": reason})
        self.notifier.conversation(conv, self.summary(conv))
        await self.tell(conv, {"t": "status", "status": "message", "reason": reason})

    async def connected(self, conv: Conversation, agent_id: str, offer_id: str | None) -> None:
        """The engine connected the conversation to an agent (they accepted, or got it back
        after a restart)."""
        conv.reattach = None
        await self.convs.save(conv, status="active", agent_id=agent_id)
        conv.offer_id = offer_id
        if offer_id is not None:
            self.agents.forget_offer(offer_id)  # taken: nothing left to accept or reject
        if conv.task_id:
            self.offers.connected(agent_id, conv.task_id, "chat")  # the card says so
        self.notifier.conversation(conv, self.summary(conv))
        await self.tell(conv, {"t": "status", "status": "active",
                                "agent": self.agent_name(agent_id)})

    async def ended(self, conv: Conversation, by: str) -> None:
        if not conv.open:
            return
        await self.convs.save(conv, status="ended", ended_at=self.clock(), ended_by=by)
        log.info("chat.ended", extra={"conversation": conv.id, "by": by})
        self.notifier.conversation(conv, self.summary(conv))
        await self.tell(conv, {"t": "status", "status": "ended", "by": by})
        for ended in self.on_ended:
            try:
                await ended(conv, by)
            except Exception:
                log.exception("chat.on_ended_failed", extra={"conversation": conv.id})
        if conv.agent_id is None:
            self.convs.forget(conv)

    async def tell(self, conv: Conversation, frame: dict[str, Any]) -> None:
        live = self.visitors.get(conv.medium)
        if live is not None:
            await live.event(conv, frame)

    def summary(self, conv: Conversation) -> dict[str, Any]:
        """A conversation's state for the consoles (no messages)."""
        view = self.routing.agent(conv.agent_id) if conv.agent_id else None
        wrapping = bool(view and conv.task_id in view.wrapping)
        return {"id": conv.id, "task_id": conv.task_id, "medium": conv.medium,
                "queue": conv.queue, "queue_name": self.customers.queue_name(conv.queue),
                "status": conv.status, "wrapping": wrapping, "agent_id": conv.agent_id,
                "agent_name": self.agent_name(conv.agent_id), "topic": conv.topic,
                "language": conv.language, "customer_id": conv.customer_id,
                "online": conv.online > 0 if conv.medium == "web" else None,
                "window": ({"reason": conv.window, "errcode": conv.window_errcode,
                            "advice": conv.window_advice} if conv.window else None),
                "joined": list(conv.joined), "agent_read": conv.agent_read,
                "visitor_got": conv.visitor_got, "visitor_read": conv.visitor_read,
                "created_at": conv.created_at, "last_seen_at": conv.last_seen_at}

    # ------------------------------------------------------------------ the customer's side

    async def customer_message(self, conv: Conversation, *, source: str, external_id: str,
                               text: str, content_type: str = "text",
                               at: float | None = None, notify: bool = True) -> Message:
        """Store what the customer wrote (idempotent) and show it to whoever holds it
        (``notify`` False: the caller does, once it has added the message's file)."""
        now = self.clock()
        m = await self.convs.writer.write(NewMessage(
            conv.id, conv.task_id if conv.status != "message" else None, conv.customer_id,
            "in", "customer", text, source, external_id, content_type, at or now))
        conv.last_seen_at = now
        conv.dirty = True
        if notify and not m.duplicate:
            self.notifier.message(conv, staff_message(m, None, self.agent_name))
        return m

    async def customer_file(self, conv: Conversation, upload: Upload, *, source: str,
                            external_id: str,
                            body: str | None = None) -> tuple[Message, ChatFile | None]:
        """A file or image from the customer: the message first, then its file."""
        m = await self.convs.writer.write(NewMessage(
            conv.id, conv.task_id if conv.status != "message" else None, conv.customer_id,
            "in", "customer", body or upload.name, source, external_id,
            "image" if upload.image else "file", self.clock()))
        if m.duplicate:
            return m, (await self.store.files_of_messages([m.id])).get(m.id)
        file = await self.store.add_chat_file(conv.id, name=upload.name,
                                              content_type=upload.content_type,
                                              data=upload.data, sha256=upload.sha256,
                                              message_id=m.id)
        conv.files += 1
        conv.last_seen_at = self.clock()
        conv.dirty = True
        self.notifier.message(conv, staff_message(m, file, self.agent_name))
        return m, file

    def customer_typing(self, conv: Conversation, on: bool) -> None:
        now = self.clock()
        if on and now - conv.typing_at < TYPING_GAP:
            return
        conv.typing_at = now if on else 0.0
        self.notifier.typing(conv, "visitor", on)

    def customer_saw(self, conv: Conversation, kind: str, upto: int) -> None:
        """The visitor's widget received (``got``) or showed (``read``) up to ``upto``."""
        field = "visitor_read" if kind == "read" else "visitor_got"
        upto = min(upto, conv.last_id)  # no marks on messages that do not exist (yet)
        if upto <= getattr(conv, field):
            return
        setattr(conv, field, upto)
        if kind == "read" and upto > conv.visitor_got:
            conv.visitor_got = upto
        conv.dirty = True
        self.notifier.read(conv, kind, upto)

    async def customer_left(self, conv: Conversation, by: str = "visitor") -> None:
        """The customer closed the chat (or went away for good)."""
        if conv.status == "queued" and conv.task_id:
            self.routing.cancel(conv.task_id, "abandon")
        elif conv.status == "active" and conv.task_id and conv.agent_id:
            self.routing.end(conv.task_id, "caller")
            self.offers.wrapup(conv.agent_id, conv.task_id, conv.queue)
        await self.ended(conv, by)

    def check_rate(self, conv: Conversation) -> bool:
        limits = self.config().callcenter.chat.web.limits
        now = self.clock()
        if conv.bucket is None or conv.bucket.rate != limits.messages_per_minute:
            conv.bucket = Bucket.full(limits.messages_per_minute, now)
        return conv.bucket.take(now)

    def new_chat_allowed(self, address: str) -> None:
        limit = self.config().callcenter.chat.web.limits.conversations_per_hour
        if self._new_chats is None or self._new_chats.limit != limit:
            self._new_chats = AddressWindow(limit, 3600.0)
        wait = self._new_chats.allow(address, self.clock())
        if wait is not None:
            raise Throttled("too many new chats from this address; try again later", wait)

    # ------------------------------------------------------------------ visitors' tokens

    @staticmethod
    def new_token() -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        return token, hash_token(token)

    async def visitor_conversation(self, conversation_id: str,
                                   token: str | None) -> tuple[Conversation | None, Any]:
        """(live conversation or None, its record) if ``token`` is its visitor's; else Gone."""
        rec = await self.store.get_conversation(conversation_id) \
            if len(conversation_id) <= 64 else None
        if rec is None or rec.token_hash is None or not token or \
                not hmac.compare_digest(rec.token_hash, hash_token(token)):
            raise Gone("no such conversation (or the token is not its own)")
        return self.convs.get(conversation_id), rec
