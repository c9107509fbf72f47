"""Chat conversations, their messages and files, and customer merges that can be undone.

A conversation outlives its queue visits (each one an interaction): a message left for
later is queued again, a transfer starts a new visit. Its messages are ``messages`` rows
carrying ``conversation_id``, so a visitor resuming after a reload asks for "everything
after message id N" and gets it in order. Messages are added in batches, one transaction
each, idempotent on ``(source, external_id)`` like ``add_message``: a visitor's retry of
a message the engine had stored (but not acknowledged before it died) changes nothing.

A merge made by a person is journaled with the rows it moved, so it can be undone; rows
added to the survivor after the merge stay with the survivor.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .database import Database, _dumps, _loads, _now
from .errors import NotFound
from .messages import _message
from .models import Customer, Message

__all__ = ["ChatConversation", "ChatFile", "ChatRecords", "CustomerMerge", "NewMessage"]

_CONVERSATION_COLUMNS: Final = (
    "medium", "address", "customer_id", "interaction_id", "queue", "skills", "topic",
    "language", "status", "agent_id", "token_hash", "claims", "window", "window_errcode",
    "window_at", "rating", "rating_comment", "visitor_got", "visitor_read", "agent_read",
    "created_at", "last_seen_at", "ended_at", "ended_by",
)  # fmt: skip
_MERGED_TABLES: Final = ("customer_identities", "interactions", "messages", "callbacks",
                         "chat_conversations")
_BATCH: Final = 200  # rows per INSERT statement (13 parameters each, well under SQLite's limit)


@dataclass(slots=True)
class ChatConversation:
    id: str
    medium: str
    address: str = field(repr=False)
    customer_id: int | None
    interaction_id: str | None
    queue: str
    skills: dict[str, int]
    topic: str | None
    language: str | None
    status: str
    agent_id: str | None
    token_hash: str | None = field(repr=False)
    claims: list[list[str]] = field(repr=False)
    window: str | None
    window_errcode: int | None
    window_at: float | None
    rating: int | None
    rating_comment: str | None
    visitor_got: int
    visitor_read: int
    agent_read: int
    created_at: float
    last_seen_at: float | None
    ended_at: float | None
    ended_by: str | None


@dataclass(slots=True)
class ChatFile:
    """A file or image of a conversation; ``data`` only when asked for."""

    id: int
    conversation_id: str
    message_id: int | None
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: float
    data: bytes | None = field(default=None, repr=False)


@dataclass(slots=True)
class NewMessage:
    """A message to store with ``add_chat_messages``; ``external_id`` makes retries safe."""

    conversation_id: str
    interaction_id: str | None
    customer_id: int | None
    direction: str
    sender: str
    body: str
    source: str
    external_id: str
    content_type: str = "text"
    created_at: float | None = None
    delivery_status: str | None = None


@dataclass(slots=True)
class CustomerMerge:
    id: int
    survivor_id: int
    merged_id: int
    actor: str
    at: float
    moved: dict[str, list[int | str]]
    undone_at: float | None
    undone_by: str | None


def _conversation(row: sqlite3.Row) -> ChatConversation:
    values = {c: row[c] for c in _CONVERSATION_COLUMNS}
    values["skills"] = _loads(values["skills"], {})
    values["claims"] = _loads(values["claims"], [])
    return ChatConversation(id=row["id"], **values)


def _file(row: sqlite3.Row, with_data: bool = False) -> ChatFile:
    return ChatFile(row["id"], row["conversation_id"], row["message_id"], row["name"],
                    row["content_type"], row["size"], row["sha256"], row["created_at"],
                    bytes(row["data"]) if with_data else None)


def _merge_row(row: sqlite3.Row) -> CustomerMerge:
    return CustomerMerge(row["id"], row["survivor_id"], row["merged_id"], row["actor"],
                         row["at"], _loads(row["moved"], {}), row["undone_at"],
                         row["undone_by"])


class ChatRecords(Database):
    """Conversations, their messages and files; journaled customer merges."""

    # ------------------------------------------------------------------ conversations

    async def create_conversation(self, id: str, **fields: Any) -> ChatConversation:
        """A new conversation (``medium``, ``address``, ``queue``, ``status`` required)."""
        unknown = set(fields) - set(_CONVERSATION_COLUMNS)
        if unknown:
            raise ValueError(f"unknown conversation fields: {sorted(unknown)}")
        values = {"skills": {}, "claims": [], "created_at": None, **fields}
        values["skills"] = _dumps(dict(values["skills"]))
        values["claims"] = _dumps(list(values["claims"]))
        values["created_at"] = _now(values["created_at"])
        async with self.transaction():
            if values.get("customer_id") is not None:
                values["customer_id"] = await self._resolve_customer_id(values["customer_id"])
            names = ["id", *values]
            await self._exec(
                f"INSERT INTO chat_conversations ({', '.join(names)})"
                f" VALUES ({', '.join('?' * len(names))})", [id, *values.values()])
            found = await self.get_conversation(id)
            assert found is not None
            return found

    async def get_conversation(self, id: str) -> ChatConversation | None:
        row = await self._one("SELECT * FROM chat_conversations WHERE id = ?", (id,))
        return None if row is None else _conversation(row)

    async def update_conversation(self, id: str, /, **fields: Any) -> None:
        unknown = set(fields) - set(_CONVERSATION_COLUMNS)
        if unknown:
            raise ValueError(f"unknown conversation fields: {sorted(unknown)}")
        if "skills" in fields:
            fields["skills"] = _dumps(dict(fields["skills"]))
        if "claims" in fields:
            fields["claims"] = _dumps(list(fields["claims"]))
        if fields and not await self._update("chat_conversations", "id", id, fields):
            raise NotFound(f"conversation {id}")

    async def save_watermarks(self, rows: Sequence[tuple[int, int, int, float, str]]) -> None:
        """``(visitor_got, visitor_read, agent_read, last_seen_at, id)`` of many
        conversations in one transaction (they change with every message)."""
        if not rows:
            return
        async with self.transaction():
            await self._conn().executemany(
                "UPDATE chat_conversations SET visitor_got = ?, visitor_read = ?,"
                " agent_read = ?, last_seen_at = ? WHERE id = ?", rows)

    async def open_conversations(self) -> list[ChatConversation]:
        """Conversations not ended, oldest first (a restart takes them back)."""
        rows = await self._all("SELECT * FROM chat_conversations WHERE status != 'ended'"
                               " ORDER BY created_at, id")
        return [_conversation(r) for r in rows]

    async def latest_conversation(self, medium: str, address: str) -> ChatConversation | None:
        row = await self._one(
            "SELECT * FROM chat_conversations WHERE medium = ? AND address = ?"
            " ORDER BY created_at DESC, id DESC LIMIT 1", (medium, address))
        return None if row is None else _conversation(row)

    async def conversation_of_interaction(self, interaction_id: str) -> ChatConversation | None:
        row = await self._one("SELECT * FROM chat_conversations WHERE interaction_id = ?",
                              (interaction_id,))
        return None if row is None else _conversation(row)

    # ------------------------------------------------------------------ messages

    async def add_chat_messages(self, items: Sequence[NewMessage]) -> list[Message]:
        """Store messages, one result per item, in order.

        An item whose ``(source, external_id)`` is already stored gets the stored row with
        ``duplicate=True`` (so its sender can be acknowledged again with the same id).

        This runs for every chat message, so it costs one trip to SQLite's thread: each
        multi-row INSERT is its own atomic, durable statement (the connection autocommits),
        made while holding the store's lock, so no other task's transaction can be open.
        Inside a caller's ``transaction()`` it joins that one.
        """
        if not items:
            return []
        keys = [(m.source, m.external_id) for m in items]
        if len(set(keys)) != len(keys):
            raise ValueError("two messages of one batch share source and external_id")
        found: dict[tuple[str, str], Message] = {}
        async with self._hold():
            for start in range(0, len(items), _BATCH):
                chunk = items[start:start + _BATCH]
                params: list[Any] = []
                for m in chunk:
                    delivery = m.delivery_status
                    if m.direction == "out" and delivery is None:
                        delivery = "pending"
                    params += [m.interaction_id, m.customer_id, m.direction, m.sender, m.body,
                               m.content_type, m.source, m.external_id, _now(m.created_at),
                               delivery, m.conversation_id]
                rows = await self._write_returning(
                    "INSERT INTO messages (interaction_id, customer_id, direction, sender, body,"
                    " content_type, source, external_id, created_at, delivery_status,"
                    " conversation_id) VALUES "
                    + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                    + " ON CONFLICT (source, external_id) DO NOTHING RETURNING *", params)
                for row in rows:
                    found[(row["source"], row["external_id"])] = _message(row)
            missing = [k for k in keys if k not in found]
            for source, external_id in missing:
                row = await self._one("SELECT * FROM messages WHERE source = ? AND "
                                      "external_id = ?", (source, external_id))
                assert row is not None
                found[(source, external_id)] = _message(row, duplicate=True)
        return [found[k] for k in keys]

    async def conversation_messages(self, conversation_id: str, *, after: int = 0,
                                    limit: int | None = None) -> list[Message]:
        """Messages of a conversation with id > ``after``, in order (the first ``limit``)."""
        sql = "SELECT * FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id"
        params: list[Any] = [conversation_id, after]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_message(r) for r in await self._all(sql, params)]

    async def assign_messages(self, conversation_id: str, interaction_id: str) -> int:
        """Messages written while no queue visit was open (a message left for later)
        join the visit that now takes them, so its screen-pop shows them."""
        return await self._exec("UPDATE messages SET interaction_id = ? WHERE conversation_id"
                                " = ? AND interaction_id IS NULL", (interaction_id,
                                                                    conversation_id))

    async def last_conversation_messages(self, conversation_id: str,
                                         limit: int) -> list[Message]:
        rows = await self._all(
            "SELECT * FROM (SELECT * FROM messages WHERE conversation_id = ?"
            " ORDER BY id DESC LIMIT ?) ORDER BY id", (conversation_id, limit))
        return [_message(r) for r in rows]

    async def pending_chat_outbound(self, medium: str) -> list[tuple[Message, str, str]]:
        """Outbound messages of open ``medium`` conversations not yet sent, oldest first,
        with their conversation and its address (WeChat: resend after a restart)."""
        rows = await self._all(
            "SELECT m.*, c.id AS _conversation, c.address AS _address FROM messages m"
            " JOIN chat_conversations c"
            " ON c.id = m.conversation_id WHERE c.medium = ? AND c.status != 'ended'"
            " AND m.direction = 'out' AND m.delivery_status = 'pending' ORDER BY m.id",
            (medium,))
        return [(_message(r), r["_conversation"], r["_address"]) for r in rows]

    async def set_message_status(self, message_id: int, status: str, *,
                                 error: str | None = None, at: float | None = None) -> None:
        """Delivery of an outbound chat message: sent | failed (retried) | refused (never)."""
        if status == "sent":
            await self._exec("UPDATE messages SET delivery_status = 'sent', delivered_at = ?,"
                             " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                             (_now(at), message_id))
        else:
            await self._exec("UPDATE messages SET delivery_status = ?, attempts = attempts + 1,"
                             " last_error = ? WHERE id = ?", (status, error, message_id))

    # ------------------------------------------------------------------ files

    async def add_chat_file(self, conversation_id: str, *, name: str, content_type: str,
                            data: bytes, sha256: str, message_id: int | None = None,
                            created_at: float | None = None) -> ChatFile:
        row = await self._insert_returning(
            "INSERT INTO chat_files (conversation_id, message_id, name, content_type, size,"
            " sha256, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (conversation_id, message_id, name, content_type, len(data), sha256, data,
             _now(created_at)))
        return _file(row)

    async def attach_file(self, file_id: int, message_id: int) -> None:
        await self._exec("UPDATE chat_files SET message_id = ? WHERE id = ?",
                         (message_id, file_id))

    async def get_chat_file(self, file_id: int, *, with_data: bool = True) -> ChatFile | None:
        row = await self._one("SELECT * FROM chat_files WHERE id = ?", (file_id,))
        return None if row is None else _file(row, with_data)

    async def count_chat_files(self, conversation_id: str) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM chat_files WHERE conversation_id = ?",
                              (conversation_id,))
        return int(row["n"]) if row else 0

    async def files_of_messages(self, message_ids: Iterable[int]) -> dict[int, ChatFile]:
        ids = list(message_ids)
        if not ids:
            return {}
        rows = await self._all(
            "SELECT id, conversation_id, message_id, name, content_type, size, sha256,"
            f" created_at FROM chat_files WHERE message_id IN ({', '.join('?' * len(ids))})",
            ids)
        return {r["message_id"]: _file(r) for r in rows}

    # ------------------------------------------------------------------ merges

    async def merge_customers_journaled(self, survivor_id: int, other_id: int, *, actor: str,
                                        now: float | None = None) -> CustomerMerge:
        """Merge ``other_id`` into ``survivor_id`` (as ``merge_customers``), remembering
        what moved so that ``undo_merge`` can split them again."""
        at = _now(now)
        async with self.transaction():
            keep = await self._resolve_customer_id(survivor_id)
            other = await self._resolve_customer_id(other_id)
            if keep is None or other is None:
                raise NotFound(f"customer {survivor_id if keep is None else other_id}")
            if keep == other:
                raise ValueError("these are already one customer")
            moved: dict[str, list[Any]] = {}
            for table in _MERGED_TABLES:
                rows = await self._all(f"SELECT id FROM {table} WHERE customer_id = ?",
                                       (other,))
                moved[table] = [r["id"] for r in rows]
            chained = await self._all("SELECT id FROM customers WHERE merged_into = ?",
                                      (other,))
            moved["customers"] = [r["id"] for r in chained]
            before = await self._one("SELECT name, attributes FROM customers WHERE id = ?",
                                     (keep,))
            assert before is not None
            await self._merge(keep, other, at)  # type: ignore[attr-defined]  # CustomerRecords
            await self._exec("UPDATE chat_conversations SET customer_id = ? WHERE customer_id"
                             " = ?", (keep, other))
            row = await self._insert_returning(
                "INSERT INTO customer_merges (survivor_id, merged_id, actor, at, moved, before)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                (keep, other, actor, at, _dumps(moved),
                 _dumps({"name": before["name"], "attributes": _loads(before["attributes"],
                                                                      {})})))
            return _merge_row(row)

    async def get_merge(self, merge_id: int) -> CustomerMerge | None:
        row = await self._one("SELECT * FROM customer_merges WHERE id = ?", (merge_id,))
        return None if row is None else _merge_row(row)

    async def undo_merge(self, merge_id: int, *, actor: str,
                         now: float | None = None) -> tuple[Customer, Customer]:
        """Split a journaled merge: the moved rows go back, both customers stand alone."""
        at = _now(now)
        async with self.transaction():
            row = await self._one("SELECT * FROM customer_merges WHERE id = ?", (merge_id,))
            if row is None:
                raise NotFound(f"merge {merge_id}")
            merge = _merge_row(row)
            if merge.undone_at is not None:
                raise ValueError("this merge was undone already")
            current = await self._one("SELECT merged_into FROM customers WHERE id = ?",
                                      (merge.merged_id,))
            if current is None or current["merged_into"] != merge.survivor_id:
                raise ValueError("the customers were merged or split again since; "
                                 "this merge cannot be undone any more")
            for table, ids in merge.moved.items():
                if table == "customers":
                    await self._set_in("customers", "merged_into", merge.merged_id, ids)
                elif table in _MERGED_TABLES:
                    await self._set_in(table, "customer_id", merge.merged_id, ids)
            before = _loads(row["before"], {})
            await self._exec(
                "UPDATE customers SET name = ?, attributes = ?, updated_at = ? WHERE id = ?",
                (before.get("name"), _dumps(before.get("attributes") or {}), at,
                 merge.survivor_id))
            await self._exec("UPDATE customers SET merged_into = NULL, merged_at = NULL,"
                             " updated_at = ? WHERE id = ?", (at, merge.merged_id))
            await self._exec("UPDATE customer_merges SET undone_at = ?, undone_by = ?"
                             " WHERE id = ?", (at, actor, merge_id))
            survivor = await self.get_customer(merge.survivor_id)  # type: ignore[attr-defined]
            merged = await self.get_customer(merge.merged_id)  # type: ignore[attr-defined]
            assert survivor is not None and merged is not None
            return survivor, merged

    async def _set_in(self, table: str, column: str, value: Any,
                      ids: Sequence[Any]) -> None:
        for start in range(0, len(ids), 500):
            part = list(ids[start:start + 500])
            await self._exec(f"UPDATE {table} SET {column} = ? WHERE id IN "
                             f"({', '.join('?' * len(part))})", [value, *part])

    async def conversation_counts(self) -> Mapping[str, int]:
        rows = await self._all("SELECT status, COUNT(*) AS n FROM chat_conversations"
                               " GROUP BY status")
        return {r["status"]: r["n"] for r in rows}
