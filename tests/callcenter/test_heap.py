"""The engine's HeapKeeper (callcenter/heap.py): what start-up made is frozen, rounds
freeze what came since, a full round frees cycles that died while frozen, and stop gives
the process back its collector and GIL switch interval."""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref

import pytest

from callcenter.heap import SWITCH_INTERVAL, HeapKeeper


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


async def test_rounds_freeze_and_a_full_round_frees_cycles_that_died_frozen() -> None:
    before = sys.getswitchinterval()
    keeper = HeapKeeper(refreeze_seconds=3600)
    keeper.start()
    try:
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
        frozen = gc.get_freeze_count()
        assert frozen > 0 and keeper.rounds == 1
        kept = [[i] for i in range(5000)]  # sessions opened since
        node = Node()
        alive = weakref.ref(node)
        keeper.round()
        assert gc.get_freeze_count() >= frozen + len(kept)
        del node
        gc.collect()  # the collector's own runs no longer see frozen objects
        assert alive() is not None
        keeper.round(full=True)
        assert alive() is None
    finally:
        await keeper.stop()
    assert gc.get_freeze_count() == 0 and sys.getswitchinterval() == pytest.approx(before)


async def test_rounds_come_on_schedule_every_nth_full() -> None:
    keeper = HeapKeeper(refreeze_seconds=0.02, full_every=2)
    fulls: list[bool] = []
    original = keeper.round

    def spy(*, full: bool = False) -> float:
        fulls.append(full)
        return original(full=full)

    keeper.round = spy  # type: ignore[method-assign]
    keeper.start()
    try:
        for _ in range(200):
            if len(fulls) >= 5:
                break
            await asyncio.sleep(0.02)
    finally:
        await keeper.stop()
    assert fulls[:5] == [True, False, True, False, True]


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError):
        HeapKeeper(refreeze_seconds=0)
    with pytest.raises(ValueError):
        HeapKeeper(full_every=0)
