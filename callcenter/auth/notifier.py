"""What the auth feature publishes: sessions that ended, so open consoles close.

* ``session.ended`` ``{token_hash}`` — a logout, or a new login replacing it in the
  same browser; the consoles' WebSockets of that session close (code 4001);
* ``user.sessions_ended`` ``{username}`` — a password change ended every session of
  the user (but the one the change was made from, which gets a new cookie).

Internal topics: no console receives them; the WebSocket hub acts on them.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.bus import EventBus
from callcenter.storage import hash_session_token

SESSION_ENDED = "session.ended"
USER_SESSIONS_ENDED = "user.sessions_ended"


class AuthNotifier:
    def __init__(self, bus: EventBus, clock: Callable[[], float]) -> None:
        self.bus = bus
        self.clock = clock

    def session_ended(self, token: str) -> None:
        self.bus.publish(SESSION_ENDED, {"token_hash": hash_session_token(token)},
                         at=self.clock())

    def user_sessions_ended(self, username: str) -> None:
        self.bus.publish(USER_SESSIONS_ENDED, {"username": username}, at=self.clock())
