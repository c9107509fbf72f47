"""A dependable AMI link around panoramisk 1.4.

panoramisk gives us the wire protocol; the production behaviour around it is
ours, because its own has gaps a contact center cannot live with:

* actions have no timeout                    -> every action is awaited with one;
* ``ping()`` never checks the answer         -> a watchdog pings and, with no answer and
                                                nothing else heard meanwhile, treats the
                                                link as half-open and drops it (a busy
                                                Asterisk answers late, but still talks);
* an async Originate's OriginateResponse is  -> actions take exactly one answer unless
  taken as part of the action's answer          they are event lists, so it stays an event;
* unanswered actions are re-sent after a     -> never: a late Originate or Bridge would
  reconnect                                     ring an agent for a caller long gone;
* callbacks run inside ``data_received`` and -> events go into one ordered queue, consumed
  coroutine handlers run out of order           by one task; a failing handler is logged
                                                and the link lives on;
* it reconnects on a fixed delay, and a      -> we reconnect with capped exponential backoff
  refused connection keeps retrying on its      (one connection at a time: a manager the
  own forever (a second event stream once       link gave up on never retries nor delivers)
  Asterisk is back)                             and tell the application, in the same
                                                ordered stream, so it can rebuild state.

Asterisk drops a client that is slow to read (``writetimeout``): nothing here
blocks the loop, and handlers that do I/O must not hold the consumer long.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

log = logging.getLogger(__name__)

EventHandler = Callable[["AmiEvent"], Awaitable[None] | None]


class AmiError(RuntimeError):
    """Asterisk answered an action with an error."""


class AmiUnavailable(AmiError):
    """The link is down; the action was not sent (and will not be sent later)."""


class AmiTimeout(AmiError):
    """No answer in time. The action may or may not have run on Asterisk."""


class LinkState(enum.Enum):
    DOWN = "down"
    CONNECTING = "connecting"
    UP = "up"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """An AMI event as plain data, or the link's own LinkUp / LinkDown marker."""

    name: str
    fields: Mapping[str, str]

    def get(self, key: str, default: str = "") -> str:
        return self.fields.get(key, default)

    @classmethod
    def from_message(cls, message: Message) -> AmiEvent:
        # The (key, value) pairs panoramisk 1.4 (pinned) keeps: its ``items()`` goes
        # through a case-folding lookup per key, a third of the link's cost per event.
        # A header Asterisk repeats arrives as a list: joined as it always was, by str().
        fields = {key: value if value.__class__ is str else str(value)
                  for key, value in message._store.values()}
        return cls(fields.get("Event", ""), fields)


LINK_UP = "LinkUp"
LINK_DOWN = "LinkDown"


class _BatchedWrites:
    """The transport as panoramisk sees it: the actions written in one turn of the loop
    leave in one write, in order. Under load the engine sends several actions per
    decision (Setvar, Redirect...); one write each was a system call each on both sides
    of the socket (measured: the biggest single cost in the engine's profile at ~25
    calls/s)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._parts:
            asyncio.get_running_loop().call_soon(self._flush)
        self._parts.append(data)

    def _flush(self) -> None:
        parts, self._parts = self._parts, []
        if not self._transport.is_closing():
            self._transport.write(b"".join(parts))

    def __getattr__(self, name: str) -> Any:  # close(), is_closing()... as they are
        return getattr(self._transport, name)


class _Protocol(AMIProtocol):
    """Notes when Asterisk last said anything (an answer, an event); batches writes."""

    heard_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.transport = _BatchedWrites(transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.heard_at = time.monotonic()
        super().data_received(data)


class _Manager(Manager):
    """panoramisk's Manager with its own reconnect, replay and dispatch turned off."""

    def __init__(self, link: AmiLink, **config: Any) -> None:
        super().__init__(**config)
        self._link = link

    def ping(self) -> None:  # the link's watchdog pings, and checks the answer
        self.pinger = None

    async def send_awaiting_actions(self, *_: Any) -> None:
        self.awaiting_actions.clear()

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return  # panoramisk would retry forever from here; the link decides instead
        super().connection_made(f)

    def dispatch(self, event: Message) -> list[str]:
        if self is self._link._manager:  # a manager the link gave up on says nothing
            self._link._enqueue(AmiEvent.from_message(event))
        return []

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        self.awaiting_actions.clear()
        self._link._lost(self, exc)


