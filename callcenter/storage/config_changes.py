"""The configuration audit trail: who changed which file, when, from what to what."""

from __future__ import annotations

import sqlite3
from typing import Any

from .database import Database, _now
from .models import ConfigChange

__all__ = ["ConfigChangeRecords"]


def _config_change(row: sqlite3.Row) -> ConfigChange:
    return ConfigChange(
        id=row["id"], at=row["at"], actor=row["actor"], filename=row["filename"],
        summary=row["summary"], old_text=row["old_text"], new_text=row["new_text"],
    )  # fmt: skip


class ConfigChangeRecords(Database):
    """Append and list configuration changes."""

    async def record_config_change(
        self,
        actor: str,
        filename: str,
        summary: str | None = None,
        old_text: str | None = None,
        new_text: str | None = None,
        *,
        at: float | None = None,
    ) -> ConfigChange:
        """Append an audit record of a configuration edit (``at`` defaults to now)."""
        row = await self._insert_returning(
            "INSERT INTO config_changes (at, actor, filename, summary, old_text, new_text)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
            (_now(at), actor, filename, summary, old_text, new_text),
        )
        return _config_change(row)

    async def config_changes(
        self, limit: int = 50, *, filename: str | None = None
    ) -> list[ConfigChange]:
        """The latest configuration changes, newest first."""
        sql = "SELECT * FROM config_changes"
        params: list[Any] = []
        if filename is not None:
            sql += " WHERE filename = ?"
            params.append(filename)
        rows = await self._all(sql + " ORDER BY at DESC, id DESC LIMIT ?", [*params, limit])
        return [_config_change(r) for r in rows]
