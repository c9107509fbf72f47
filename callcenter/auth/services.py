"""Console accounts, sessions, login throttling and who may act on whom.

Accounts come from agents.yaml: ``sync_users`` keeps one store user per person
(username = agent id). Passwords are argon2 hashes kept by the store; a session is
a random token in the ``cc_session`` cookie whose SHA-256 the store keeps. A session
ends after ``web.session_idle_minutes`` without use and, used or not,
``web.session_max_hours`` after login; ended sessions are purged from the store as
they are noticed and hourly.

A password from agents.yaml or an admin's reset was chosen for its user, so it only
opens the password change (``passwords``): every other route answers 403
``password_change_required`` until the user has chosen their own.

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

import dataclasses
import logging
import time
from collections.abc import Callable

from callcenter.config.models import Config
from callcenter.storage import Store, User
from callcenter.webkit.principal import Principal, principal_for

from .notifier import AuthNotifier
from .passwords import temporary_password, weakness
from .throttle import LoginThrottle

log = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "admin")
TOUCH_EVERY = 60.0
"""A session's expiry slides forward at most once a minute (one write, not one per call)."""


# ---------------------------------------------------------------------------- accounts


async def sync_users(config: Config, store: Store, *, now: float | None = None) -> dict[str, int]:
    """Create or update one console user per person in agents.yaml.

    Role, display name, teams (own team + teams supervised) and agent id follow the
    file; a password is set from the agent's ``password`` only when the user has none
    yet (later changes are the user's own), and must be changed at first login. Users
    that were synced from agents.yaml and whose person is gone are disabled (their
    sessions end). Returns counts.
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
                                disabled=False, password=password,
                                must_change_password=True, now=now)
        counts["created" if existing is None else "updated"] += 1
    for user in await store.list_users():
        if user.agent_id and user.username not in wanted and not user.disabled:
            await store.upsert_user(user.username, disabled=True, now=now)
            counts["disabled"] += 1
    log.info("auth.users_synced", extra={f"users_{k}": v for k, v in counts.items()})
    return counts


class LoginError(Exception):
    """Wrong username or password (deliberately not saying which)."""


class WeakPassword(Exception):
    """The new password breaks a rule of ``passwords``; the message says which."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


class AuthService:
    def __init__(self, *, store: Store, config: Callable[[], Config], notifier: AuthNotifier,
                 clock: Callable[[], float] = time.time, demo: bool = False) -> None:
        self.demo = demo
        self.store = store
        self.config = config
        self.notifier = notifier
        self.clock = clock
        self.throttle = LoginThrottle(lambda: self.config().callcenter.web.login_failures_allowed)

    @property
    def session_ttl(self) -> float:
        return self.config().callcenter.web.session_idle_minutes * 60.0

    @property
    def session_max_age(self) -> float:
        return self.config().callcenter.web.session_max_hours * 3600.0

    @property
    def secure_cookies(self) -> bool:
        return self.config().callcenter.web.public_origin.startswith("https://")

    async def login(self, username: str, password: str, address: str) -> tuple[str, Principal]:
        """A new session token and who it is; ``RateLimited`` / ``LoginError`` otherwise."""
        now = self.clock()
        username = username.strip()
        wait = self.throttle.retry_after(username, address, now)
        if wait is not None:
            log.warning("auth.login_throttled", extra={"user": username, "ip": address})
            raise RateLimited(wait)
        user = await self.store.verify_password(username, password) if username else None
        if user is None:
            self.throttle.failed(username, address, now)
            log.info("auth.login_failed", extra={"user": username, "ip": address})
            raise LoginError("wrong username or password")
        self.throttle.succeeded(username, address)
        token, _session = await self.store.create_session(user.username, ttl=self.session_ttl,
                                                          now=now)
        log.info("auth.login", extra={"user": user.username, "role": user.role, "ip": address})
        return token, self._principal(user)

    async def principal(self, token: str | None) -> Principal | None:
        """Who holds this session token now (None: no, expired or disabled)."""
        if not token:
            return None
        now = self.clock()
        session = await self.store.get_session(token, now=now)
        if session is None:
            return None
        if now - session.created_at >= self.session_max_age:
            await self.store.delete_session(token)
            self.notifier.session_ended(token)
            return None
        if now - session.last_seen >= TOUCH_EVERY:
            await self.store.touch_session(token, now=now, ttl=self._ttl(session.created_at,
                                                                         now))
        user = await self.store.get_user(session.username)
        if user is None or user.disabled:
            return None
        return self._principal(user)

    def _principal(self, user: User) -> Principal:
        principal = principal_for(user, self.config())
        if self.demo and principal.must_change_password:  # make run, loopback only
            return dataclasses.replace(principal, must_change_password=False)
        return principal

    def _ttl(self, created_at: float, now: float) -> float:
        """Idle timeout, but never past the session's absolute end."""
        return min(self.session_ttl, created_at + self.session_max_age - now)

    async def purge_expired(self) -> int:
        """Forget sessions past their idle timeout (the absolute end is caught on use)."""
        purged = await self.store.purge_expired_sessions(self.clock())
        if purged:
            log.info("auth.sessions_purged", extra={"count": purged})
        return purged

    async def logout(self, token: str) -> None:
        """End the session; its consoles' live connections close."""
        await self.store.delete_session(token)
        self.notifier.session_ended(token)

    async def change_password(self, principal: Principal, old: str, new: str) -> str:
        """Check the old password, set the new one, end the user's sessions; a new
        session token for the browser that made the change."""
        problem = weakness(new, principal.username)
        if problem is None and new == old:
            problem = "is the password you have; choose a new one"
        if problem is not None:
            raise WeakPassword(problem)
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

    async def reset_password(self, admin: Principal, username: str) -> str:
        """A one-time password for a user who forgot theirs: their sessions end and the
        new one only lets them choose their own. Shown once to the admin, never stored."""
        user = await self.store.get_user(username)
        if user is None or user.disabled:
            raise LookupError(f"no active user {username}")
        if user.username == admin.username:
            raise PermissionError("change your own password on the password page")
        password = temporary_password()
        await self.store.set_password(user.username, password, revoke_sessions=True,
                                      must_change=True, now=self.clock())
        self.notifier.user_sessions_ended(user.username)
        log.warning("auth.password_reset", extra={"user": user.username, "by": admin.username})
        return password
