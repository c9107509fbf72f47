"""Console users (argon2 passwords), hashed session tokens, and number masking."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from callcenter.storage import NotFound, Store, hash_session_token, mask_identity, mask_number
from callcenter.storage.store import default_password_hasher

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "cc.db", password_hasher=FAST_HASHER)
    yield s
    await s.close()


async def test_upsert_user_create_and_partial_update(store: Store) -> None:
    user = await store.upsert_user("alice", display_name="Alice", teams=["sales"], now=1.0)
    assert (user.role, user.teams, user.disabled, user.has_password) == (
        "agent",
        ["sales"],
        False,
        False,
    )
    assert user.created_at == 1.0
    updated = await store.upsert_user("Alice", role="supervisor", agent_id="a1", now=2.0)
    assert updated.id == user.id  # usernames are case-insensitive
    assert updated.display_name == "Alice" and updated.teams == ["sales"]  # kept
    assert (updated.role, updated.agent_id, updated.updated_at) == ("supervisor", "a1", 2.0)
    assert updated.created_at == 1.0
    assert "password" not in repr(updated).replace("has_password", "").replace(
        "must_change_password", "")
    with pytest.raises(ValueError):
        await store.upsert_user("bob", role="root")
    assert [u.username for u in await store.list_users()] == ["alice"]
    assert await store.get_user("nobody") is None


async def test_verify_password_right_wrong_unknown(tmp_path: Path) -> None:
    # The real (default-strength) hasher, as production uses it.
    async with await Store.open(tmp_path / "cc.db") as store:
        await store.upsert_user("alice", password="correct horse", role="admin")
        ok = await store.verify_password("alice", "correct horse")
        assert ok is not None and ok.username == "alice" and ok.role == "admin"
        assert await store.verify_password("ALICE", "correct horse") is not None
        assert await store.verify_password("alice", "wrong") is None
        assert await store.verify_password("alice", "") is None
        assert await store.verify_password("mallory", "correct horse") is None
        await store.upsert_user("nopass")
        assert await store.verify_password("nopass", "") is None

        await store.upsert_user("alice", disabled=True)
        assert await store.verify_password("alice", "correct horse") is None
        await store.upsert_user("alice", disabled=False)
        assert await store.verify_password("alice", "correct horse") is not None

        await store.set_password("alice", "battery staple")
        assert await store.verify_password("alice", "correct horse") is None
        assert await store.verify_password("alice", "battery staple") is not None
        with pytest.raises(NotFound):
            await store.set_password("mallory", "x")

    with closing(sqlite3.connect(tmp_path / "cc.db")) as conn:
        (stored,) = conn.execute(
            "SELECT password_hash FROM users WHERE username='alice'"
        ).fetchone()
    assert stored.startswith("$argon2id$") and "battery" not in stored


async def test_weak_hash_is_upgraded_on_login(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    async with await Store.open(db, password_hasher=FAST_HASHER) as store:
        await store.upsert_user("alice", password="pw")
    async with await Store.open(db) as store:  # default, stronger parameters
        assert await store.verify_password("alice", "pw") is not None
    with closing(sqlite3.connect(db)) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users").fetchone()
    assert "m=8," not in stored
    assert not default_password_hasher().check_needs_rehash(stored)


async def test_sessions_are_stored_hashed(store: Store, tmp_path: Path) -> None:
    await store.upsert_user("alice", password="pw")
    token, session = await store.create_session("alice", ttl=100.0, now=1000.0)
    assert len(token) >= 43
    assert session.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert session.token_hash == hash_session_token(token)
    assert (session.created_at, session.expires_at, session.last_seen) == (1000.0, 1100.0, 1000.0)

    with closing(sqlite3.connect(tmp_path / "cc.db")) as conn:
        rows = conn.execute("SELECT * FROM sessions").fetchall()
        dump = "\n".join(conn.iterdump())
    assert len(rows) == 1 and token not in dump  # only the hash is on disk

    got = await store.get_session(token, now=1050.0)
    assert got is not None and got.username == "alice"
    assert await store.get_session(token, now=1100.0) is None  # expired
    assert await store.get_session("forged", now=1050.0) is None

    touched = await store.touch_session(token, now=1090.0, ttl=100.0)
    assert touched is not None and touched.last_seen == 1090.0 and touched.expires_at == 1190.0
    assert await store.touch_session(token, now=5000.0) is None

    token2, _ = await store.create_session("alice", ttl=10.0, now=1000.0)
    assert token2 != token
    assert await store.purge_expired_sessions(now=1100.0) == 1  # token2 only
    assert await store.get_session(token, now=1100.0) is not None
    assert await store.delete_session(token) is True
    assert await store.delete_session(token) is False
    with pytest.raises(NotFound):
        await store.create_session("mallory")


async def test_password_change_revokes_sessions(store: Store) -> None:
    await store.upsert_user("bob", password="one")
    token, _ = await store.create_session("bob")
    assert await store.get_session(token) is not None
    await store.set_password("bob", "two")
    assert await store.get_session(token) is None
    token, _ = await store.create_session("bob")
    await store.set_password("BOB", "three", revoke_sessions=False)
    assert await store.get_session(token) is not None
    assert await store.delete_user_sessions("Bob") == 1
    token, _ = await store.create_session("bob")
    await store.upsert_user("bob", disabled=True)
    assert await store.get_session(token) is None


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+8613812345678", "+861****5678"),
        ("02112345678", "021****5678"),
        ("62345678", "****78"),
        ("1001", "****01"),
        ("12", "****"),
        ("anonymous", "****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_number(number: str | None, masked: str) -> None:
    assert mask_number(number) == masked


def test_mask_never_reveals_more_than_seven_digits() -> None:
    for n in range(3, 20):
        number = "9876543210987654321"[:n]
        shown = [c for c in mask_number(number) if c.isdigit()]
        assert len(shown) <= 7 and len(shown) < n


def test_mask_identity() -> None:
    assert mask_identity("phone", "13812345678") == "138****5678"
    assert mask_identity("email", "alice@example.com") == "a****@example.com"
    assert mask_identity("wechat_openid", "oABCDEFGHIJKLMNOP") == "****MNOP"
    assert mask_identity("web_visitor", "short") == "****"
