"""``GET /api/ws``: the one WebSocket each console page keeps open.

The upgrade is refused unless the ``cc_session`` cookie names a live session (401)
and the ``Origin`` header is this site (403; see ``endpoints.origin_allowed``) — a
page on another site must not be able to open a socket with the user's cookie.

Each connection is one bus subscription whose filter is the user's rights:

* everyone with an agent profile: ``agent.*`` events whose ``agent_id`` is theirs,
  and ``interaction.summary`` of a task they hold (or addressed to them);
* supervisors and admins: ``wallboard.snapshot`` (cut down to their teams) and
  ``agent.state`` of agents they supervise;
* admins: ``config.changed``.

Messages are JSON: ``{"topic", "data", "at", "agent_id", "queue", "seq"}``; the first
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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from callcenter.admin.notifier import ADMIN_TOPICS
from callcenter.agents.notifier import AGENT_TOPICS
from callcenter.auth.services import Principal, may_supervise
from callcenter.bus import BusEvent, EventBus, Subscription
from callcenter.storage import hash_session_token
from callcenter.wallboard.notifier import TOPIC as SNAPSHOT

from .endpoints import COOKIE, PUBLIC_ORIGIN, ApiError, current_principal, origin_allowed

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


class Hub:
    def __init__(self, *, bus: EventBus, services: Any) -> None:
        self.bus = bus
        self.services = services
        self.connections: set[Connection] = set()

    # ------------------------------------------------------------------ who sees what

    def watchers(self) -> int:
        """Open sockets that receive wallboard snapshots."""
        return sum(1 for c in self.connections if c.principal.role in ("supervisor", "admin"))

    def accepts(self, principal: Principal) -> Callable[[BusEvent], bool]:
        engine = self.services.deps.engine
        config = self.services.config
        me = principal.agent_id
        staff = principal.role in ("supervisor", "admin")

        def accept(event: BusEvent) -> bool:
            topic = event.topic
            if topic in AGENT_TOPICS:
                if me is not None and event.agent_id == me:
                    return True
                return (staff and topic == "agent.state" and event.agent_id is not None
                        and may_supervise(principal, event.agent_id, config()))
            if topic == "interaction.summary":
                if me is None:
                    return False
                if event.agent_id is not None:
                    return event.agent_id == me
                view = engine.agent(me)
                task = event.data.get("task_id")
                return view is not None and (task in view.wrapping or task in view.connected)
            if topic == SNAPSHOT:
                return staff
            if topic in ADMIN_TOPICS:
                return principal.role == "admin"
            return False

        return accept

    def message(self, conn: Connection, event: BusEvent) -> str:
        data = event.data
        if event.topic == SNAPSHOT:
            data = self.services.wallboard.view(data, conn.principal)
        return json.dumps({"topic": event.topic, "data": data, "at": event.at,
                           "agent_id": event.agent_id, "queue": event.queue,
                           "seq": event.seq}, ensure_ascii=False)

    # ------------------------------------------------------------------ the socket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        principal = await current_principal(request)
        if principal is None:
            raise ApiError(401, "unauthenticated", "log in first")
        if not origin_allowed(request, request.app[PUBLIC_ORIGIN]()):
            log.warning("web.ws_bad_origin", extra={"origin": request.headers.get("Origin"),
                                                    "user": principal.username})
            raise ApiError(403, "bad_origin", "this page is not from this site")
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024)
        await ws.prepare(request)
        token = request.cookies.get(COOKIE, "")
        conn = Connection(principal, hash_session_token(token), ws)
        conn.sub = self.bus.subscribe(self.accepts(principal))
        self.connections.add(conn)
        log.info("web.ws_open", extra={"user": principal.username, "role": principal.role})
        try:
            await ws.send_str(json.dumps({"topic": "hello", "data": {
                "user": principal.as_dict(), "server_time": self.services.deps.clock()}},
                ensure_ascii=False))
            if principal.role in ("supervisor", "admin"):
                snapshot = self.services.wallboard.snapshot()
                await ws.send_str(json.dumps({
                    "topic": SNAPSHOT, "at": snapshot["now"],
                    "data": self.services.wallboard.view(snapshot, principal)},
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
            await conn.ws.send_str(json.dumps({"topic": "pong",
                                               "at": self.services.deps.clock()}))

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
            if await self.services.auth.principal(token) is None:
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

    async def close_session(self, token: str) -> None:
        token_hash = hash_session_token(token)
        for conn in [c for c in self.connections if c.token_hash == token_hash]:
            await conn.ws.close(code=CLOSE_RELOGIN, message=b"logged out")

    async def close_user(self, username: str) -> None:
        for conn in [c for c in self.connections if c.principal.username == username]:
            await conn.ws.close(code=CLOSE_RELOGIN, message=b"password changed")

    async def close_all(self) -> None:
        for conn in list(self.connections):
            await conn.ws.close(code=1001, message=b"server shutdown")
