"""In-process publish/subscribe for what consoles and notifiers show live.

Publishing never blocks and never fails: the engine must not wait on a slow
browser. Each subscriber has a bounded queue; one that falls that far behind
is cut off (its WebSocket closes and the page reconnects and re-reads state)
rather than let memory grow or the engine stall.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BusEvent:
    """``topic`` like ``agent.offer``; ``audience`` limits who may see it (None: staff)."""

    topic: str
    data: dict[str, Any]
    at: float
    agent_id: str | None = None
    queue: str | None = None
    seq: int = 0


@dataclass(eq=False)
class Subscription:
    accepts: Callable[[BusEvent], bool]
    queue: asyncio.Queue[BusEvent | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000))
    overflowed: bool = False

    async def get(self) -> BusEvent | None:
        """The next event; None once the subscription was cut off for falling behind."""
        return await self.queue.get()


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._taps: list[Callable[[BusEvent], None]] = []
        self._seq = 0

    def tap(self, observe: Callable[[BusEvent], None]) -> None:
        """Call ``observe`` with every event as it is published, before any subscriber
        sees it (metrics time things here: an offer's event is published once the offer
        reached its channel). It must be quick; an exception is logged, never raised."""
        self._taps.append(observe)

    def subscribe(self, accepts: Callable[[BusEvent], bool] = lambda _e: True) -> Subscription:
        sub = Subscription(accepts)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    def publish(self, topic: str, data: dict[str, Any], *, at: float,
                agent_id: str | None = None, queue: str | None = None) -> BusEvent:
        self._seq += 1
        event = BusEvent(topic, data, at, agent_id, queue, self._seq)
        for observe in self._taps:
            try:
                observe(event)
            except Exception:
                log.exception("bus.tap_failed", extra={"topic": topic})
        for sub in list(self._subscribers):
            if not sub.accepts(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("bus.subscriber_cut_off", extra={"topic": topic})
                sub.overflowed = True
                self._subscribers.discard(sub)
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)
        return event

    def mark(self) -> int:
        """A number on the events' ``seq`` scale for a read of state taken now: events
        published before it have lower seqs, events published after it higher ones (so
        event seqs are increasing, not consecutive). A page whose reads and live events
        cross keeps the newest by it."""
        self._seq += 1
        return self._seq

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
