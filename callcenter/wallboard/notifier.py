"""Pushes wallboard snapshots: every ``interval`` seconds, and soon after a change.

It consumes ``queue.event`` and ``agent.state`` from the bus (keeping the wallboard's
counters and times in state current) and publishes ``wallboard.snapshot`` with the
full snapshot, at most every ``min_gap`` seconds while things happen and every
``interval`` seconds otherwise, only while someone watches. The WebSocket hub cuts
each snapshot down to what each supervisor may see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from callcenter.bus import EventBus, Subscription

from .services import WallboardService

log = logging.getLogger(__name__)

TOPIC = "wallboard.snapshot"
CONSUMES = frozenset({"queue.event", "agent.state"})


class WallboardNotifier:
    def __init__(self, *, service: WallboardService, bus: EventBus, interval: float = 1.0,
                 min_gap: float = 0.2, watching: Callable[[], int] = lambda: 1) -> None:
        self.service = service
        self.bus = bus
        self.interval = interval
        self.min_gap = min_gap
        self.watching = watching
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self.pushed = 0

    async def start(self) -> None:
        self._sub = self.bus.subscribe(lambda e: e.topic in CONSUMES)
        try:
            await self.service.load()
        except Exception:
            log.exception("wallboard.load_failed")
        self._task = asyncio.create_task(self._run(), name="wallboard-notifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            self.bus.unsubscribe(self._sub)

    @property
    def caught_up(self) -> bool:
        """Every event published so far has been counted (what a test waits on before it
        compares the wallboard with another view of the same day)."""
        return self._sub is None or self._sub.queue.empty()

    def push(self) -> None:
        self.pushed += 1
        self.bus.publish(TOPIC, self.service.snapshot(), at=self.service.clock())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_push = loop.time() + self.interval
        last_push = 0.0
        dirty = False
        while True:
            assert self._sub is not None
            now = loop.time()
            wait = next_push - now
            if dirty:
                wait = min(wait, last_push + self.min_gap - now)
            try:  # asyncio.timeout: 3.11's wait_for can swallow a cancellation in a loop
                async with asyncio.timeout(max(0.0, wait)):
                    event = await self._sub.get()
            except TimeoutError:
                pass
            else:
                batch = [event]  # and whatever else is already queued
                while batch[-1] is not None and not self._sub.queue.empty():
                    batch.append(self._sub.queue.get_nowait())
                for item in batch:
                    if item is not None:
                        self.service.observe(item)
                if batch[-1] is None:  # cut off for falling behind: start over
                    log.warning("wallboard.resubscribed")
                    self._sub = self.bus.subscribe(lambda e: e.topic in CONSUMES)
                    await self.service.load()
                dirty = True
            now = loop.time()
            if now >= next_push or (dirty and now - last_push >= self.min_gap):
                if self.watching():
                    try:
                        self.push()
                    except Exception:
                        log.exception("wallboard.snapshot_failed")
                last_push, dirty = now, False
                next_push = now + self.interval
