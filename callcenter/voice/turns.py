"""Callers who waited through an engine restart are queued in the order they called.

A returning engine wakes the callers who waited in standby (``Recovery``) and
they walk the IVR again, all at once: the walks end in any order. Each keeps the
time they called, so the queue orders them right, but an agent free meanwhile
takes whoever is queued first. ``Turns`` holds a caller back while someone who
called earlier is still on their way (woken, not yet queued, not gone), for at
most ``WAIT_SECONDS`` after the wake: then every caller goes on.

Who called first is read from Asterisk's Uniqueid (``<epoch>.<counter>``), the
order in which it created the callers' channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

WAIT_SECONDS = 5.0


def creation_order(uid: str) -> tuple[int, int]:
    """Uniqueids are ``<epoch>.<counter>``: Asterisk's counter orders channel creation."""
    epoch, _, counter = uid.partition(".")
    return (int(epoch) if epoch.isdigit() else 0, int(counter) if counter.isdigit() else 0)


class Turns:
    def __init__(self, wait_seconds: float = WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds
        self._on_the_way: dict[str, tuple[int, int]] = {}  # caller uid -> creation order
        self._until = 0.0
        self._changed = asyncio.Event()

    def expect(self, uids: Iterable[str]) -> None:
        """These callers were woken: younger ones wait for them from now on."""
        loop = asyncio.get_running_loop()
        self._on_the_way.update({uid: creation_order(uid) for uid in uids})
        self._until = loop.time() + self.wait_seconds

    def left(self, uid: str) -> None:
        """The caller is queued, or gone: nobody waits for them any more."""
        if self._on_the_way.pop(uid, None) is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def turn(self, uid: str) -> None:
        """Return when nobody who called before ``uid`` is still on the way (at once,
        without yielding, when nobody is)."""
        order = creation_order(uid)
        loop = asyncio.get_running_loop()
        while any(other < order for caller, other in self._on_the_way.items()
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
