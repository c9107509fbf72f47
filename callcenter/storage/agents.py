"""Agents' state history and their last presence.

``agent_state_changes`` is an append-only log (reports, adherence); ``agent_presence``
holds one row an agent, overwritten, so presence and device survive a restart.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .database import _UNSET, Database, _now, _placeholders
from .models import AgentPresence, StateChange

__all__ = ["AgentRecords"]


def _state(row: sqlite3.Row) -> StateChange:
    return StateChange(
        id=row["id"], agent_id=row["agent_id"], state=row["state"], reason=row["reason"],
        at=row["at"],
    )  # fmt: skip


class AgentRecords(Database):
    """Record agent state changes; save and reload presence."""

    async def record_agent_state(
        self, agent_id: str, state: str, reason: str | None = None, *, at: float | None = None
    ) -> StateChange:
        """Append an agent state change (``at`` defaults to now)."""
        row = await self._insert_returning(
            "INSERT INTO agent_state_changes (agent_id, state, reason, at)"
            " VALUES (?, ?, ?, ?) RETURNING *",
            (agent_id, state, reason, _now(at)),
        )
        return _state(row)

    async def agent_states_since(
        self, t: float, *, agent_id: str | None = None
    ) -> list[StateChange]:
        """State changes with ``at >= t``, in order."""
        sql = "SELECT * FROM agent_state_changes WHERE at >= ?"
        params: list[Any] = [t]
        if agent_id is not None:
            sql += " AND agent_id = ?"
            params.append(agent_id)
        rows = await self._all(sql + " ORDER BY at, id", params)
        return [_state(r) for r in rows]

    async def latest_agent_states(self) -> dict[str, StateChange]:
        """The last recorded state of every agent (to rebuild presence after a restart)."""
        rows = await self._all(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER ("
            " PARTITION BY agent_id ORDER BY at DESC, id DESC) AS rn FROM agent_state_changes)"
            " WHERE rn = 1 ORDER BY agent_id"
        )
        return {r["agent_id"]: _state(r) for r in rows}

    async def save_presence(
        self,
        agent_id: str,
        presence: str,
        *,
        reason: str | None = None,
        device: str | None = _UNSET,
        at: float | None = None,
    ) -> None:
        """Remember an agent's presence (and device, when given) for the next start."""
        fields: dict[str, Any] = {"presence": presence, "reason": reason, "updated_at": _now(at)}
        if device is not _UNSET:
            fields["device"] = device
        columns = ", ".join(fields)
        updates = ", ".join(f"{c} = excluded.{c}" for c in fields)
        await self._exec(
            f"INSERT INTO agent_presence (agent_id, {columns}) VALUES (?, "
            f"{_placeholders(len(fields))}) ON CONFLICT(agent_id) DO UPDATE SET {updates}",
            [agent_id, *fields.values()],
        )

    async def logged_in_agents(self) -> list[AgentPresence]:
        """Agents whose last saved presence is ready or not ready, by agent id."""
        rows = await self._all(
            "SELECT * FROM agent_presence WHERE presence != 'logged_out' ORDER BY agent_id"
        )
        return [
            AgentPresence(r["agent_id"], r["presence"], r["reason"], r["device"], r["updated_at"])
            for r in rows
        ]
