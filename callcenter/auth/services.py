"""Console accounts, sessions, login throttling and who may act on whom.

Accounts come from agents.yaml: ``sync_users`` keeps one store user per person
(username = agent id). Passwords are argon2 hashes kept by the store; a session is
a random token in the ``cc_session`` cookie whose SHA-256 the store keeps.

Authorization is by role and, for supervisors, by team:

* ``agent``: their own presence, offers, wrap-ups, and the history of a customer
  whose interaction was offered or connected to them;
* ``supervisor``: the wallboard of the teams they supervise (``teams_supervised``)
  and actions (listen / whisper / barge, force state) on agents of those teams;
* ``admin``: everything, including the configuration.

The team of record is agents.yaml as in force now (``Config``), not the copy in
the users table, so a reload takes effect at once.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.config.models import Config
from callcenter.storage import Store
from callcenter.webkit.principal import Principal, principal_for

from .notifier import AuthNotifier

log = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "admin")
WINDOW = 60.0
TOUCH_EVERY = 60.0
"""A session's expiry slides forward at most once a minute (one write, not one per call)."""


# ---------------------------------------------------------------------------- accounts


async def sync_users(config: Config, store: Store, *, now: float | None = None) -> dict[str, int]:
    """Create or update one console user per person in agents.yaml.

    Role, display name, teams (own team + teams supervised) and agent id follow the
    file; a password is set from the agent's ``password`` only when the user has none
    yet (later changes are the user's own). Users that were synced from agents.yaml
    and whose person is gone are disabled (their sessions end). Returns counts.
    """
    counts = {"created": 0, "updated": 0, "disabled": 0}
    wanted = {agent.id for agent in config.agents}
    for agent in config.agents:
        existing = await store.get_user(agent.id)
        teams = [t for t in (agent.team, *agent.teams_supervised) if t]
        password = None
        if (existing is None or not existing.has_password) and agent.password is not None:
            secret = agent.password.get_secret_value()
            password = secret or None
        await store.upsert_user(agent.id, display_name=agent.name, role=agent.role,
                                teams=list(dict.fromkeys(teams)), agent_id=agent.id,
                                disabled=False, password=password, now=now)
        counts["created" if existing is None else "updated"] += 1
    for user in await store.list_users():
        if user.agent_id and user.username not in wanted and not user.disabled:
            await store.upsert_user(user.username, disabled=True, now=now)
            counts["disabled"] += 1
    log.info("auth.users_synced", extra={f"users_{k}": v for k, v in counts.items()})
    return counts


# ---------------------------------------------------------------------------- throttling


@dataclass
class RateLimiter:
    """Failed logins per key (``user:<name>``, ``ip:<address>``) in a sliding minute."""

    limit: Callable[[], int]
    window: float = WINDOW
    max_keys: int = 100_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> float | None:
        """Seconds until ``key`` may try again, or None if it may now."""
        hits = self._prune(key, now)
        if hits is None or len(hits) < self.limit():
            return None
        return max(1.0, hits[len(hits) - self.limit()] + self.window - now)

    def failed(self, key: str, now: float) -> None:
        hits = self._prune(key, now)
        if hits is None:
            if len(self._failures) >= self.max_keys:
                self._sweep(now)
            hits = self._failures[key] = deque()
        hits.append(now)
        while len(hits) > max(self.limit(), 1) * 2:
            hits.popleft()

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def _prune(self, key: str, now: float) -> deque[float] | None:
        hits = self._failures.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._failures[key]
            return None
        return hits

    def _sweep(self, now: float) -> None:
        for key in list(self._failures):
            self._prune(key, now)
        while len(self._failures) >= self.max_keys:  # still full: forget the oldest keys
            self._failures.pop(next(iter(self._failures)))


class LoginError(Exception):
    """Wrong username or password (deliberately not saying which)."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


class AuthService:
    def __init__(self, *, store: Store, config: Callable[[], Config], notifier: AuthNotifier,
                 clock: Callable[[], float] = time.time, session_ttl: float) -> None:
        self.store = store
        self.config = config
        self.notifier = notifier
        self.clock = clock
        self.session_ttl = session_ttl
        self.limiter = RateLimiter(lambda: self.config().callcenter.web.login_attempts_per_minute)

    @property
    def secure_cookies(self) -> bool:
        return self.config().callcenter.web.public_origin.startswith("https://")

    async def login(self, username: str, password: str, address: str) -> tuple[str, Principal]:
        """A new session token and who it is; ``RateLimited`` / ``LoginError`` otherwise."""
        now = self.clock()
        username = username.strip()
        keys = (f"user:{username.lower()}", f"ip:{address}")
        waits = [w for w in (self.limiter.retry_after(k, now) for k in keys) if w is not None]
        if waits:
            log.warning("auth.login_throttled", extra={"user": username, "ip": address})
            raise RateLimited(max(waits))
        user = await self.store.verify_password(username, password) if username else None
        if user is None:
            for key in keys:
                self.limiter.failed(key, now)
            log.info("auth.login_failed", extra={"user": username, "ip": address})
            raise LoginError("wrong username or password")
        self.limiter.clear(keys[0])
        token, _session = await self.store.create_session(user.username, ttl=self.session_ttl,
                                                          now=now)
        log.info("auth.login", extra={"user": user.username, "role": user.role, "ip": address})
        return token, principal_for(user, self.config())

    async def principal(self, token: str | None) -> Principal | None:
        """Who holds this session token now (None: no, expired or disabled)."""
        if not token:
            return None
        now = self.clock()
        session = await self.store.get_session(token, now=now)
        if session is None:
            return None
        if now - session.last_seen >= TOUCH_EVERY:
            await self.store.touch_session(token, now=now, ttl=self.session_ttl)
        user = await self.store.get_user(session.username)
        if user is None or user.disabled:
            return None
        return principal_for(user, self.config())

    async def logout(self, token: str) -> None:
        """End the session; its consoles' live connections close."""
        await self.store.delete_session(token)
        self.notifier.session_ended(token)

    async def change_password(self, principal: Principal, old: str, new: str) -> str:
        """Check the old password, set the new one, end the user's sessions; a new
        session token for the browser that made the change."""
        user = await self.store.verify_password(principal.username, old)
        if user is None:
            raise LoginError("the current password is wrong")
        await self.store.set_password(principal.username, new, revoke_sessions=True,
                                      now=self.clock())
        self.notifier.user_sessions_ended(principal.username)
        log.info("auth.password_changed", extra={"user": principal.username})
        token, _ = await self.store.create_session(principal.username, ttl=self.session_ttl,
                                                   now=self.clock())
        return token
