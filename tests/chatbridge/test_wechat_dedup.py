"""The in-memory dedup memory: time-limited and bounded."""

from __future__ import annotations

import pytest

from chatbridge import TtlDedup


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_keys_are_remembered_for_the_ttl_only() -> None:
    clock = Clock()
    dedup = TtlDedup(ttl_s=60, max_entries=100, clock=clock)
    assert dedup.check_and_add("a") is True
    clock.now = 59.9
    assert dedup.check_and_add("a") is False
    assert dedup.check_and_add("b") is True
    clock.now = 60.0
    assert "a" not in dedup and "b" in dedup
    assert dedup.check_and_add("a") is True  # long gone: a new message as far as we know
    assert len(dedup) == 2


def test_the_memory_is_bounded_oldest_first() -> None:
    dedup = TtlDedup(ttl_s=600, max_entries=3, clock=Clock())
    for key in "abcd":
        assert dedup.check_and_add(key)
    assert len(dedup) == 3 and "a" not in dedup
    assert dedup.check_and_add("b") is False


def test_forget() -> None:
    dedup = TtlDedup(clock=Clock())
    dedup.check_and_add("a")
    dedup.forget("a")
    dedup.forget("never-seen")
    assert dedup.check_and_add("a") is True


@pytest.mark.parametrize("kwargs", [{"ttl_s": 0}, {"max_entries": 0}])
def test_nonsense_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TtlDedup(**kwargs)