class AmiLink:
    """One logical, always-reconnecting AMI session for the engine."""

    def __init__(self, *, host: str, port: int, username: str, secret: str,
                 action_timeout: float = 10.0, ping_interval: float = 5.0,
                 reconnect_max_delay: float = 5.0, reconnect_min_delay: float = 0.2,
                 connect_timeout: float = 2.0) -> None:
        self._config = {"host": host, "port": port, "username": username, "secret": secret}
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self.reconnect_min_delay = reconnect_min_delay
        self.reconnect_max_delay = reconnect_max_delay
        # A login answers in milliseconds; one lost in an outage must not hold up recovery.
        self.connect_timeout = connect_timeout
        self.state = LinkState.DOWN
        self._manager: _Manager | None = None
        # The consumer's queue: a deque and a wake-up flag (an asyncio.Queue's put and
        # get cost more than parsing an event does).
        self._events: deque[AmiEvent] = deque()
        self._events_ready = asyncio.Event()
        self._handlers: list[EventHandler] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._up = asyncio.Event()
        self._lost_signal = asyncio.Event()
        self.connects = 0

    # ---- public API ---------------------------------------------------------

    def on_event(self, handler: EventHandler) -> None:
        """Handlers see every event, in Asterisk's order, one at a time."""
        self._handlers.append(handler)

    async def start(self) -> None:
        self.state = LinkState.CONNECTING
        self._tasks = [asyncio.create_task(self._consume(), name="ami-events"),
                       asyncio.create_task(self._maintain(), name="ami-link")]

    async def wait_up(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._up.wait(), timeout)

    @property
    def is_up(self) -> bool:
        return self.state is LinkState.UP

    async def action(self, action: Mapping[str, Any], timeout: float | None = None,
                     as_list: bool = False, check: bool = True) -> Any:
        """Send one action and await its answer; raise on error, timeout or no link.

        One answer, unless ``as_list``: left to guess, panoramisk waits on an async
        Originate until the phone is answered and swallows the OriginateResponse,
        which belongs in the event stream.
        """
        return await self.send_now(action, timeout, as_list, check)

    def send_now(self, action: Mapping[str, Any], timeout: float | None = None,
                 as_list: bool = False, check: bool = True) -> Awaitable[Any]:
        """Send the action to Asterisk (written at the end of this turn of the loop,
        with the others of the turn); await the result for its answer (as ``action``).
        Actions sent one after another reach Asterisk, and run there, in that order (one
        session is served in order): a caller can send several and await them after,
        instead of one round trip each."""
        manager = self._manager
        if self.state is not LinkState.UP or manager is None:
            raise AmiUnavailable(f"AMI link is {self.state.value}: {action.get('Action')} not sent")
        future = manager.send_action(dict(action), as_list=as_list)
        return self._answer(future, action, timeout, check)

    async def _answer(self, future: asyncio.Future[Any], action: Mapping[str, Any],
                      timeout: float | None, check: bool) -> Any:
        try:
            reply = await asyncio.wait_for(asyncio.shield(future),
                                           timeout or self.action_timeout)
        except TimeoutError as exc:
            raise AmiTimeout(f"{action.get('Action')}: no answer in "
                             f"{timeout or self.action_timeout:.1f}s") from exc
        if check and not isinstance(reply, list) and reply.get("Response") == "Error":
            raise AmiError(f"{action.get('Action')}: {reply.get('Message', 'error')}")
        return reply

    async def event_list(self, action: Mapping[str, Any],
                         timeout: float | None = None) -> list[AmiEvent]:
        """An action answered by an event list (CoreShowChannels, Status...)."""
        reply = await self.action(action, timeout=timeout, as_list=True)
        messages = reply if isinstance(reply, list) else [reply]
        return [AmiEvent.from_message(m) for m in messages if m.get("Event")
                and not m.get("Event", "").endswith("Complete")]

    def _heard_since(self, moment: float) -> bool:
        protocol = self._manager.protocol if self._manager is not None else None
        return isinstance(protocol, _Protocol) and protocol.heard_at > moment

    def drop(self) -> None:
        """Close the current connection as if the network had failed (and reconnect)."""
        if self._manager is not None and self._manager.protocol is not None:
            self._manager.protocol.transport.abort()

    async def close(self) -> None:
        self.state = LinkState.CLOSED
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._manager is not None:
            self._manager.close()

    # ---- inside -------------------------------------------------------------

    def _enqueue(self, event: AmiEvent) -> None:
        self._events.append(event)
        self._events_ready.set()

    def _lost(self, manager: _Manager, exc: Exception | None) -> None:
        if manager is self._manager:
            self._lost_signal.set()

    async def _consume(self) -> None:
        events, ready = self._events, self._events_ready
        while self.state is not LinkState.CLOSED:
            if not events:
                ready.clear()
                await ready.wait()
                continue
            event = events.popleft()
            for handler in self._handlers:
                try:
                    result = handler(event)
                    if result is not None:
                        await result
                except Exception:
                    log.exception("ami.handler_failed", extra={"event": event.name})

    async def _connect_once(self) -> _Manager:
        manager = _Manager(self, **self._config, ping_delay=0, reconnect_timeout=0,
                           protocol_factory=_Protocol,
                           loop=asyncio.get_running_loop())
        self._manager = manager  # from now on only this manager's events are delivered
        try:
            await asyncio.wait_for(manager.connect(), self.connect_timeout)
            login = manager.authenticated_future
            if login is None:
                raise AmiError("AMI connection made but no login was sent")
            reply = await asyncio.wait_for(login, self.connect_timeout)
        except (TimeoutError, OSError):
            manager.close()
            raise
        if not reply.success:
            manager.close()
            raise AmiError(f"AMI login refused: {reply.get('Message', '')}")
        return manager

    async def _maintain(self) -> None:
        delay = self.reconnect_min_delay
        while self.state is not LinkState.CLOSED:
            self.state = LinkState.CONNECTING
            try:
                self._lost_signal.clear()
                self._manager = await self._connect_once()
            except (OSError, AmiError, TimeoutError) as exc:
                log.warning("ami.connect_failed", extra={"error": str(exc), "retry_in": delay})
                await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))
                delay = min(delay * 2, self.reconnect_max_delay)
                continue
            delay = self.reconnect_min_delay
            self.state = LinkState.UP
            self.connects += 1
            self._up.set()
            log.info("ami.up", extra={"connects": self.connects})
            self._enqueue(AmiEvent(LINK_UP, {"Connects": str(self.connects)}))
            await self._watch()
            self._up.clear()
            if self.state is LinkState.CLOSED:
                return
            self.state = LinkState.DOWN
            log.warning("ami.down")
            self._enqueue(AmiEvent(LINK_DOWN, {}))
            if self._manager is not None:
                self._manager.close()

    async def _watch(self) -> None:
        """Ping while up; no answer, and nothing else heard, means a half-open link: drop
        it and reconnect."""
        while self.state is not LinkState.CLOSED:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: see routing._timer
                async with asyncio.timeout(self.ping_interval):
                    await self._lost_signal.wait()
            if self._lost_signal.is_set() or self.state is LinkState.CLOSED:
                return
            sent = time.monotonic()
            try:
                await self.action({"Action": "Ping"}, timeout=max(1.0, self.ping_interval))
            except AmiError as exc:
                if isinstance(exc, AmiTimeout) and self._heard_since(sent):
                    log.info("ami.ping_late")  # busy, not gone: ping again
                    continue
                log.warning("ami.ping_unanswered")
                self.drop()
                return
