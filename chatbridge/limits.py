"""Rate limits for visitors: a token bucket per conversation, a window per address.

Both are O(1) per check and bounded in memory, so a flood costs the engine a dict
lookup, never a database write.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["AddressWindow", "Bucket"]


@dataclass(slots=True)
class Bucket:
    """``rate`` per minute, with a burst of the same size; ``debt`` counts refusals in a
    row, so a visitor who keeps sending past the limit can be disconnected."""

    rate: float
    tokens: float
    at: float
    debt: int = 0

    @classmethod
    def full(cls, per_minute: int, now: float) -> Bucket:
        return cls(float(per_minute), float(per_minute), now)

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate / 60.0)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.debt = 0
            return True
        self.debt += 1
        return False


class AddressWindow:
    """At most ``limit`` events per ``seconds`` per key (e.g. new chats per address).

    Keys are forgotten oldest first beyond ``max_keys``, so a spray of addresses cannot
    grow memory without bound.
    """

    def __init__(self, limit: int, seconds: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.seconds = seconds
        self.max_keys = max_keys
        self._seen: OrderedDict[str, list[float]] = OrderedDict()

    def allow(self, key: str, now: float) -> float | None:
        """None when allowed (and counted); else the seconds until it would be."""
        times = [t for t in self._seen.pop(key, []) if t > now - self.seconds]
        if len(times) >= self.limit:
            self._seen[key] = times
            return times[0] + self.seconds - now
        times.append(now)
        self._seen[key] = times
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return None
