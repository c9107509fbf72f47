"""The conversations the engine holds open, and how their messages reach the store.

``Conversation`` is the live state of one chat (kept small: the benchmark holds ten
thousand); ``Conversations`` indexes the open ones by id, by their current task and by
(medium, address), and writes their state. Messages go through ``MessageWriter``: the
messages arriving within one turn of the event loop are stored in one transaction
(group commit), and each sender is answered only once its message is committed, so an
acknowledged message survives a crash and an unacknowledged one is sent again and
stored once (``(source, external_id)`` is unique).

Statuses: ``queued`` (waiting or offered in the engine), ``active`` (an agent has it),
``message`` (left for later: no live chat now, offered again when the queue can take
it), ``ended``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from callcenter.storage import Message, Store
from callcenter.storage.chats import ChatConversation, NewMessage

from .limits import Bucket

__all__ = ["OPEN", "Conversation", "Conversations", "MessageWriter"]

log = logging.getLogger("chatbridge")

OPEN = frozenset({"queued", "active", "message"})
_WATERMARKS = ("visitor_got", "visitor_read", "agent_read", "last_seen_at")


@dataclass(slots=True, eq=False)
class Conversation:
    id: str
    medium: str
    address: str = field(repr=False)
    queue: str
    status: str
    customer_id: int | None = None
    task_id: str | None = None
    agent_id: str | None = None
    skills: dict[str, int] = field(default_factory=dict)
    topic: str | None = None
    language: str = "zh"
    token_hash: str | None = field(default=None, repr=False)
    window: str | None = None
    window_errcode: int | None = None
    window_advice: str | None = None
    visitor_got: int = 0
    visitor_read: int = 0
    agent_read: int = 0
    last_id: int = 0
    """The highest message id stored for it: a visitor's read marks cannot pass it."""
    created_at: float = 0.0
    last_seen_at: float = 0.0
    online: int = 0
    joined: tuple[str, ...] = ()
    reattach: str | None = None
    """After a restart: the agent who had it, to whom it is given back without a new offer."""
    offer_id: str | None = None
    """The offer its agent accepted (its card stays on the agent's page until released)."""
    bucket: Bucket | None = None
    files: int = 0
    typing_at: float = 0.0
    dirty: bool = False
    sending: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def from_record(cls, rec: ChatConversation, files: int = 0) -> Conversation:
        return cls(id=rec.id, medium=rec.medium, address=rec.address, queue=rec.queue,
                   status=rec.status, customer_id=rec.customer_id, task_id=rec.interaction_id,
                   agent_id=rec.agent_id, skills=dict(rec.skills), topic=rec.topic,
                   language=rec.language or "zh", token_hash=rec.token_hash, window=rec.window,
                   window_errcode=rec.window_errcode, visitor_got=rec.visitor_got,
                   visitor_read=rec.visitor_read, agent_read=rec.agent_read,
                   created_at=rec.created_at, last_seen_at=rec.last_seen_at or rec.created_at,
                   files=files)

    @property
    def open(self) -> bool:
        return self.status in OPEN


class Conversations:
    """The open conversations, by id, by task and by (medium, address)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_id: dict[str, Conversation] = {}
        self.by_task: dict[str, Conversation] = {}
        self.by_address: dict[tuple[str, str], Conversation] = {}
        self.writer = MessageWriter(store, on_written=self._written)

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Conversation]:
        return iter(list(self.by_id.values()))

    def add(self, conv: Conversation) -> Conversation:
        self.by_id[conv.id] = conv
        if conv.task_id:
            self.by_task[conv.task_id] = conv
        if conv.open:
            self.by_address[(conv.medium, conv.address)] = conv
        return conv

    def get(self, conversation_id: str) -> Conversation | None:
        return self.by_id.get(conversation_id)

    def _written(self, conversation_id: str, message_id: int) -> None:
        conv = self.by_id.get(conversation_id)
        if conv is not None and message_id > conv.last_id:
            conv.last_id = message_id

    def of_task(self, task_id: str) -> Conversation | None:
        return self.by_task.get(task_id)

    def of_address(self, medium: str, address: str) -> Conversation | None:
        conv = self.by_address.get((medium, address))
        return conv if conv is not None and conv.open else None

    def for_agent(self, agent_id: str) -> list[Conversation]:
        return [c for c in self.by_id.values() if c.agent_id == agent_id]

    def set_task(self, conv: Conversation, task_id: str) -> None:
        if conv.task_id and self.by_task.get(conv.task_id) is conv:
            del self.by_task[conv.task_id]
        conv.task_id = task_id
        self.by_task[task_id] = conv

    def forget(self, conv: Conversation) -> None:
        """Out of memory (ended, nobody holds it); the store keeps everything."""
        self.by_id.pop(conv.id, None)
        if conv.task_id and self.by_task.get(conv.task_id) is conv:
            del self.by_task[conv.task_id]
        if self.by_address.get((conv.medium, conv.address)) is conv:
            del self.by_address[(conv.medium, conv.address)]

    async def save(self, conv: Conversation, **fields: Any) -> None:
        """Set fields on the conversation and store them (with unsaved watermarks)."""
        for name, value in fields.items():
            attr = "task_id" if name == "interaction_id" else name
            if hasattr(conv, attr):  # ended_at, ended_by... live in the store only
                setattr(conv, attr, value)
        if "status" in fields and not conv.open and \
                self.by_address.get((conv.medium, conv.address)) is conv:
            del self.by_address[(conv.medium, conv.address)]
        if conv.dirty:
            fields.update({name: getattr(conv, name) for name in _WATERMARKS})
            conv.dirty = False
        await self.store.update_conversation(conv.id, **fields)

    async def flush_watermarks(self) -> None:
        """Read/delivered marks and last-seen times are written in the background, all
        changed ones in one transaction (they move with every message)."""
        dirty = [c for c in self.by_id.values() if c.dirty]
        for conv in dirty:
            conv.dirty = False
        try:
            await self.store.save_watermarks([(c.visitor_got, c.visitor_read, c.agent_read,
                                               c.last_seen_at, c.id) for c in dirty])
        except Exception:
            for conv in dirty:
                conv.dirty = True
            log.exception("chat.watermarks_not_saved", extra={"count": len(dirty)})


class MessageWriter:
    """Group commit: one transaction for the messages of one turn of the event loop."""

    def __init__(self, store: Store, *, on_batch: Callable[[int], None] | None = None,
                 on_written: Callable[[str, int], None] | None = None) -> None:
        self.store = store
        self.on_batch = on_batch
        self.on_written = on_written
        self._pending: list[tuple[NewMessage, asyncio.Future[Message]]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, item: NewMessage) -> Message:
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="chat-writer")
        return await future

    async def _run(self) -> None:
        await asyncio.sleep(0)  # let the rest of this turn's messages join the batch
        while self._pending:
            batch, keys, later = [], set(), []
            for entry in self._pending:
                key = (entry[0].source, entry[0].external_id)
                (later if key in keys else batch).append(entry)
                keys.add(key)
            self._pending = later
            try:
                rows = await self.store.add_chat_messages([item for item, _ in batch])
            except Exception as exc:
                log.exception("chat.messages_not_stored", extra={"count": len(batch)})
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            if self.on_batch is not None:
                self.on_batch(len(batch))
            for (item, future), row in zip(batch, rows, strict=True):
                if self.on_written is not None:
                    self.on_written(item.conversation_id, row.id)
                if not future.done():
                    future.set_result(row)

    async def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
