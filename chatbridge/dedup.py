"""A bounded, time-limited memory of message keys already handed on.

WeChat retries a callback it got no answer to within 5 s, three times, over about
15 s; a few minutes of memory covers that. The bound keeps a flood of distinct keys
from growing memory without limit (the oldest are forgotten first); anything older
is the chat service's to catch with its persistent ``dedup_key`` check.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["TtlDedup"]


class TtlDedup:
    def __init__(self, *, ttl_s: float = 600.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0 or max_entries < 1:
            raise ValueError("ttl_s must be > 0 and max_entries >= 1")
        self._ttl = ttl_s
        self._max = max_entries
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        self._expire(self._clock())
        return len(self._seen)

    def __contains__(self, key: str) -> bool:
        self._expire(self._clock())
        return key in self._seen

    def _expire(self, now: float) -> None:
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[key]

    def check_and_add(self, key: str) -> bool:
        """True when ``key`` is new (and is now remembered), False for a duplicate."""
        now = self._clock()
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now + self._ttl
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True

    def forget(self, key: str) -> None:
        """Drop ``key``, e.g. when the message could not be handed on after all."""
        self._seen.pop(key, None)
