"""The shared half of the store: one aiosqlite connection, its lock and transactions.

Every record module (``customers``, ``interactions``...) is a mixin over :class:`Database`
and talks to SQLite only through its helpers, so locking and transaction rules live in
one place:

* One connection per store. aiosqlite runs every statement on one worker thread, so
  there is no parallelism to gain from more; an ``asyncio.Lock`` (re-entrant per task)
  serializes operations so that a multi-statement transaction of one task never
  interleaves with statements of another. Reads take the same lock, so they never see
  another task's uncommitted writes.
* A method's writes run in ``BEGIN IMMEDIATE`` ... ``COMMIT``, or, when it is one
  statement, on their own (SQLite makes a statement atomic); when a method returns, its
  data is committed (durable across a process crash; with ``synchronous=NORMAL`` the last
  transactions may be lost on power failure, pass ``synchronous="FULL"`` to avoid that).
* Timestamps are float epoch seconds (UTC) given by the caller. Where a parameter says
  "defaults to now" the store uses ``time.time()`` when it is omitted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, Self

import aiosqlite
from argon2 import PasswordHasher

from .errors import StorageError
from .migrate import apply_migrations, load_migrations

__all__ = ["PASSWORD_WORKERS", "Database", "default_password_hasher"]

log = logging.getLogger(__name__)

PASSWORD_WORKERS: Final = 2


def default_password_hasher() -> PasswordHasher:
    """argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): about 40-70 ms
    and 19 MiB a check here, so 135 agents signing in at once take seconds, not a minute.
    Hashes made with other parameters are upgraded at their next successful sign-in."""
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


# "Leave this field as it is", where ``None`` is a value a caller may want to store.
_UNSET: Any = _Unset()


class _DropStatementLogs(logging.Filter):
    """aiosqlite logs every statement *with its parameters* at DEBUG level: phone numbers,
    message bodies, password and session hashes. Those records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _silence_statement_logging() -> None:
    logger = logging.getLogger("aiosqlite")
    if not any(isinstance(f, _DropStatementLogs) for f in logger.filters):
        logger.addFilter(_DropStatementLogs())


def _update_sql(table: str, key: str, fields: Mapping[str, Any]) -> str:
    assignments = ", ".join(f"{column} = ?" for column in fields)
    return f"UPDATE {table} SET {assignments} WHERE {key} = ?"


