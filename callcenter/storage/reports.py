"""What reports read besides the queue log: CSAT ratings, agent states over a period,
callbacks by the time they were asked for, and the contacts of customers (first-contact
resolution). Reports are recomputed from these and the queue log for any past period,
so every read here takes a period and nothing is pre-aggregated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from .callbacks import _callback
from .database import Database, _now, _placeholders
from .models import Callback, QueueLogEvent, StateChange
from .queue_log import _event

__all__ = ["CSAT_SOURCES", "Contact", "Csat", "ReportRecords"]

CSAT_SOURCES = frozenset({"voice_survey", "widget", "wechat"})
_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit


@dataclass(frozen=True, slots=True)
class Csat:
    """One satisfaction rating: ``score`` from 1 to ``scale`` (the best)."""

    id: int
    interaction_id: str
    channel: str
    medium: str | None
    source: str
    queue: str | None
    agent_id: str | None
    customer_id: int | None
    score: int
    scale: int
    comment: str | None
    at: float


@dataclass(frozen=True, slots=True)
class Contact:
    """What a report needs of an interaction: its channel and who the customer is
    (``customer_id`` is the surviving customer after a merge)."""

    id: str
    channel: str
    medium: str | None
    customer_id: int | None
    arrived_at: float | None
    direction: str
    caller_masked: str | None


def _csat(row: sqlite3.Row) -> Csat:
    return Csat(
        id=row["id"], interaction_id=row["interaction_id"], channel=row["channel"],
        medium=row["medium"], source=row["source"], queue=row["queue"],
        agent_id=row["agent_id"], customer_id=row["customer_id"], score=row["score"],
        scale=row["scale"], comment=row["comment"], at=row["at"],
    )  # fmt: skip


def _contact(row: sqlite3.Row) -> Contact:
    return Contact(
        id=row["id"], channel=row["channel"], medium=row["medium"],
        customer_id=row["customer"], arrived_at=row["arrived_at"],
        direction=row["direction"], caller_masked=row["caller_masked"],
    )  # fmt: skip


def _state(row: sqlite3.Row) -> StateChange:
    return StateChange(id=row["id"], agent_id=row["agent_id"], state=row["state"],
                       reason=row["reason"], at=row["at"])


_CONTACT_SQL = (
    "SELECT i.id, i.channel, i.medium, i.arrived_at, i.direction, i.caller_masked,"
    " COALESCE(c.merged_into, i.customer_id) AS customer"
    " FROM interactions i LEFT JOIN customers c ON c.id = i.customer_id"
)


class ReportRecords(Database):
    """Store CSAT ratings; read a period's ratings, agent states, callbacks, contacts."""

    async def record_csat(
        self,
        interaction_id: str,
        score: int,
        *,
        source: str,
        scale: int = 5,
        comment: str | None = None,
        at: float | None = None,
    ) -> Csat | None:
        """Store a rating of ``interaction_id``; None when that source rated it already
        (a survey answered twice, a retried WeChat message) or the interaction is unknown.

        The interaction's channel, medium, queue, agent and customer are copied with it.
        """
        if source not in CSAT_SOURCES:
            raise ValueError(f"unknown CSAT source {source!r}; one of {sorted(CSAT_SOURCES)}")
        if not 1 <= score <= scale:
            raise ValueError(f"score {score} is not between 1 and {scale}")
        row = await self._one(
            "INSERT INTO csat (interaction_id, channel, medium, source, queue, agent_id,"
            " customer_id, score, scale, comment, at)"
            " SELECT id, channel, medium, ?, queue, agent_id, customer_id, ?, ?, ?, ?"
            " FROM interactions WHERE id = ?"
            " ON CONFLICT (interaction_id, source) DO NOTHING RETURNING *",
            (source, score, scale, comment, _now(at), interaction_id),
        )
        return _csat(row) if row is not None else None

    async def queue_events_of(self, kinds: Iterable[str], t0: float,
                              t1: float) -> list[QueueLogEvent]:
        """Queue-log events of these kinds with ``t0 <= at < t1``, in order (a report's
        look back: a hold that began before its period)."""
        wanted = list(kinds)
        rows = await self._all(
            f"SELECT * FROM queue_log WHERE at >= ? AND at < ? AND event IN"
            f" ({_placeholders(len(wanted))}) ORDER BY at, id", (t0, t1, *wanted))
        return [_event(r) for r in rows]

    async def csat_between(self, t0: float, t1: float) -> list[Csat]:
        """Ratings given with ``t0 <= at < t1``, in order."""
        rows = await self._all("SELECT * FROM csat WHERE at >= ? AND at < ? ORDER BY at, id",
                               (t0, t1))
        return [_csat(r) for r in rows]

    async def agent_states_for(self, t0: float, t1: float) -> list[StateChange]:
        """Each agent's last state change before ``t0`` (the state they were in when the
        period began), then every change with ``t0 <= at < t1``, in time order."""
        before = await self._all(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY agent_id"
            " ORDER BY at DESC, id DESC) AS rn FROM agent_state_changes WHERE at < ?)"
            " WHERE rn = 1", (t0,))
        during = await self._all(
            "SELECT * FROM agent_state_changes WHERE at >= ? AND at < ? ORDER BY at, id",
            (t0, t1))
        return sorted((_state(r) for r in before), key=lambda s: (s.at, s.id)) + \
            [_state(r) for r in during]

    async def callbacks_requested_between(self, t0: float, t1: float) -> list[Callback]:
        """Callback requests asked for with ``t0 <= requested_at < t1``, in order."""
        rows = await self._all(
            "SELECT * FROM callbacks WHERE requested_at >= ? AND requested_at < ?"
            " ORDER BY requested_at, id", (t0, t1))
        return [_callback(r) for r in rows]

    async def contacts(self, ids: Iterable[str]) -> dict[str, Contact]:
        """The interactions of these ids (unknown ids are left out)."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, Contact] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i:i + _CHUNK]
            rows = await self._all(
                f"{_CONTACT_SQL} WHERE i.id IN ({_placeholders(len(chunk))})", chunk)
            out.update((r["id"], _contact(r)) for r in rows)
        return out

    async def contacts_arrived_between(self, t0: float, t1: float) -> list[Contact]:
        """Inbound interactions of known customers that arrived with ``t0 <= arrived_at
        < t1`` (a transfer's own queue visits are not new contacts), in arrival order."""
        rows = await self._all(
            f"{_CONTACT_SQL} WHERE i.arrived_at >= ? AND i.arrived_at < ?"
            " AND i.customer_id IS NOT NULL AND i.direction = 'inbound'"
            " AND i.transfer_of IS NULL ORDER BY i.arrived_at", (t0, t1))
        return [_contact(r) for r in rows]
