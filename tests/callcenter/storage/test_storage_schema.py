"""WAL mode, connection settings and versioned migrations of the storage layer."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from importlib import resources
from pathlib import Path

import pytest

from callcenter.storage import MigrationError, Store
from callcenter.storage.migrate import load_migrations, split_statements

PACKAGE_MIGRATIONS = Path(str(resources.files("callcenter.storage").joinpath("migrations")))


def _copy_migrations(dest: Path, versions: set[int] | None = None) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in PACKAGE_MIGRATIONS.glob("*.sql"):
        if versions is None or int(f.name[:4]) in versions:
            shutil.copy(f, dest / f.name)
    return dest


def _tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


async def test_wal_and_pragmas(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "cc.db"  # parent directory is created
    async with await Store.open(db, busy_timeout=2.5) as store:
        pragmas = await store.pragmas()
        assert pragmas["journal_mode"] == "wal"
        assert pragmas["synchronous"] == 1  # NORMAL
        assert pragmas["foreign_keys"] == 1
        assert pragmas["busy_timeout"] == 2500
        await store.create_interaction("voice")
        assert Path(str(db) + "-wal").exists()
    # WAL is a property of the file: another connection sees it too.
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_foreign_keys_enforced(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "cc.db") as store:
        with pytest.raises(sqlite3.IntegrityError):
            await store.add_message("no-such-interaction", "in", "hello")
        # the failed write was rolled back and the store is still usable
        interaction = await store.create_interaction("chat")
        msg = await store.add_message(interaction.id, "in", "hello")
        assert msg.id > 0


async def test_fresh_database_gets_all_migrations(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "cc.db") as store:
        applied = await store.applied_migrations()
        expected = [m.version for m in load_migrations()]
        assert [v for v, _, _ in applied] == expected
        assert await store.schema_version() == expected[-1]
    assert {"customers", "interactions", "messages", "queue_log", "users", "sessions"} <= (
        _tables(tmp_path / "cc.db")
    )


def test_package_migrations_are_numbered_contiguously() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))
    assert versions[0] == 1


async def test_old_database_upgraded_in_place_and_nothing_reapplied(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    old = _copy_migrations(tmp_path / "old", {1})

    # A database from the time only 0001 existed, with data in it.
    async with await Store.open(db, migrations_dir=old) as store:
        assert await store.schema_version() == 1
        customer = await store.find_or_create_customer("phone", "13812345678", "Wang")
        interaction = await store.create_interaction(
            "voice", customer_id=customer.id, queue="sales", arrived_at=1000.0
        )
    assert "users" not in _tables(db)
    with closing(sqlite3.connect(db)) as conn:
        first_applied = conn.execute(
            "SELECT applied_at FROM schema_migrations WHERE version = 1"
        ).fetchone()[0]

    # Current code upgrades it in place: data kept, 0001 untouched, the later ones applied.
    async with await Store.open(db, migrations_dir=_copy_migrations(tmp_path / "two", {1, 2})) \
            as store:
        assert await store.schema_version() == 2
        applied = await store.applied_migrations()
        assert [(v, n) for v, n, _ in applied] == [(1, "initial"), (2, "operations")]
        assert applied[0][2] == first_applied
        got = await store.get_interaction(interaction.id)
        assert got is not None and got.queue == "sales" and got.customer_id == customer.id
        user = await store.upsert_user("alice", role="agent")
        assert user.username == "alice"

    # A later non-idempotent migration (ALTER TABLE + INSERT) is applied exactly once.
    newer = _copy_migrations(tmp_path / "newer", {1, 2})
    (newer / "0003_nickname.sql").write_text(
        "-- test migration; a comment with a ; inside\n"
        "ALTER TABLE customers ADD COLUMN nickname TEXT;\n"
        "INSERT INTO queue_log (at, event, data) VALUES (1.0, 'MIGRATED', '{}');\n"
        "CREATE TRIGGER customers_touch AFTER UPDATE OF nickname ON customers BEGIN\n"
        "  UPDATE customers SET updated_at = 0 WHERE id = new.id;\n"
        "END;\n"
    )
    for _ in range(3):
        async with await Store.open(db, migrations_dir=newer) as store:
            assert await store.schema_version() == 3
            events = await store.events_between(0, 2)
            assert [e.event for e in events] == ["MIGRATED"]
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        assert [r[0] for r in rows] == [1, 2, 3]
        assert conn.execute("SELECT nickname FROM customers").fetchone() == (None,)


async def test_failed_migration_leaves_database_untouched(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    current = _copy_migrations(tmp_path / "current", {1, 2})
    async with await Store.open(db, migrations_dir=current) as store:
        await store.log_event("ENTERQUEUE", at=5.0, queue="q")
    broken = _copy_migrations(tmp_path / "broken", {1, 2})
    (broken / "0003_broken.sql").write_text(
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    with pytest.raises(MigrationError, match="0003_broken"):
        await Store.open(db, migrations_dir=broken)
    assert "half_done" not in _tables(db)
    async with await Store.open(db, migrations_dir=current) as store:
        assert await store.schema_version() == 2
        assert [e.event for e in await store.events_between(0, 10)] == ["ENTERQUEUE"]


async def test_database_newer_than_code_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    async with await Store.open(db):
        pass
    with pytest.raises(MigrationError, match="newer"):
        await Store.open(db, migrations_dir=_copy_migrations(tmp_path / "old", {1}))


def test_bad_migration_file_name_rejected(tmp_path: Path) -> None:
    (tmp_path / "initial.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError):
        load_migrations(tmp_path)


def test_split_statements_keeps_triggers_and_strings_whole() -> None:
    script = (
        "-- header; with semicolon\n"
        "CREATE TABLE a (x TEXT DEFAULT 'a;b');\n"
        "/* block; comment */\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n"
        "  INSERT INTO a VALUES ('y;');\n"
        "END;\n"
        "SELECT 1\n"
    )
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'a;b');")
    assert statements[1].rstrip().endswith("END;")
    assert statements[2] == "SELECT 1"
