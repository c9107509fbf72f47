"""The contact center's durable store: one SQLite file in WAL mode, accessed through aiosqlite.

Design:

* One connection per ``Store``. aiosqlite runs every statement on one worker thread, so
  there is no parallelism to gain from more; an ``asyncio.Lock`` (re-entrant per task)
  serializes operations so that a multi-statement transaction of one task never
  interleaves with statements of another. Reads take the same lock, so they never see
  another task's uncommitted writes.
* Every write runs in ``BEGIN IMMEDIATE`` ... ``COMMIT``; when a method returns, its data
  is committed (durable across a process crash; with ``synchronous=NORMAL`` the last
  transactions may be lost on power failure, pass ``synchronous="FULL"`` to avoid that).
* Timestamps are float epoch seconds (UTC) given by the caller. Where a parameter says
  "defaults to now" the store uses ``time.time()`` when it is omitted.
* Nothing here logs phone numbers; rows holding one mask it in ``repr``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import secrets
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import aiosqlite
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import NotFound, StorageError
from .masking import is_masked, mask_number
from .migrate import apply_migrations, load_migrations
from .models import (
    IDENTITY_KINDS,
    USER_ROLES,
    AgentPresence,
    Callback,
    ConfigChange,
    Customer,
    CustomerIdentity,
    HistoryEntry,
    Interaction,
    Message,
    QueueLogEvent,
    Recording,
    Session,
    StateChange,
    Summary,
    TranscriptSegment,
    User,
)

__all__ = ["DEFAULT_SESSION_TTL", "Store", "hash_session_token", "normalize_identity"]

log = logging.getLogger(__name__)

DEFAULT_SESSION_TTL: Final = 12 * 3600.0
PASSWORD_WORKERS: Final = 2


def default_password_hasher() -> PasswordHasher:
    """argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): about 40-70 ms
    and 19 MiB a check here, so 135 agents signing in at once take seconds, not a minute.
    Hashes made with other parameters are upgraded at their next successful sign-in."""
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
RECORDING_LEGS: Final = frozenset({"mixed", "caller", "agent"})
DELIVERED_STATUSES: Final = frozenset({"sent", "delivered"})
RETRYABLE_STATUSES: Final = ("pending", "failed")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


_UNSET: Any = _Unset()

_INTERACTION_COLUMNS: Final = (
    "channel", "medium", "direction", "customer_id", "queue", "agent_id", "ivr_choices",
    "arrived_at", "offered_at", "answered_at", "ended_at", "wrapup_ended_at", "outcome",
    "disposition", "notes", "caller_masked", "transfer_of", "attributes",
)  # fmt: skip
_RECORDING_COLUMNS: Final = frozenset(
    {"path", "leg", "started_at", "ended_at", "duration", "size", "status"}
)
_CALLBACK_COLUMNS: Final = frozenset(
    {
        "interaction_id", "customer_id", "number", "queue", "status", "attempts",
        "last_attempt_at", "next_attempt_at", "completed_at", "notes",
    }
)  # fmt: skip
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


class _DropStatementLogs(logging.Filter):
    """aiosqlite logs every statement *with its parameters* at DEBUG level: phone numbers,
    message bodies, password and session hashes. Those records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _silence_statement_logging() -> None:
    logger = logging.getLogger("aiosqlite")
    if not any(isinstance(f, _DropStatementLogs) for f in logger.filters):
        logger.addFilter(_DropStatementLogs())


