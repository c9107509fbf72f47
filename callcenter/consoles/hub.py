"""``GET /api/ws``: the one WebSocket each console page keeps open.

The upgrade is refused unless the ``cc_session`` cookie names a live session (401)
and the ``Origin`` header is this site (403; see ``endpoints.origin_allowed``) — a
page on another site must not be able to open a socket with the user's cookie.

Each connection is one bus subscription whose filter is the user's rights, as the
features declare them (``WebParts.audiences``: an event goes to a user when any
feature's rule says so; ``shapers`` cut an event's data to what that user may see,
e.g. the wallboard to a supervisor's teams; ``greeters`` send the first state).
See each feature's ``notifier.py`` for its topics and who receives them. After the
shaper, every payload (greetings too) passes the API's number rule: a user who may not
see whole phone numbers (``principal.sees_numbers``) gets every number-named field
masked (``caller``, ``number``, ``phone``...), whichever feature wrote it; free text is
masked at its source (the screen-pop's history, speech summaries).

Messages are JSON: ``{"topic", "data", "at", "agent_id", "queue", "seq"}`` (``seq``
increases, with gaps: state reads are dated on the same scale, ``EventBus.mark``); the first
is ``{"topic": "hello", "data": {"user": ..., "server_time": ...}}``. A client may
send ``{"topic": "ping"}`` and gets ``pong``. A slow client the bus cuts off, a
logout, a password change or an expired session closes the socket (code 4001 for
"log in again", 1013 for "reconnect"); the page reconnects and re-reads its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from callcenter.auth.notifier import SESSION_ENDED, USER_SESSIONS_ENDED
from callcenter.bus import BusEvent, EventBus, Subscription
from callcenter.features import Audience, TopicAudience, WebParts
from callcenter.storage import hash_session_token
from callcenter.storage.masking import mask_number_fields
from callcenter.webkit.endpoints import COOKIE, socket_principal
from callcenter.webkit.principal import Principal, sees_numbers

log = logging.getLogger(__name__)

RECHECK_SESSION = 30.0
CLOSE_RELOGIN = 4001
CLOSE_TRY_AGAIN = 1013


@dataclass(eq=False)
class Connection:
    principal: Principal
    token_hash: str
    ws: web.WebSocketResponse
    sub: Subscription | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


def for_reader(data: Any, principal: Principal) -> Any:
    """An event's data as this user may see it: after the feature's shaper, the one
    number rule of the API (``sees_numbers``) — every number-named field masked for a
    reader who may not see numbers, whichever feature wrote the payload."""
    return data if sees_numbers(principal) else mask_number_fields(data)


class Hub:
    def __init__(self, *, bus: EventBus, parts: WebParts, clock: Callable[[], float],
                 principal: Callable[[str | None], Awaitable[Principal | None]]) -> None:
        self.bus = bus
        self.parts = parts
        self.clock = clock
        self.principal = principal  # who holds a session token now (None: it ended)
        self.connections: set[Connection] = set()
        self._sessions: Subscription | None = None
        self._watch: asyncio.Task[None] | None = None
        self._by_topic: dict[str, tuple[Audience, ...]] = {}
        self._indexed = -1

    # ------------------------------------------------------------------ who sees what

    def watchers(self, topic: str) -> int:
        """Open sockets that would receive an event of ``topic`` (for the wallboard)."""
        probe = BusEvent(topic, {}, self.clock())
        return sum(1 for c in self.connections if self._accepts(c.principal, probe))

    def _rules(self, topic: str) -> tuple[Audience, ...]:
        """The rules that may accept ``topic`` (``TopicAudience``: only for its topics)."""
        if self._indexed != len(self.parts.audiences):  # a feature added one since
            self._by_topic.clear()
            self._indexed = len(self.parts.audiences)
        rules = self._by_topic.get(topic)
        if rules is None:
            rules = tuple(r.rule if isinstance(r, TopicAudience) else r
                          for r in self.parts.audiences
                          if not isinstance(r, TopicAudience) or topic in r.topics)
            self._by_topic[topic] = rules
        return rules

    def _accepts(self, principal: Principal, event: BusEvent) -> bool:
        # Runs for every event and every open console: a loop, not any() over a generator.
        for rule in self._rules(event.topic):  # noqa: SIM110
            if rule(principal, event):
                return True
        return False

    def message(self, conn: Connection, event: BusEvent) -> str:
        shape = self.parts.shapers.get(event.topic)
        data = shape(event.data, conn.principal) if shape else event.data
        data = for_reader(data, conn.principal)
        return json.dumps({"topic": event.topic, "data": data, "at": event.at,
                           "agent_id": event.agent_id, "queue": event.queue,
                           "seq": event.seq}, ensure_ascii=False)

    # ------------------------------------------------------------------ ended sessions

    async def start(self) -> None:
        self._sessions = self.bus.subscribe(
            lambda e: e.topic in (SESSION_ENDED, USER_SESSIONS_ENDED))
        self._watch = asyncio.create_task(self._ended_sessions(), name="hub-sessions")

    async def _ended_sessions(self) -> None:
        while self._sessions is not None:
            event = await self._sessions.get()
            if event is None:  # fell behind: subscribe again
                self._sessions = self.bus.subscribe(
                    lambda e: e.topic in (SESSION_ENDED, USER_SESSIONS_ENDED))
                continue
            if event.topic == SESSION_ENDED:
                ended = [c for c in self.connections
                         if c.token_hash == event.data.get("token_hash")]
                reason = b"logged out"
            else:
                ended = [c for c in self.connections
                         if c.principal.username == event.data.get("username")]
                reason = b"password changed"
            for conn in ended:
                await conn.ws.close(code=CLOSE_RELOGIN, message=reason)

    # ------------------------------------------------------------------ the socket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        principal = await socket_principal(request)
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024)
        await ws.prepare(request)
        token = request.cookies.get(COOKIE, "")
        conn = Connection(principal, hash_session_token(token), ws)
        conn.sub = self.bus.subscribe(lambda event: self._accepts(principal, event))
        self.connections.add(conn)
        log.info("web.ws_open", extra={"user": principal.username, "role": principal.role})
        try:
            await ws.send_str(json.dumps({"topic": "hello", "data": {
                "user": principal.as_dict(), "server_time": self.clock()}},
                ensure_ascii=False))
            for greet in self.parts.greeters:
                for topic, data in await greet(principal):
                    await ws.send_str(json.dumps({"topic": topic, "at": self.clock(),
                                                  "data": for_reader(data, principal)},
                                                 ensure_ascii=False))
            conn.tasks = [asyncio.create_task(self._pump(conn)),
                          asyncio.create_task(self._recheck(conn, token))]
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._incoming(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            await self._drop(conn)
        return ws

    async def _incoming(self, conn: Connection, text: str) -> None:
        try:
            topic = json.loads(text).get("topic")
        except (ValueError, AttributeError):
            return
        if topic == "ping":
            await conn.ws.send_str(json.dumps({"topic": "pong", "at": self.clock()}))

    async def _pump(self, conn: Connection) -> None:
        assert conn.sub is not None
        try:
            while True:
                event = await conn.sub.get()
                if event is None:  # fell too far behind: the page reconnects and re-reads
                    await conn.ws.close(code=CLOSE_TRY_AGAIN, message=b"too slow")
                    return
                await conn.ws.send_str(self.message(conn, event))
        except (ConnectionError, RuntimeError):
            pass  # the socket closed under us

    async def _recheck(self, conn: Connection, token: str) -> None:
        while True:
            await asyncio.sleep(RECHECK_SESSION)
            if await self.principal(token) is None:
                await conn.ws.close(code=CLOSE_RELOGIN, message=b"session ended")
                return

    async def _drop(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if conn.sub is not None:
            self.bus.unsubscribe(conn.sub)
        for task in conn.tasks:
            task.cancel()
        for task in conn.tasks:
            if task is not asyncio.current_task():
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if not conn.ws.closed:
            await conn.ws.close()

    # ------------------------------------------------------------------ closing

    async def close_all(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._sessions is not None:
            self.bus.unsubscribe(self._sessions)
            self._sessions = None
        for conn in list(self.connections):
            await conn.ws.close(code=1001, message=b"server shutdown")
