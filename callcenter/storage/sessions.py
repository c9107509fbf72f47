"""Console sessions: which browser token is logged in as which user, until when.

Only the SHA-256 of a token is stored, so a copy of the database does not let anyone
log in; a disabled user's sessions stop working at once.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from typing import Final

from .database import Database, _now
from .errors import NotFound
from .models import Session

__all__ = ["DEFAULT_SESSION_TTL", "SessionRecords", "hash_session_token"]

DEFAULT_SESSION_TTL: Final = 12 * 3600.0


def hash_session_token(token: str) -> str:
    """Hex SHA-256 of a session token: what the ``sessions`` table stores instead of it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _session(row: sqlite3.Row) -> Session:
    return Session(
        token_hash=row["token_hash"], username=row["username"], created_at=row["created_at"],
        expires_at=row["expires_at"], last_seen=row["last_seen"],
    )  # fmt: skip


class SessionRecords(Database):
    """Open, check, extend and end console sessions."""

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
            stored = await self._insert_returning(
                "INSERT INTO sessions (token_hash, username, created_at, expires_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?) RETURNING *",
                (hash_session_token(token), row["username"], at, at + ttl, at),
            )
            return token, _session(stored)

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
