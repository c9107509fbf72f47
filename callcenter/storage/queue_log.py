"""The queue log: an append-only stream of queue events (ENTERQUEUE, CONNECT,
COMPLETECALLER...) in the spirit of Asterisk's queue_log, which reports are built from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from .database import Database, _dumps, _loads, _now
from .models import QueueLogEvent

_BATCH = 500  # events per INSERT statement (6 parameters each, well under SQLite's limit)

__all__ = ["QueueLogRecords"]


def _event(row: sqlite3.Row) -> QueueLogEvent:
    return QueueLogEvent(
        id=row["id"], at=row["at"], interaction_id=row["interaction_id"], queue=row["queue"],
        agent=row["agent"], event=row["event"], data=_loads(row["data"], {}),
    )  # fmt: skip


class QueueLogRecords(Database):
    """Append queue events and read them back by time."""

    async def log_event(
        self,
        event: str,
        *,
        at: float | None = None,
        interaction_id: str | None = None,
        queue: str | None = None,
        agent: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> QueueLogEvent:
        """Append one queue-log event (``at`` defaults to now)."""
        (stored,) = await self.log_events(
            [QueueLogEvent(event=event, at=_now(at), interaction_id=interaction_id,
                           queue=queue, agent=agent, data=dict(data or {}))]
        )  # fmt: skip
        return stored

    async def log_events(
        self, events: Iterable[QueueLogEvent | Mapping[str, Any]]
    ) -> list[QueueLogEvent]:
        """Append many events in one transaction; returns them with their ids.

        Mappings use the ``QueueLogEvent`` field names; a missing ``at`` means now.
        """
        items: list[QueueLogEvent] = []
        for e in events:
            if isinstance(e, QueueLogEvent):
                items.append(e)
            else:
                items.append(
                    QueueLogEvent(
                        event=e["event"], at=_now(e.get("at")),
                        interaction_id=e.get("interaction_id"), queue=e.get("queue"),
                        agent=e.get("agent"), data=dict(e.get("data") or {}),
                    )
                )  # fmt: skip
        out: list[QueueLogEvent] = []
        async with self.transaction():
            for start in range(0, len(items), _BATCH):
                chunk = items[start:start + _BATCH]
                params: list[Any] = []
                for e in chunk:
                    params += [e.at, e.interaction_id, e.queue, e.agent, e.event, _dumps(e.data)]
                rows = await self._write_returning(
                    "INSERT INTO queue_log (at, interaction_id, queue, agent, event, data) VALUES "
                    + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk)) + " RETURNING *", params)
                # RETURNING's row order is not promised; ids grow in insertion order
                out += [_event(row) for row in sorted(rows, key=lambda r: r["id"])]
        return out

    async def events_between(
        self,
        t0: float,
        t1: float,
        queue: str | None = None,
        *,
        interaction_id: str | None = None,
        event: str | None = None,
        agent: str | None = None,
    ) -> list[QueueLogEvent]:
        """Events with ``t0 <= at < t1`` (optionally of one queue / interaction / kind /
        agent), in order."""
        sql = "SELECT * FROM queue_log WHERE at >= ? AND at < ?"
        params: list[Any] = [t0, t1]
        for column, value in (("queue", queue), ("interaction_id", interaction_id),
                              ("event", event), ("agent", agent)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        rows = await self._all(sql + " ORDER BY at, id", params)
        return [_event(r) for r in rows]
