"""Console users (agents, supervisors, admins) and their argon2 passwords.

Hashing runs on the store's small thread pool (see :class:`~.database.Database`) so a
shift signing in at once neither blocks the event loop nor exhausts memory. Disabling a
user or changing their password ends their sessions, which is why this mixin builds on
:class:`~.sessions.SessionRecords`.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError

from .database import _UNSET, _dumps, _loads, _now, _placeholders
from .errors import NotFound
from .models import USER_ROLES, User
from .sessions import SessionRecords

__all__ = ["UserRecords"]


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"], username=row["username"], display_name=row["display_name"],
        role=row["role"], teams=_loads(row["teams"], []), agent_id=row["agent_id"],
        disabled=bool(row["disabled"]), has_password=row["password_hash"] is not None,
        must_change_password="password_must_change" in row.keys()  # noqa: SIM118 (a Row)
        and bool(row["password_must_change"]),
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


class UserRecords(SessionRecords):
    """Create and change users; check and set their passwords."""

    async def _hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._hashing, self._hasher.hash, password
        )

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
        must_change_password: bool = False,
        now: float | None = None,
    ) -> User:
        """Create a console user or change the given fields of an existing one.

        Fields left out keep their value (new users: role 'agent', no teams, enabled).
        ``password`` is hashed with argon2; without it a new user cannot log in. With
        ``must_change_password`` the user must replace it before doing anything else.
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
            fields["password_must_change"] = int(must_change_password)
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
                self._hashing, self._hasher.verify, stored_hash, password
            )
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
        must_change: bool = False,
        now: float | None = None,
    ) -> User:
        """Set (or with ``None`` remove) a user's password; by default logs them out.

        ``must_change``: the password was chosen for the user (an admin's reset), who must
        replace it at the next login before anything else works."""
        password_hash = None if password is None else await self._hash(password)
        async with self.transaction():
            changed = await self._exec(
                "UPDATE users SET password_hash = ?, password_must_change = ?, updated_at = ?"
                " WHERE username = ?",
                (password_hash, int(must_change), _now(now), username.strip()),
            )
            if not changed:
                raise NotFound(f"user {username}")
            if revoke_sessions:
                await self.delete_user_sessions(username)
            user = await self.get_user(username)
            assert user is not None
            return user