def _now(value: float | None) -> float:
    return time.time() if value is None else float(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    return json.loads(text)


def hash_session_token(token: str) -> str:
    """Hex SHA-256 of a session token: what the ``sessions`` table stores instead of it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_identity(kind: str, value: str) -> tuple[str, str]:
    """Validate the kind and canonicalize the value so the same person maps to one row.

    Phones lose separators (spaces, dashes, dots, parentheses); emails are lower-cased;
    every value is stripped. No country-code rewriting is done: callers should pass
    numbers in one consistent form (E.164 preferred).
    """
    if kind not in IDENTITY_KINDS:
        raise ValueError(
            f"unknown identity kind {kind!r}; expected one of {sorted(IDENTITY_KINDS)}"
        )
    text = str(value).strip()
    if kind == "phone":
        text = _PHONE_SEPARATORS.sub("", text)
    elif kind == "email":
        text = text.lower()
    if not text:
        raise ValueError(f"empty {kind} identity")
    return kind, text


# ---------------------------------------------------------------------------- row mappers


def _identity(row: sqlite3.Row) -> CustomerIdentity:
    return CustomerIdentity(
        id=row["id"], customer_id=row["customer_id"], kind=row["kind"], value=row["value"],
        created_at=row["created_at"],
    )  # fmt: skip


def _customer(row: sqlite3.Row, identities: list[CustomerIdentity]) -> Customer:
    return Customer(
        id=row["id"], name=row["name"], attributes=_loads(row["attributes"], {}),
        created_at=row["created_at"], updated_at=row["updated_at"],
        merged_into=row["merged_into"], merged_at=row["merged_at"], identities=identities,
    )  # fmt: skip


def _interaction(row: sqlite3.Row) -> Interaction:
    values = {c: row[c] for c in _INTERACTION_COLUMNS}
    values["ivr_choices"] = _loads(values["ivr_choices"], [])
    values["attributes"] = _loads(values["attributes"], {})
    return Interaction(id=row["id"], **values)


_MESSAGE_FIELDS: Final = (
    "id", "interaction_id", "customer_id", "direction", "sender", "body", "content_type",
    "source", "external_id", "created_at", "delivered_at", "delivery_status", "attempts",
    "last_error",
)  # fmt: skip


def _message(row: sqlite3.Row, duplicate: bool = False) -> Message:
    return Message(**{f: row[f] for f in _MESSAGE_FIELDS}, duplicate=duplicate)


def _recording(row: sqlite3.Row) -> Recording:
    return Recording(
        id=row["id"], interaction_id=row["interaction_id"], path=row["path"], leg=row["leg"],
        started_at=row["started_at"], ended_at=row["ended_at"], duration=row["duration"],
        size=row["size"], status=row["status"], created_at=row["created_at"],
    )  # fmt: skip


def _segment(row: sqlite3.Row) -> TranscriptSegment:
    return TranscriptSegment(
        id=row["id"], interaction_id=row["interaction_id"], recording_id=row["recording_id"],
        speaker=row["speaker"], leg=row["leg"], start=row["start_offset"],
        end=row["end_offset"], text=row["text"], engine=row["engine"],
        confidence=row["confidence"], created_at=row["created_at"],
    )  # fmt: skip


def _summary(row: sqlite3.Row) -> Summary:
    return Summary(
        id=row["id"], interaction_id=row["interaction_id"], text=row["text"],
        engine=row["engine"], created_at=row["created_at"],
    )  # fmt: skip


def _state(row: sqlite3.Row) -> StateChange:
    return StateChange(
        id=row["id"], agent_id=row["agent_id"], state=row["state"], reason=row["reason"],
        at=row["at"],
    )  # fmt: skip


def _event(row: sqlite3.Row) -> QueueLogEvent:
    return QueueLogEvent(
        id=row["id"], at=row["at"], interaction_id=row["interaction_id"], queue=row["queue"],
        agent=row["agent"], event=row["event"], data=_loads(row["data"], {}),
    )  # fmt: skip


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"], username=row["username"], display_name=row["display_name"],
        role=row["role"], teams=_loads(row["teams"], []), agent_id=row["agent_id"],
        disabled=bool(row["disabled"]), has_password=row["password_hash"] is not None,
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


def _session(row: sqlite3.Row) -> Session:
    return Session(
        token_hash=row["token_hash"], username=row["username"], created_at=row["created_at"],
        expires_at=row["expires_at"], last_seen=row["last_seen"],
    )  # fmt: skip


def _config_change(row: sqlite3.Row) -> ConfigChange:
    return ConfigChange(
        id=row["id"], at=row["at"], actor=row["actor"], filename=row["filename"],
        summary=row["summary"], old_text=row["old_text"], new_text=row["new_text"],
    )  # fmt: skip


def _callback(row: sqlite3.Row) -> Callback:
    return Callback(
        id=row["id"], interaction_id=row["interaction_id"], customer_id=row["customer_id"],
        number=row["number"], requested_at=row["requested_at"], queue=row["queue"],
        status=row["status"], attempts=row["attempts"], last_attempt_at=row["last_attempt_at"],
        next_attempt_at=row["next_attempt_at"], completed_at=row["completed_at"],
        notes=row["notes"],
    )  # fmt: skip


def _first(value: Any, default: Any) -> Any:
    return default if value is None else value


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


# ---------------------------------------------------------------------------------- store


class Store:
    """Async facade over the SQLite database. Create with :meth:`open`, not the constructor.

    Use as ``async with await Store.open(path) as store:`` or call :meth:`close`.
    Methods returning a row return ``None`` when it does not exist; ``update_*`` and
    ``link_*`` methods raise :class:`~callcenter.storage.errors.NotFound` instead.
    """

    def __init__(
        self, db: aiosqlite.Connection, path: str, password_hasher: PasswordHasher
    ) -> None:
        self._db: aiosqlite.Connection | None = db
        self.path = path
        self._hasher = password_hasher
        # Password hashing is CPU and memory heavy: a whole shift signing in at once
        # must neither stall the event loop nor run dozens of hashes side by side.
        self._hashing = ThreadPoolExecutor(max_workers=PASSWORD_WORKERS,
                                           thread_name_prefix="password")
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
    ) -> Store:
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

    async def __aenter__(self) -> Store:
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
            db = self._conn()
            if db.in_transaction:  # left over by an operation cancelled mid-way
                await db.rollback()
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

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._hold(), self._conn().execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement (inside a transaction); return the rows changed."""
        async with self.transaction(), self._conn().execute(sql, params) as cur:
            return cur.rowcount

    async def _update(self, table: str, key: str, key_value: Any, fields: Mapping[str, Any]) -> int:
        assignments = ", ".join(f"{column} = ?" for column in fields)
        return await self._exec(
            f"UPDATE {table} SET {assignments} WHERE {key} = ?", [*fields.values(), key_value]
        )

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

    # ------------------------------------------------------------------ customers

    async def _resolve_customer_id(self, customer_id: int) -> int | None:
        """Follow ``merged_into`` to the surviving customer; None if it does not exist."""
        current = customer_id
        for _ in range(64):
            row = await self._one("SELECT merged_into FROM customers WHERE id = ?", (current,))
            if row is None:
                return None
            if row["merged_into"] is None:
                return current
            current = row["merged_into"]
        raise StorageError(f"customer merge chain too long from {customer_id}")

    async def get_customer(self, customer_id: int) -> Customer | None:
        """The customer with their identities. A merged-away id returns the survivor."""
        async with self._hold():
            resolved = await self._resolve_customer_id(customer_id)
            if resolved is None:
                return None
            row = await self._one("SELECT * FROM customers WHERE id = ?", (resolved,))
            assert row is not None
            identities = await self._all(
                "SELECT * FROM customer_identities WHERE customer_id = ? ORDER BY id", (resolved,)
            )
            return _customer(row, [_identity(r) for r in identities])

    async def find_customer(self, kind: str, value: str) -> Customer | None:
        """The customer owning this identity, or None (never creates)."""
        kind, value = normalize_identity(kind, value)
        async with self._hold():
            row = await self._one(
                "SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?",
                (kind, value),
            )
            return None if row is None else await self.get_customer(row["customer_id"])

    async def find_or_create_customer(
        self, kind: str, value: str, name: str | None = None, *, now: float | None = None
    ) -> Customer:
        """The customer owning this identity, created (with ``created_at`` = now) if none.

        If ``name`` is given and the existing customer has none, it is filled in.
        """
        kind, value = normalize_identity(kind, value)
        at = _now(now)
        async with self.transaction():
            row = await self._one(
                "SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?",
                (kind, value),
            )
            if row is not None:
                customer_id = await self._resolve_customer_id(row["customer_id"])
                assert customer_id is not None
                if name:
                    await self._exec(
                        "UPDATE customers SET name = ?, updated_at = ? "
                        "WHERE id = ? AND (name IS NULL OR name = '')",
                        (name, at, customer_id),
                    )
            else:
                async with self._conn().execute(
                    "INSERT INTO customers (name, attributes, created_at, updated_at)"
                    " VALUES (?, '{}', ?, ?)",
                    (name, at, at),
                ) as cur:
                    customer_id = cur.lastrowid
                await self._exec(
                    "INSERT INTO customer_identities (customer_id, kind, value, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (customer_id, kind, value, at),
                )
            customer = await self.get_customer(customer_id)
            assert customer is not None
            return customer

    async def link_identity(
        self, customer_id: int, kind: str, value: str, *, now: float | None = None
    ) -> Customer:
        """Attach an identity to a customer; returns the (possibly merged) customer.

        If the identity already belongs to another customer, the two are MERGED. The
        survivor is the OLDER customer (smaller ``created_at``, then smaller id), so the
        id agents and reports have seen longest stays valid; see :meth:`merge_customers`.
        """
        kind, value = normalize_identity(kind, value)
        at = _now(now)
        async with self.transaction():
            resolved = await self._resolve_customer_id(customer_id)
            if resolved is None:
                raise NotFound(f"customer {customer_id}")
            row = await self._one(
                "SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?",
                (kind, value),
            )
            if row is None:
                await self._exec(
                    "INSERT INTO customer_identities (customer_id, kind, value, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (resolved, kind, value, at),
                )
                await self._exec("UPDATE customers SET updated_at = ? WHERE id = ?", (at, resolved))
                survivor = resolved
            else:
                owner = await self._resolve_customer_id(row["customer_id"])
                assert owner is not None
                if owner == resolved:
                    survivor = resolved
                else:
                    a = await self._one(
                        "SELECT id, created_at FROM customers WHERE id = ?", (resolved,)
                    )
                    b = await self._one(
                        "SELECT id, created_at FROM customers WHERE id = ?", (owner,)
                    )
                    assert a is not None and b is not None
                    older, newer = sorted((a, b), key=lambda r: (r["created_at"], r["id"]))
                    survivor = older["id"]
                    await self._merge(survivor, newer["id"], at)
            customer = await self.get_customer(survivor)
            assert customer is not None
            return customer

    async def merge_customers(
        self, survivor_id: int, other_id: int, *, now: float | None = None
    ) -> Customer:
        """Merge ``other_id`` into ``survivor_id`` (explicit choice, e.g. by a supervisor).

        Identities, interactions, messages and callbacks move to the survivor; attributes
        are combined (the survivor's values win on conflicts) and the survivor keeps its
        name unless it has none. The other row is kept with ``merged_into`` set, so old
        ids still resolve through :meth:`get_customer`.
        """
        at = _now(now)
        async with self.transaction():
            keep = await self._resolve_customer_id(survivor_id)
            other = await self._resolve_customer_id(other_id)
            if keep is None:
                raise NotFound(f"customer {survivor_id}")
            if other is None:
                raise NotFound(f"customer {other_id}")
            if keep != other:
                await self._merge(keep, other, at)
            customer = await self.get_customer(keep)
            assert customer is not None
            return customer

    async def _merge(self, survivor: int, loser: int, at: float) -> None:
        s = await self._one("SELECT name, attributes FROM customers WHERE id = ?", (survivor,))
        lo = await self._one("SELECT name, attributes FROM customers WHERE id = ?", (loser,))
        assert s is not None and lo is not None
        attributes = {**_loads(lo["attributes"], {}), **_loads(s["attributes"], {})}
        name = s["name"] or lo["name"]
        for table in ("customer_identities", "interactions", "messages", "callbacks"):
            await self._exec(
                f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (survivor, loser)
            )
        await self._exec(
            "UPDATE customers SET name = ?, attributes = ?, updated_at = ? WHERE id = ?",
            (name, _dumps(attributes), at, survivor),
        )
        await self._exec(
            "UPDATE customers SET merged_into = ?, merged_at = ?, updated_at = ? WHERE id = ?",
            (survivor, at, at, loser),
        )
        # Keep chains one hop long for customers merged into the loser earlier.
        await self._exec(
            "UPDATE customers SET merged_into = ? WHERE merged_into = ?", (survivor, loser)
        )
        log.info("merged customer %s into %s", loser, survivor)

    async def update_customer(
        self,
        customer_id: int,
        *,
        name: str | None = _UNSET,
        attributes: Mapping[str, Any] | None = None,
        replace_attributes: bool = False,
        now: float | None = None,
    ) -> Customer:
        """Change the name and/or attributes (vip, language...).

        ``attributes`` are merged into the existing ones; a key set to ``None`` is
        removed. With ``replace_attributes=True`` they replace the whole object.
        """
        at = _now(now)
        async with self.transaction():
            resolved = await self._resolve_customer_id(customer_id)
            if resolved is None:
                raise NotFound(f"customer {customer_id}")
            fields: dict[str, Any] = {"updated_at": at}
            if name is not _UNSET:
                fields["name"] = name
            if attributes is not None:
                if replace_attributes:
                    merged = dict(attributes)
                else:
                    row = await self._one(
                        "SELECT attributes FROM customers WHERE id = ?", (resolved,)
                    )
                    assert row is not None
                    merged = {**_loads(row["attributes"], {}), **attributes}
                fields["attributes"] = _dumps({k: v for k, v in merged.items() if v is not None})
            await self._update("customers", "id", resolved, fields)
            customer = await self.get_customer(resolved)
            assert customer is not None
            return customer

    # ------------------------------------------------------------------ interactions

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
            await self._exec(
                f"INSERT INTO interactions ({', '.join(values)})"
                f" VALUES ({_placeholders(len(values))})",
                list(values.values()),
            )
            interaction = await self.get_interaction(values["id"])
            assert interaction is not None
            return interaction

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
        async with self.transaction():
            if fields.get("customer_id") is not None:
                resolved = await self._resolve_customer_id(fields["customer_id"])
                if resolved is None:
                    raise NotFound(f"customer {fields['customer_id']}")
                fields["customer_id"] = resolved
            if fields:
                changed = await self._update("interactions", "id", id, fields)
                if not changed:
                    raise NotFound(f"interaction {id}")
            interaction = await self.get_interaction(id)
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

    # ------------------------------------------------------------------ messages

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
            async with self._conn().execute(
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
            ) as cur:
                inserted = await cur.fetchall()
            return _message(inserted[0])

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

    # ------------------------------------------------------------------ recordings

    async def add_recording(
        self,
        interaction_id: str,
        path: str,
        *,
        leg: str = "mixed",
        started_at: float | None = None,
        ended_at: float | None = None,
        duration: float | None = None,
        size: int | None = None,
        status: str = "recording",
        created_at: float | None = None,
    ) -> Recording:
        """Register a recording file (``created_at`` defaults to now)."""
        if leg not in RECORDING_LEGS:
            raise ValueError(f"leg must be one of {sorted(RECORDING_LEGS)}")
        async with self.transaction():
            async with self._conn().execute(
                "INSERT INTO recordings (interaction_id, path, leg, started_at, ended_at,"
                " duration, size, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING *",
                (
                    interaction_id,
                    path,
                    leg,
                    started_at,
                    ended_at,
                    duration,
                    size,
                    status,
                    _now(created_at),
                ),
            ) as cur:
                rows = await cur.fetchall()
            return _recording(rows[0])

    async def update_recording(self, recording_id: int, /, **fields: Any) -> Recording:
        """Set path, leg, started_at, ended_at, duration, size and/or status."""
        unknown = set(fields) - _RECORDING_COLUMNS
        if unknown:
            raise ValueError(f"not updatable recording fields: {sorted(unknown)}")
        if "leg" in fields and fields["leg"] not in RECORDING_LEGS:
            raise ValueError(f"leg must be one of {sorted(RECORDING_LEGS)}")
        async with self.transaction():
            if fields:
                await self._update("recordings", "id", recording_id, fields)
            recording = await self.get_recording(recording_id)
            if recording is None:
                raise NotFound(f"recording {recording_id}")
            return recording

    async def get_recording(self, recording_id: int) -> Recording | None:
        row = await self._one("SELECT * FROM recordings WHERE id = ?", (recording_id,))
        return None if row is None else _recording(row)

    async def list_recordings(self, interaction_id: str) -> list[Recording]:
        rows = await self._all(
            "SELECT * FROM recordings WHERE interaction_id = ? ORDER BY id", (interaction_id,)
        )
        return [_recording(r) for r in rows]

    # ------------------------------------------------------------------ transcripts

    async def add_transcript_segments(
        self,
        segments: Iterable[Mapping[str, Any]],
        *,
        interaction_id: str | None = None,
        recording_id: int | None = None,
        engine: str | None = None,
        created_at: float | None = None,
    ) -> list[TranscriptSegment]:
        """Store many segments in one transaction.

        Each mapping has ``text``, ``start``, ``end`` and optionally ``speaker``, ``leg``,
        ``confidence``, and may override ``interaction_id``/``recording_id``/``engine``.
        The interaction is taken from the recording when only ``recording_id`` is known.
        """
        at = _now(created_at)
        out: list[TranscriptSegment] = []
        async with self.transaction():
            recording_owner: dict[int, str] = {}
            for seg in segments:
                rec_id = _first(seg.get("recording_id"), recording_id)
                inter_id = _first(seg.get("interaction_id"), interaction_id)
                if rec_id is not None:
                    if rec_id not in recording_owner:
                        row = await self._one(
                            "SELECT interaction_id FROM recordings WHERE id = ?", (rec_id,)
                        )
                        if row is None:
                            raise NotFound(f"recording {rec_id}")
                        recording_owner[rec_id] = row["interaction_id"]
                    if inter_id is None:
                        inter_id = recording_owner[rec_id]
                    elif inter_id != recording_owner[rec_id]:
                        raise ValueError(
                            f"recording {rec_id} belongs to {recording_owner[rec_id]}, "
                            f"not {inter_id}"
                        )
                if inter_id is None:
                    raise ValueError("a transcript segment needs an interaction or recording")
                async with self._conn().execute(
                    "INSERT INTO transcripts (interaction_id, recording_id, speaker, leg,"
                    " start_offset, end_offset, text, engine, confidence, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                    (
                        inter_id,
                        rec_id,
                        seg.get("speaker"),
                        seg.get("leg"),
                        float(seg.get("start", 0.0)),
                        float(seg.get("end", 0.0)),
                        seg["text"],
                        _first(seg.get("engine"), engine),
                        seg.get("confidence"),
                        at,
                    ),
                ) as cur:
                    rows = await cur.fetchall()
                out.append(_segment(rows[0]))
        return out

    async def add_transcript_segment(
        self,
        text: str,
        start: float,
        end: float,
        *,
        interaction_id: str | None = None,
        recording_id: int | None = None,
        speaker: str | None = None,
        leg: str | None = None,
        engine: str | None = None,
        confidence: float | None = None,
        created_at: float | None = None,
    ) -> TranscriptSegment:
        """Store one segment (see :meth:`add_transcript_segments`)."""
        seg = {"text": text, "start": start, "end": end, "speaker": speaker, "leg": leg,
               "confidence": confidence}  # fmt: skip
        (stored,) = await self.add_transcript_segments(
            [seg], interaction_id=interaction_id, recording_id=recording_id, engine=engine,
            created_at=created_at,
        )  # fmt: skip
        return stored

    async def list_transcript(
        self, interaction_id: str | None = None, *, recording_id: int | None = None
    ) -> list[TranscriptSegment]:
        """Segments of an interaction or of one recording, in time order."""
        if recording_id is not None:
            rows = await self._all(
                "SELECT * FROM transcripts WHERE recording_id = ? ORDER BY start_offset, id",
                (recording_id,),
            )
        elif interaction_id is not None:
            rows = await self._all(
                "SELECT * FROM transcripts WHERE interaction_id = ? ORDER BY start_offset, id",
                (interaction_id,),
            )
        else:
            raise ValueError("give interaction_id or recording_id")
        return [_segment(r) for r in rows]

    # ------------------------------------------------------------------ summaries

    async def add_summary(
        self,
        interaction_id: str,
        text: str,
        *,
        engine: str | None = None,
        created_at: float | None = None,
    ) -> Summary:
        """Store a summary (``created_at`` defaults to now); the latest one is shown."""
        async with self.transaction():
            async with self._conn().execute(
                "INSERT INTO summaries (interaction_id, text, engine, created_at)"
                " VALUES (?, ?, ?, ?) RETURNING *",
                (interaction_id, text, engine, _now(created_at)),
            ) as cur:
                rows = await cur.fetchall()
            return _summary(rows[0])

    async def list_summaries(self, interaction_id: str) -> list[Summary]:
        rows = await self._all(
            "SELECT * FROM summaries WHERE interaction_id = ? ORDER BY created_at, id",
            (interaction_id,),
        )
        return [_summary(r) for r in rows]

    async def latest_summary(self, interaction_id: str) -> Summary | None:
        row = await self._one(
            "SELECT * FROM summaries WHERE interaction_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            (interaction_id,),
        )
        return None if row is None else _summary(row)

    # ------------------------------------------------------------------ agent states

    async def record_agent_state(
        self, agent_id: str, state: str, reason: str | None = None, *, at: float | None = None
    ) -> StateChange:
        """Append an agent state change (``at`` defaults to now)."""
        async with self.transaction():
            async with self._conn().execute(
                "INSERT INTO agent_state_changes (agent_id, state, reason, at)"
                " VALUES (?, ?, ?, ?) RETURNING *",
                (agent_id, state, reason, _now(at)),
            ) as cur:
                rows = await cur.fetchall()
            return _state(rows[0])

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
        self, agent_id: str, presence: str, *, reason: str | None = None,
        device: str | None = _UNSET, at: float | None = None,
    ) -> None:
        """Remember an agent's presence (and device, when given) for the next start."""
        fields: dict[str, Any] = {"presence": presence, "reason": reason,
                                  "updated_at": _now(at)}
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
            "SELECT * FROM agent_presence WHERE presence != 'logged_out' ORDER BY agent_id")
        return [AgentPresence(r["agent_id"], r["presence"], r["reason"], r["device"],
                              r["updated_at"]) for r in rows]

    # ------------------------------------------------------------------ queue log

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
            for e in items:
                async with self._conn().execute(
                    "INSERT INTO queue_log (at, interaction_id, queue, agent, event, data)"
                    " VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                    (e.at, e.interaction_id, e.queue, e.agent, e.event, _dumps(e.data)),
                ) as cur:
                    rows = await cur.fetchall()
                out.append(_event(rows[0]))
        return out

    async def events_between(
        self,
        t0: float,
        t1: float,
        queue: str | None = None,
        *,
        interaction_id: str | None = None,
    ) -> list[QueueLogEvent]:
        """Events with ``t0 <= at < t1`` (optionally of one queue / interaction), in order."""
        sql = "SELECT * FROM queue_log WHERE at >= ? AND at < ?"
        params: list[Any] = [t0, t1]
        if queue is not None:
            sql += " AND queue = ?"
            params.append(queue)
        if interaction_id is not None:
            sql += " AND interaction_id = ?"
            params.append(interaction_id)
        rows = await self._all(sql + " ORDER BY at, id", params)
        return [_event(r) for r in rows]

    # ------------------------------------------------------------------ users

    async def _hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._hashing, self._hasher.hash, password)

    async def upsert_user(
        self,
        username: str,
        *,
        display_name: str | None = _UNSET,
        role: str = _UNSET,
        teams: Sequence[str] = _UNSET,
        agent_id: str | None = _UNSET,
        disabled: bool = _UNSET,
        password: str | None = None,
        now: float | None = None,
    ) -> User:
        """Create a console user or change the given fields of an existing one.

        Fields left out keep their value (new users: role 'agent', no teams, enabled).
        ``password`` is hashed with argon2; without it a new user cannot log in.
        """
        if role is not _UNSET and role not in USER_ROLES:
            raise ValueError(f"role must be one of {sorted(USER_ROLES)}")
        username = username.strip()
        if not username:
            raise ValueError("empty username")
        password_hash = None if password is None else await self._hash(password)
        at = _now(now)
        fields: dict[str, Any] = {}
        if display_name is not _UNSET:
            fields["display_name"] = display_name
        if role is not _UNSET:
            fields["role"] = role
        if teams is not _UNSET:
            fields["teams"] = _dumps(list(teams or []))
        if agent_id is not _UNSET:
            fields["agent_id"] = agent_id
        if disabled is not _UNSET:
            fields["disabled"] = int(bool(disabled))
        if password_hash is not None:
            fields["password_hash"] = password_hash
        async with self.transaction():
            existing = await self._one("SELECT id FROM users WHERE username = ?", (username,))
            if existing is None:
                values = {
                    "username": username, "display_name": None, "role": "agent",
                    "teams": "[]", "agent_id": None, "disabled": 0, "password_hash": None,
                    **fields, "created_at": at, "updated_at": at,
                }  # fmt: skip
                await self._exec(
                    f"INSERT INTO users ({', '.join(values)})"
                    f" VALUES ({_placeholders(len(values))})",
                    list(values.values()),
                )
            else:
                await self._update("users", "id", existing["id"], {**fields, "updated_at": at})
            if fields.get("disabled"):
                await self.delete_user_sessions(username)
            user = await self.get_user(username)
            assert user is not None
            return user

    async def get_user(self, username: str) -> User | None:
        """The user by (case-insensitive) username."""
        row = await self._one("SELECT * FROM users WHERE username = ?", (username.strip(),))
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        rows = await self._all("SELECT * FROM users ORDER BY username")
        return [_user(r) for r in rows]

    async def verify_password(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account enabled, else None.

        Unknown users, users without a password and disabled users still cost one argon2
        verification (against a dummy hash), so timing does not reveal which usernames
        exist. A hash made with older parameters is upgraded on success.
        """
        if self._dummy_hash is None:  # made on first use, whoever asks
            self._dummy_hash = await self._hash(secrets.token_hex(16))
        row = await self._one("SELECT * FROM users WHERE username = ?", (username.strip(),))
        stored = row["password_hash"] if row is not None else None
        if stored is None:
            stored_hash, real = self._dummy_hash, False
        else:
            stored_hash, real = stored, True
        try:
            ok = await asyncio.get_running_loop().run_in_executor(
                self._hashing, self._hasher.verify, stored_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not (ok and real and row is not None) or row["disabled"]:
            return None
        if self._hasher.check_needs_rehash(stored_hash):
            new_hash = await self._hash(password)
            await self._exec(
                "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
                (new_hash, row["id"], stored_hash),
            )
        return _user(row)

    async def set_password(
        self,
        username: str,
        password: str | None,
        *,
        revoke_sessions: bool = True,
        now: float | None = None,
    ) -> User:
        """Set (or with ``None`` remove) a user's password; by default logs them out."""
        password_hash = None if password is None else await self._hash(password)
        async with self.transaction():
            changed = await self._exec(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?",
                (password_hash, _now(now), username.strip()),
            )
            if not changed:
                raise NotFound(f"user {username}")
            if revoke_sessions:
                await self.delete_user_sessions(username)
            user = await self.get_user(username)
            assert user is not None
            return user

    # ------------------------------------------------------------------ sessions

    async def create_session(
        self, username: str, *, ttl: float = DEFAULT_SESSION_TTL, now: float | None = None
    ) -> tuple[str, Session]:
        """Open a session; returns ``(token, session)``. Only the token's hash is stored.

        The token (256 random bits, URL-safe) is shown once here and cannot be recovered.
        """
        token = secrets.token_urlsafe(32)
        at = _now(now)
        async with self.transaction():
            row = await self._one("SELECT username FROM users WHERE username = ?", (username,))
            if row is None:
                raise NotFound(f"user {username}")
            async with self._conn().execute(
                "INSERT INTO sessions (token_hash, username, created_at, expires_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?) RETURNING *",
                (hash_session_token(token), row["username"], at, at + ttl, at),
            ) as cur:
                rows = await cur.fetchall()
            return token, _session(rows[0])

    async def get_session(self, token: str, *, now: float | None = None) -> Session | None:
        """The session for a token; None if unknown, expired (``now`` defaults to now) or
        if its user has been disabled."""
        row = await self._one(
            "SELECT s.* FROM sessions s JOIN users u ON u.username = s.username"
            " WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
            (hash_session_token(token), _now(now)),
        )
        return None if row is None else _session(row)

    async def touch_session(
        self, token: str, *, now: float | None = None, ttl: float | None = None
    ) -> Session | None:
        """Mark a live session as seen; with ``ttl`` also slide its expiry to now + ttl."""
        at = _now(now)
        token_hash = hash_session_token(token)
        async with self.transaction():
            if ttl is None:
                changed = await self._exec(
                    "UPDATE sessions SET last_seen = ? WHERE token_hash = ? AND expires_at > ?",
                    (at, token_hash, at),
                )
            else:
                changed = await self._exec(
                    "UPDATE sessions SET last_seen = ?, expires_at = ?"
                    " WHERE token_hash = ? AND expires_at > ?",
                    (at, at + ttl, token_hash, at),
                )
            if not changed:
                return None
            return await self.get_session(token, now=at)

    async def delete_session(self, token: str) -> bool:
        """Log out: forget the session. True if it existed."""
        return bool(
            await self._exec(
                "DELETE FROM sessions WHERE token_hash = ?", (hash_session_token(token),)
            )
        )

    async def delete_user_sessions(self, username: str) -> int:
        """Forget every session of a user (password change, account disabled)."""
        return await self._exec(
            "DELETE FROM sessions WHERE username = ? COLLATE NOCASE", (username.strip(),)
        )

    async def purge_expired_sessions(self, now: float | None = None) -> int:
        """Delete sessions whose ``expires_at`` has passed; returns how many."""
        return await self._exec("DELETE FROM sessions WHERE expires_at <= ?", (_now(now),))

    # ------------------------------------------------------------------ config audit

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
        async with self.transaction():
            async with self._conn().execute(
                "INSERT INTO config_changes (at, actor, filename, summary, old_text, new_text)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                (_now(at), actor, filename, summary, old_text, new_text),
            ) as cur:
                rows = await cur.fetchall()
            return _config_change(rows[0])

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

    # ------------------------------------------------------------------ callbacks

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
            async with self._conn().execute(
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
            ) as cur:
                rows = await cur.fetchall()
            return _callback(rows[0])

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

    async def update_callback(
        self, callback_id: int, /, *, count_attempt: bool = False, **fields: Any
    ) -> Callback:
        """Set columns of a callback (status, attempts, last_attempt_at, next_attempt_at,
        completed_at, notes, queue, number, interaction_id, customer_id).

        ``count_attempt=True`` increments ``attempts`` atomically. Statuses in use:
        pending | dialing | done | failed | cancelled.
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
