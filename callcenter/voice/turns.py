"""Callers who waited through an engine restart are queued in the order they called.

A returning engine wakes the callers who waited in standby (``Recovery``) and
they walk the IVR again, all at once: the walks end in any order. Each keeps the
time they called as their arrival, so the queue orders them right, but an agent
free meanwhile takes whoever is queued first. ``Turns`` holds a caller back while
someone who arrived earlier is still on their way (waited for the engine, not yet
queued, not gone), for at most ``WAIT_SECONDS`` after the wake: then every caller
goes on. Arrival times are the queue's own: the time called for a caller who
waited in standby, the end of the IVR for any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

log = logging.getLogger(__name__)

WAIT_SECONDS = 5.0


class Turns:
    def __init__(self, wait_seconds: float = WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds
        self._on_the_way: dict[str, float] = {}  # caller uid -> arrival
        self._until = 0.0
        self._changed = asyncio.Event()

    def expect(self, arrivals: Mapping[str, float]) -> None:
        """These callers (uid -> arrival) are on their way: later ones wait for them."""
        self._on_the_way.update(arrivals)
        self._until = asyncio.get_running_loop().time() + self.wait_seconds

    def left(self, uid: str) -> None:
        """The caller is queued, or gone: nobody waits for them any more."""
        if self._on_the_way.pop(uid, None) is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def turn(self, uid: str, arrived: float) -> None:
        """Return when nobody who arrived before ``arrived`` is still on the way (at once,
        without yielding, when nobody is)."""
        loop = asyncio.get_running_loop()
        while any(other < arrived for caller, other in self._on_the_way.items()
                  if caller != uid):
            remaining = self._until - loop.time()
            if remaining <= 0:
                log.warning("voice.woken_not_queued", extra={
                    "callers": len(self._on_the_way), "waited_s": self.wait_seconds})
                self._on_the_way.clear()
                break
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await changed.wait()
        self.left(uid)
