"""Versioned schema migrations: numbered ``.sql`` files applied in order at open.

Files are named ``NNNN_description.sql`` (e.g. ``0001_initial.sql``). Each one is applied
in its own ``BEGIN IMMEDIATE`` transaction together with its row in ``schema_migrations``,
so a migration is either fully applied and recorded, or not at all. The applied set is
re-read inside that transaction, so two processes opening the same file at once do not
apply a migration twice.

Migrations are append-only: never edit one that has shipped, add a new file instead. The
file's SHA-256 is recorded and a mismatch is logged as a warning. Statements that SQLite
ignores inside a transaction (``PRAGMA foreign_keys``, ``VACUUM``) must not be relied on.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from .errors import MigrationError

__all__ = ["Migration", "apply_migrations", "load_migrations", "split_statements"]

log = logging.getLogger(__name__)

_FILENAME = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str
    checksum: str


def load_migrations(directory: str | Path | None = None) -> list[Migration]:
    """Read the migration files, sorted by version; the package's own set by default."""
    if directory is None:
        files = [
            (entry.name, entry.read_text(encoding="utf-8"))
            for entry in resources.files("callcenter.storage").joinpath("migrations").iterdir()
            if entry.name.endswith(".sql")
        ]
    else:
        files = [(p.name, p.read_text(encoding="utf-8")) for p in Path(directory).glob("*.sql")]
    migrations: dict[int, Migration] = {}
    for filename, text in files:
        match = _FILENAME.match(filename)
        if not match:
            raise MigrationError(f"migration file name not NNNN_name.sql: {filename}")
        version = int(match.group(1))
        if version in migrations:
            raise MigrationError(f"two migrations with version {version}")
        checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
        migrations[version] = Migration(version, match.group(2), text, checksum)
    return [migrations[v] for v in sorted(migrations)]


def split_statements(script: str) -> list[str]:
    """Split a SQL script into single statements (trigger bodies are kept whole)."""
    statements: list[str] = []
    start = 0
    for i, ch in enumerate(script):
        if ch == ";":
            chunk = script[start : i + 1]
            if sqlite3.complete_statement(chunk):
                if _has_code(chunk[:-1]):
                    statements.append(chunk.strip())
                start = i + 1
    rest = script[start:]
    if _has_code(rest):
        statements.append(rest.strip())
    return statements


def _has_code(sql: str) -> bool:
    without_block = re.sub(r"/\*.*?\*/", "", sql, flags=re.S)
    lines = [line.split("--", 1)[0].strip() for line in without_block.splitlines()]
    return any(lines)


async def _applied(db: aiosqlite.Connection) -> dict[int, str]:
    async with db.execute("SELECT version, checksum FROM schema_migrations") as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


async def apply_migrations(db: aiosqlite.Connection, migrations: list[Migration]) -> list[int]:
    """Apply the migrations not yet recorded; return the versions applied now."""
    await db.execute(_CREATE_TABLE)
    applied = await _applied(db)
    known = {m.version for m in migrations}
    if applied and max(applied) > max(known, default=0):
        raise MigrationError(
            f"database schema version {max(applied)} is newer than this code knows "
            f"({max(known, default=0)}); refusing to open it"
        )
    for m in migrations:
        if m.version in applied and applied[m.version] != m.checksum:
            log.warning("migration %04d_%s changed after it was applied", m.version, m.name)
    done: list[int] = []
    for m in migrations:
        if m.version in applied:
            continue
        await db.execute("BEGIN IMMEDIATE")
        try:
            if m.version in await _applied(db):  # another process got there first
                await db.rollback()
                continue
            for statement in split_statements(m.sql):
                await db.execute(statement)
            await db.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                " VALUES (?, ?, ?, ?)",
                (m.version, m.name, m.checksum, time.time()),
            )
            await db.commit()
        except BaseException as exc:
            if db.in_transaction:
                await db.rollback()
            if isinstance(exc, sqlite3.Error):
                raise MigrationError(f"migration {m.version:04d}_{m.name} failed: {exc}") from exc
            raise
        log.info("applied schema migration %04d_%s", m.version, m.name)
        done.append(m.version)
    return done
