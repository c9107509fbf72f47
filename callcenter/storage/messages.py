"""Chat messages, inbound and outbound, with the delivery state of outbound ones.

Inbound messages are idempotent on ``(source, external_id)`` so a channel that redelivers
does not duplicate them; outbound ones stay 'pending'/'failed' until a sender marks them
delivered, which is what lets the outbox resume after a restart.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Final

from .database import Database, _now
from .errors import NotFound
from .models import Message

__all__ = ["DELIVERED_STATUSES", "RETRYABLE_STATUSES", "MessageRecords"]

DELIVERED_STATUSES: Final = frozenset({"sent", "delivered"})
RETRYABLE_STATUSES: Final = ("pending", "failed")

_MESSAGE_FIELDS: Final = (
    "id", "interaction_id", "customer_id", "direction", "sender", "body", "content_type",
    "source", "external_id", "created_at", "delivered_at", "delivery_status", "attempts",
    "last_error",
)  # fmt: skip


def _message(row: sqlite3.Row, duplicate: bool = False) -> Message:
    return Message(**{f: row[f] for f in _MESSAGE_FIELDS}, duplicate=duplicate)


class MessageRecords(Database):
    """Store, list and track the delivery of chat messages."""

    async def add_message(
        self,
        interaction_id: str | None,
        direction: str,
        body: str,
        *,
        sender: str | None = None,
        customer_id: int | None = None,
        content_type: str = "text",
        source: str = "",
        external_id: str | int | None = None,
        created_at: float | None = None,
        delivery_status: str | None = None,
        delivered_at: float | None = None,
    ) -> Message:
        """Store a chat message; idempotent on ``(source, external_id)``.

        A retry with an already stored ``external_id`` from the same ``source`` returns
        the existing row with ``duplicate=True`` and changes nothing. Defaults:
        ``sender`` 'customer' (in) / 'system' (out); ``customer_id`` from the interaction;
        ``created_at`` now; outbound ``delivery_status`` 'pending' (or 'delivered' when
        ``delivered_at`` is given).
        """
        if direction not in ("in", "out"):
            raise ValueError("direction must be 'in' or 'out'")
        if sender is None:
            sender = "customer" if direction == "in" else "system"
        if direction == "out" and delivery_status is None:
            delivery_status = "delivered" if delivered_at is not None else "pending"
        ext = None if external_id is None else str(external_id)
        async with self.transaction():
            if ext is not None:
                row = await self._one(
                    "SELECT * FROM messages WHERE source = ? AND external_id = ?", (source, ext)
                )
                if row is not None:
                    return _message(row, duplicate=True)
            if customer_id is None and interaction_id is not None:
                owner = await self._one(
                    "SELECT customer_id FROM interactions WHERE id = ?", (interaction_id,)
                )
                if owner is not None:
                    customer_id = owner["customer_id"]
            elif customer_id is not None:
                customer_id = await self._resolve_customer_id(customer_id)
            inserted = await self._insert_returning(
                "INSERT INTO messages (interaction_id, customer_id, direction, sender, body,"
                " content_type, source, external_id, created_at, delivered_at, delivery_status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    interaction_id,
                    customer_id,
                    direction,
                    sender,
                    body,
                    content_type,
                    source,
                    ext,
                    _now(created_at),
                    delivered_at,
                    delivery_status,
                ),
            )
            return _message(inserted)

    async def get_message(self, message_id: int) -> Message | None:
        row = await self._one("SELECT * FROM messages WHERE id = ?", (message_id,))
        return None if row is None else _message(row)

    async def list_messages(
        self, interaction_id: str, *, limit: int | None = None
    ) -> list[Message]:
        """Messages of an interaction, oldest first (the last ``limit`` if given)."""
        if limit is None:
            rows = await self._all(
                "SELECT * FROM messages WHERE interaction_id = ? ORDER BY created_at, id",
                (interaction_id,),
            )
        else:
            rows = await self._all(
                "SELECT * FROM (SELECT * FROM messages WHERE interaction_id = ?"
                " ORDER BY created_at DESC, id DESC LIMIT ?) ORDER BY created_at, id",
                (interaction_id, limit),
            )
        return [_message(r) for r in rows]

    async def customer_messages(self, customer_id: int, *, limit: int = 100) -> list[Message]:
        """The customer's last ``limit`` messages on every channel, oldest first."""
        async with self._hold():
            resolved = await self._resolve_customer_id(customer_id)
            rows = await self._all(
                "SELECT * FROM (SELECT * FROM messages WHERE customer_id = ?"
                " ORDER BY created_at DESC, id DESC LIMIT ?) ORDER BY created_at, id",
                (resolved, limit),
            )
            return [_message(r) for r in rows]

    async def pending_outbound(
        self, *, limit: int = 100, max_attempts: int | None = None
    ) -> list[Message]:
        """Outbound messages not delivered yet ('pending' or 'failed'), oldest first."""
        sql = (
            "SELECT * FROM messages WHERE direction = 'out' AND delivered_at IS NULL"
            " AND COALESCE(delivery_status, 'pending') IN ('pending', 'failed')"
        )
        params: list[Any] = []
        if max_attempts is not None:
            sql += " AND attempts < ?"
            params.append(max_attempts)
        rows = await self._all(sql + " ORDER BY created_at, id LIMIT ?", [*params, limit])
        return [_message(r) for r in rows]

    async def mark_message_delivery(
        self,
        message_id: int,
        status: str,
        *,
        at: float | None = None,
        error: str | None = None,
    ) -> Message:
        """Record a delivery attempt of an outbound message.

        'sent'/'delivered' set ``delivered_at`` (``at``, default now) and end retries;
        'failed' (to be retried) and 'given_up' (not retried) count an attempt and keep
        ``error``; 'pending' only changes the status.
        """
        if status not in {"pending", "sent", "delivered", "failed", "given_up"}:
            raise ValueError(f"unknown delivery status {status!r}")
        async with self.transaction():
            if status in DELIVERED_STATUSES:
                changed = await self._exec(
                    "UPDATE messages SET delivery_status = ?, delivered_at = ?,"
                    " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                    (status, _now(at), message_id),
                )
            elif status == "pending":
                changed = await self._exec(
                    "UPDATE messages SET delivery_status = ? WHERE id = ?", (status, message_id)
                )
            else:
                changed = await self._exec(
                    "UPDATE messages SET delivery_status = ?, attempts = attempts + 1,"
                    " last_error = ? WHERE id = ?",
                    (status, error, message_id),
                )
            if not changed:
                raise NotFound(f"message {message_id}")
            message = await self.get_message(message_id)
            assert message is not None
            return message