def _now(value: float | None) -> float:
    return time.time() if value is None else float(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    return json.loads(text)


def _first(value: Any, default: Any) -> Any:
    return default if value is None else value


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


class Database:
    """The connection, its lock and the SQL helpers the record mixins are built on.

    Create with :meth:`open`, not the constructor. Use as
    ``async with await Store.open(path) as store:`` or call :meth:`close`.
    """

    def __init__(
        self, db: aiosqlite.Connection, path: str, password_hasher: PasswordHasher
    ) -> None:
        self._db: aiosqlite.Connection | None = db
        self.path = path
        self._hasher = password_hasher
        # Password hashing is CPU and memory heavy: a whole shift signing in at once
        # must neither stall the event loop nor run dozens of hashes side by side.
        # The pool lives here because close() must end it with the connection.
        self._hashing = ThreadPoolExecutor(
            max_workers=PASSWORD_WORKERS, thread_name_prefix="password"
        )
        self._dummy_hash: str | None = None
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._tx_open = False

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        synchronous: str = "NORMAL",
        migrations_dir: str | os.PathLike[str] | None = None,
        password_hasher: PasswordHasher | None = None,
    ) -> Self:
        """Open (creating if needed) the database and bring its schema up to date.

        ``migrations_dir`` replaces the package's migrations (tests use it to build an
        older schema). ``password_hasher`` defaults to argon2-cffi's recommended settings.
        """
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"bad synchronous mode {synchronous!r}")
        _silence_statement_logging()
        path_str = os.fspath(path)
        if path_str != ":memory:" and not path_str.startswith("file:"):
            Path(path_str).parent.mkdir(parents=True, exist_ok=True)
        migrations = load_migrations(migrations_dir)
        db = await aiosqlite.connect(path_str, isolation_level=None, timeout=busy_timeout)
        try:
            db.row_factory = sqlite3.Row
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            async with db.execute("PRAGMA journal_mode = WAL") as cur:
                mode = (await cur.fetchone())[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite journal_mode is %s, not WAL (path %s)", mode, path_str)
            await db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            await db.execute("PRAGMA foreign_keys = ON")
            await apply_migrations(db, migrations)
        except BaseException:
            await db.close()
            raise
        return cls(db, path_str, password_hasher or default_password_hasher())

    async def close(self) -> None:
        """Wait for running operations, then close the connection. Idempotent."""
        if self._db is None:
            return
        async with self._lock:
            db, self._db = self._db, None
            if db is not None:
                try:
                    await db.execute("PRAGMA optimize")
                finally:
                    await db.close()
                    self._hashing.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._db is None

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError("store is closed")
        return self._db

    # ------------------------------------------------------------------ locking

    @asynccontextmanager
    async def _hold(self) -> AsyncIterator[None]:
        """Hold the store's lock; re-entrant for the task that already holds it."""
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            yield
            return
        async with self._lock:
            self._owner = task
            try:
                yield
            finally:
                self._owner = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the block in one write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``).

        Store methods called inside join it, so several writes can be made atomic::

            async with store.transaction():
                await store.update_interaction(i, ended_at=t, outcome="answered")
                await store.log_event("COMPLETECALLER", at=t, interaction_id=i)

        Any exception rolls everything back. Do not start other tasks that use the store
        and wait for them inside the block: they would wait for the lock you hold.
        """
        async with self._hold():
            if self._tx_open:
                yield
                return
            await self._end_leftover_transaction()
            db = self._conn()
            await db.execute("BEGIN IMMEDIATE")
            self._tx_open = True
            try:
                yield
            except BaseException:
                self._tx_open = False
                await asyncio.shield(db.rollback())
                raise
            self._tx_open = False
            try:
                await asyncio.shield(db.commit())
            except BaseException:
                if db.in_transaction:
                    await asyncio.shield(db.rollback())
                raise

    # ------------------------------------------------------------------ statements

    # Each statement is one trip to aiosqlite's thread (a cursor's execute, fetch and
    # close would be three), and a lone write outside ``transaction()`` runs in
    # autocommit (the connection's isolation_level is None: SQLite makes one statement
    # atomic by itself) instead of BEGIN / statement / COMMIT. Measured under load,
    # these trips (a thread hand-off and a loop wake-up each) were a third of the
    # engine's CPU.

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._hold():
            return list(await self._conn().execute_fetchall(sql, params))

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement (in the open transaction, else on its own); return the
        rows changed."""
        async with self._hold():
            await self._end_leftover_transaction()
            cursor = await self._conn().execute(sql, params)
            # A finished write holds no statement: the cursor needs no close (a trip).
            return cursor.rowcount

    async def _insert_returning(self, sql: str, params: Sequence[Any]) -> sqlite3.Row:
        """Run one ``INSERT ... RETURNING *`` (in the open transaction, else on its own);
        return the new row."""
        return next(iter(await self._write_returning(sql, params)))

    async def _write_returning(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        """Run one write statement with a ``RETURNING`` clause (in the open transaction,
        else on its own); return its rows."""
        async with self._hold():
            await self._end_leftover_transaction()
            return list(await self._conn().execute_fetchall(sql, params))

    async def _end_leftover_transaction(self) -> None:
        """Outside ``transaction()``, a write must not land in a transaction an operation
        cancelled mid-way left open (it would never be committed)."""
        db = self._conn()
        if not self._tx_open and db.in_transaction:
            await db.rollback()

    async def _update(self, table: str, key: str, key_value: Any, fields: Mapping[str, Any]) -> int:
        """Set ``fields`` of the rows whose ``key`` is ``key_value``; return how many."""
        return await self._exec(_update_sql(table, key, fields), [*fields.values(), key_value])

    async def _update_returning(self, table: str, key: str, key_value: Any,
                                fields: Mapping[str, Any]) -> list[sqlite3.Row]:
        """``_update``, returning the rows as they are now (one statement, one trip)."""
        return await self._write_returning(_update_sql(table, key, fields) + " RETURNING *",
                                           [*fields.values(), key_value])

    async def _resolve_customer_id(self, customer_id: int) -> int | None:
        """Follow ``merged_into`` to the surviving customer; None if it does not exist.

        Here rather than in ``customers`` because every record that names a customer
        (interactions, messages, callbacks) must store the survivor's id.
        """
        current = customer_id
        for _ in range(64):
            row = await self._one("SELECT merged_into FROM customers WHERE id = ?", (current,))
            if row is None:
                return None
            if row["merged_into"] is None:
                return current
            current = row["merged_into"]
        raise StorageError(f"customer merge chain too long from {customer_id}")

    # ------------------------------------------------------------------ schema

    async def schema_version(self) -> int:
        """Highest applied migration version."""
        row = await self._one("SELECT MAX(version) AS v FROM schema_migrations")
        return int(row["v"] or 0) if row else 0

    async def pragmas(self) -> dict[str, Any]:
        """The connection's settings that durability depends on (for health checks)."""
        out: dict[str, Any] = {}
        for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout"):
            row = await self._one(f"PRAGMA {name}")
            out[name] = row[0] if row is not None else None
        return out

    async def applied_migrations(self) -> list[tuple[int, str, float]]:
        """``(version, name, applied_at)`` of every applied migration, in order."""
        rows = await self._all(
            "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
        )
        return [(r["version"], r["name"], r["applied_at"]) for r in rows]
