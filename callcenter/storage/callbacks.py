"""Callback requests: a customer asked to be called back instead of waiting in queue.

The full number is stored because it has to be dialled; it is never logged, and a
``Callback`` masks it in ``repr``.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Final

from .database import Database, _now
from .errors import NotFound
from .models import Callback

__all__ = ["CallbackRecords"]

_CALLBACK_COLUMNS: Final = frozenset(
    {
        "interaction_id", "customer_id", "number", "queue", "status", "attempts",
        "last_attempt_at", "next_attempt_at", "completed_at", "notes",
    }
)  # fmt: skip


def _callback(row: sqlite3.Row) -> Callback:
    return Callback(
        id=row["id"], interaction_id=row["interaction_id"], customer_id=row["customer_id"],
        number=row["number"], requested_at=row["requested_at"], queue=row["queue"],
        status=row["status"], attempts=row["attempts"], last_attempt_at=row["last_attempt_at"],
        next_attempt_at=row["next_attempt_at"], completed_at=row["completed_at"],
        notes=row["notes"],
    )  # fmt: skip


class CallbackRecords(Database):
    """Register callbacks, list the pending ones and track their attempts."""

    async def add_callback(
        self,
        number: str,
        *,
        queue: str | None = None,
        interaction_id: str | None = None,
        customer_id: int | None = None,
        requested_at: float | None = None,
        next_attempt_at: float | None = None,
        notes: str | None = None,
    ) -> Callback:
        """Register a callback request (``requested_at`` defaults to now), status 'pending'.

        The full number is stored (it has to be dialled) but never logged.
        """
        if not str(number).strip():
            raise ValueError("empty callback number")
        async with self.transaction():
            if customer_id is not None:
                customer_id = await self._resolve_customer_id(customer_id)
            row = await self._insert_returning(
                "INSERT INTO callbacks (interaction_id, customer_id, number, requested_at,"
                " queue, next_attempt_at, notes) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    interaction_id,
                    customer_id,
                    str(number).strip(),
                    _now(requested_at),
                    queue,
                    next_attempt_at,
                    notes,
                ),
            )
            return _callback(row)

    async def get_callback(self, callback_id: int) -> Callback | None:
        row = await self._one("SELECT * FROM callbacks WHERE id = ?", (callback_id,))
        return None if row is None else _callback(row)

    async def list_pending_callbacks(
        self, queue: str | None = None, *, due_at: float | None = None
    ) -> list[Callback]:
        """Callbacks with status 'pending', oldest request first.

        With ``due_at``, only those whose ``next_attempt_at`` is unset or ``<= due_at``.
        """
        sql = "SELECT * FROM callbacks WHERE status = 'pending'"
        params: list[Any] = []
        if queue is not None:
            sql += " AND queue = ?"
            params.append(queue)
        if due_at is not None:
            sql += " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            params.append(due_at)
        rows = await self._all(sql + " ORDER BY requested_at, id", params)
        return [_callback(r) for r in rows]

    async def list_callbacks(self, status: str) -> list[Callback]:
        """Callbacks in one status, oldest request first."""
        rows = await self._all("SELECT * FROM callbacks WHERE status = ? ORDER BY requested_at,"
                               " id", (status,))
        return [_callback(r) for r in rows]

    async def update_callback(
        self, callback_id: int, /, *, count_attempt: bool = False, **fields: Any
    ) -> Callback:
        """Set columns of a callback (status, attempts, last_attempt_at, next_attempt_at,
        completed_at, notes, queue, number, interaction_id, customer_id).

        ``count_attempt=True`` increments ``attempts`` atomically. Statuses in use:
        pending | dialing | done | failed | expired | cancelled.
        """
        unknown = set(fields) - _CALLBACK_COLUMNS
        if unknown:
            raise ValueError(f"not updatable callback fields: {sorted(unknown)}")
        async with self.transaction():
            if fields:
                await self._update("callbacks", "id", callback_id, fields)
            if count_attempt:
                await self._exec(
                    "UPDATE callbacks SET attempts = attempts + 1 WHERE id = ?", (callback_id,)
                )
            callback = await self.get_callback(callback_id)
            if callback is None:
                raise NotFound(f"callback {callback_id}")
            return callback
