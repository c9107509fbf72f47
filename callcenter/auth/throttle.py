"""Failed logins slow down whoever fails, not the person they try to be.

Only failures count, never sign-ins: a whole shift behind one office address (NAT)
signs in at once untouched. Two counters, each over ``WINDOW`` seconds:

* per (user, address): after ``limit`` failures, each further try from that
  address for that user waits a delay that doubles with every failure (1 s, 2 s,
  4 s ... up to ``MAX_DELAY``). The real user at another address is not affected,
  so an attacker cannot lock anyone out;
* per address: the same, from ``ADDRESS_FACTOR`` x ``limit`` failures, whatever the
  user names: password spraying from one place slows down, a few typos in an office
  never reach it.

A success clears its (user, address) counter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 15 * 60.0
MAX_DELAY = 15 * 60.0
ADDRESS_FACTOR = 10


@dataclass
class _Failures:
    count: int = 0
    first: float = 0.0
    last: float = 0.0


@dataclass
class LoginThrottle:
    limit: Callable[[], int]
    max_keys: int = 100_000
    _seen: dict[str, _Failures] = field(default_factory=dict)

    def retry_after(self, user: str, address: str, now: float) -> float | None:
        """Seconds before this try may be made, or None if it may be made now."""
        waits = [self._wait(key, threshold, now) for key, threshold in self._keys(user, address)]
        longest = max((w for w in waits if w is not None), default=None)
        return longest

    def failed(self, user: str, address: str, now: float) -> None:
        for key, _threshold in self._keys(user, address):
            entry = self._current(key, now)
            if entry is None:
                if len(self._seen) >= self.max_keys:
                    self._sweep(now)
                entry = self._seen[key] = _Failures(first=now)
            entry.count += 1
            entry.last = now

    def succeeded(self, user: str, address: str) -> None:
        self._seen.pop(self._pair(user, address), None)

    def _keys(self, user: str, address: str) -> list[tuple[str, int]]:
        limit = max(1, self.limit())
        return [(self._pair(user, address), limit), (f"ip:{address}", limit * ADDRESS_FACTOR)]

    @staticmethod
    def _pair(user: str, address: str) -> str:
        return f"pair:{user.strip().lower()}|{address}"

    def _wait(self, key: str, threshold: int, now: float) -> float | None:
        entry = self._current(key, now)
        if entry is None or entry.count < threshold:
            return None
        delay = min(MAX_DELAY, 2.0 ** (entry.count - threshold))
        remaining = entry.last + delay - now
        return remaining if remaining > 0 else None

    def _current(self, key: str, now: float) -> _Failures | None:
        entry = self._seen.get(key)
        if entry is not None and now - entry.last > WINDOW:
            del self._seen[key]
            return None
        return entry

    def _sweep(self, now: float) -> None:
        for key in list(self._seen):
            self._current(key, now)
        while len(self._seen) >= self.max_keys:  # still full: forget the oldest
            self._seen.pop(next(iter(self._seen)))
