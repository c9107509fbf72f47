"""Interactions (one call or chat each: queue, agent, times, outcome) and the
cross-channel customer history built from them for the agent's screen-pop.

Nothing here stores a phone number in the clear: ``caller_masked`` is masked on the
way in, whatever the caller passes.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .database import Database, _dumps, _loads, _now, _placeholders
from .errors import NotFound
from .masking import is_masked, mask_number
from .messages import _message
from .models import HistoryEntry, Interaction, Message

__all__ = ["InteractionRecords"]

_INTERACTION_COLUMNS: Final = (
    "channel", "medium", "direction", "customer_id", "queue", "agent_id", "ivr_choices",
    "arrived_at", "offered_at", "answered_at", "ended_at", "wrapup_ended_at", "outcome",
    "disposition", "notes", "caller_masked", "transfer_of", "attributes",
)  # fmt: skip


def _interaction(row: sqlite3.Row) -> Interaction:
    values = {c: row[c] for c in _INTERACTION_COLUMNS}
    values["ivr_choices"] = _loads(values["ivr_choices"], [])
    values["attributes"] = _loads(values["attributes"], {})
    return Interaction(id=row["id"], **values)


class InteractionRecords(Database):
    """Create, update and query interactions; build a customer's history."""

    async def create_interaction(
        self,
        channel: str,
        *,
        id: str | None = None,
        medium: str | None = None,
        direction: str = "inbound",
        customer_id: int | None = None,
        queue: str | None = None,
        agent_id: str | None = None,
        ivr_choices: Sequence[Any] | None = None,
        arrived_at: float | None = None,
        offered_at: float | None = None,
        answered_at: float | None = None,
        ended_at: float | None = None,
        wrapup_ended_at: float | None = None,
        outcome: str | None = None,
        disposition: str | None = None,
        notes: str | None = None,
        caller_masked: str | None = None,
        transfer_of: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Interaction:
        """Record a new call or chat. ``id`` defaults to a new uuid4, ``arrived_at`` to now.

        ``caller_masked`` is passed through :func:`mask_number` unless it is already
        masked, so a full number can never land in that column. A duplicate ``id`` raises
        ``sqlite3.IntegrityError``.
        """
        values: dict[str, Any] = {
            "id": id or str(uuid.uuid4()),
            "channel": channel,
            "medium": medium,
            "direction": direction,
            "customer_id": customer_id,
            "queue": queue,
            "agent_id": agent_id,
            "ivr_choices": _dumps(list(ivr_choices or [])),
            "arrived_at": _now(arrived_at),
            "offered_at": offered_at,
            "answered_at": answered_at,
            "ended_at": ended_at,
            "wrapup_ended_at": wrapup_ended_at,
            "outcome": outcome,
            "disposition": disposition,
            "notes": notes,
            "caller_masked": self._masked(caller_masked),
            "transfer_of": transfer_of,
            "attributes": _dumps(dict(attributes or {})),
        }
        async with self.transaction():
            if customer_id is not None:
                values["customer_id"] = await self._resolve_customer_id(customer_id)
                if values["customer_id"] is None:
                    raise NotFound(f"customer {customer_id}")
            row = await self._insert_returning(
                f"INSERT INTO interactions ({', '.join(values)})"
                f" VALUES ({_placeholders(len(values))}) RETURNING *",
                list(values.values()),
            )
            return _interaction(row)

    @staticmethod
    def _masked(value: str | None) -> str | None:
        if value is None or value == "" or is_masked(value):
            return value
        return mask_number(value)

    async def update_interaction(self, id: str, /, **fields: Any) -> Interaction:
        """Set some columns of an interaction (see ``Interaction`` for the names).

        Only interaction columns other than ``id`` are accepted (``ValueError`` otherwise);
        ``ivr_choices`` and ``attributes`` replace the stored JSON.
        """
        unknown = set(fields) - set(_INTERACTION_COLUMNS)
        if unknown:
            raise ValueError(f"not updatable interaction fields: {sorted(unknown)}")
        if "ivr_choices" in fields:
            fields["ivr_choices"] = _dumps(list(fields["ivr_choices"] or []))
        if "attributes" in fields:
            fields["attributes"] = _dumps(dict(fields["attributes"] or {}))
        if "caller_masked" in fields:
            fields["caller_masked"] = self._masked(fields["caller_masked"])
        async with self._hold():
            if fields.get("customer_id") is not None:
                resolved = await self._resolve_customer_id(fields["customer_id"])
                if resolved is None:
                    raise NotFound(f"customer {fields['customer_id']}")
                fields["customer_id"] = resolved
            if not fields:
                interaction = await self.get_interaction(id)
            else:  # one statement: atomic on its own, and the row comes back with it
                rows = await self._update_returning("interactions", "id", id, fields)
                interaction = _interaction(rows[0]) if rows else None
            if interaction is None:
                raise NotFound(f"interaction {id}")
            return interaction

    async def get_interaction(self, id: str) -> Interaction | None:
        row = await self._one("SELECT * FROM interactions WHERE id = ?", (id,))
        return None if row is None else _interaction(row)

    async def open_interactions(self, channel: str | None = None) -> list[Interaction]:
        """Interactions that arrived and have not ended, oldest first (restart recovery)."""
        sql = "SELECT * FROM interactions WHERE arrived_at IS NOT NULL AND ended_at IS NULL"
        params: list[Any] = []
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        rows = await self._all(sql + " ORDER BY arrived_at, id", params)
        return [_interaction(r) for r in rows]

    async def close_unseen(self, ids: Sequence[str], at: float) -> int:
        """End interactions whose end nobody saw (the engine was down): "answered" if
        they were, else "lost". One statement: a restart closes hundreds at once.
        Returns how many it closed (ones ended meanwhile are left as they are)."""
        return await self._exec(
            "UPDATE interactions SET ended_at = ?, outcome = CASE WHEN answered_at IS NOT"
            " NULL THEN 'answered' ELSE 'lost' END WHERE ended_at IS NULL AND id IN"
            " (SELECT value FROM json_each(?))", (at, _dumps(list(ids))))

    async def interactions_between(
        self, t0: float, t1: float, *, queue: str | None = None, channel: str | None = None
    ) -> list[Interaction]:
        """Interactions with ``t0 <= arrived_at < t1``, oldest first (for reports)."""
        sql = "SELECT * FROM interactions WHERE arrived_at >= ? AND arrived_at < ?"
        params: list[Any] = [t0, t1]
        if queue is not None:
            sql += " AND queue = ?"
            params.append(queue)
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        rows = await self._all(sql + " ORDER BY arrived_at, id", params)
        return [_interaction(r) for r in rows]

    async def customer_history(
        self, customer_id: int, limit: int = 50, *, messages_per_interaction: int = 5
    ) -> list[HistoryEntry]:
        """The customer's interactions on every channel, newest first, for the screen-pop.

        Each entry carries the latest summary text (if any) and the last
        ``messages_per_interaction`` messages (oldest first; empty for calls).
        A merged-away customer id gives the survivor's history.
        """
        async with self._hold():
            resolved = await self._resolve_customer_id(customer_id)
            if resolved is None:
                return []
            rows = await self._all(
                "SELECT * FROM interactions WHERE customer_id = ?"
                " ORDER BY COALESCE(arrived_at, offered_at, answered_at, ended_at) DESC,"
                " rowid DESC LIMIT ?",
                (resolved, limit),
            )
            interactions = [_interaction(r) for r in rows]
            if not interactions:
                return []
            ids = [i.id for i in interactions]
            marks = _placeholders(len(ids))
            summary_rows = await self._all(
                "SELECT interaction_id, text FROM ("
                " SELECT interaction_id, text, ROW_NUMBER() OVER ("
                "  PARTITION BY interaction_id ORDER BY created_at DESC, id DESC) AS rn"
                f" FROM summaries WHERE interaction_id IN ({marks})) WHERE rn = 1",
                ids,
            )
            summaries = {r["interaction_id"]: r["text"] for r in summary_rows}
            messages: dict[str, list[Message]] = {}
            if messages_per_interaction > 0:
                message_rows = await self._all(
                    "SELECT * FROM ("
                    " SELECT *, ROW_NUMBER() OVER ("
                    "  PARTITION BY interaction_id ORDER BY created_at DESC, id DESC) AS rn"
                    f" FROM messages WHERE interaction_id IN ({marks}))"
                    " WHERE rn <= ? ORDER BY created_at, id",
                    [*ids, messages_per_interaction],
                )
                for r in message_rows:
                    messages.setdefault(r["interaction_id"], []).append(_message(r))
            return [
                HistoryEntry(i, summaries.get(i.id), messages.get(i.id, [])) for i in interactions
            ]
