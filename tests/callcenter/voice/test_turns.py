"""After a restart, woken callers are queued in the order they arrived (``Turns``)."""

from __future__ import annotations

import asyncio

from callcenter.voice.turns import Turns


async def _queue(turns: Turns, uid: str, arrived: float, queued: list[str]) -> None:
    await turns.turn(uid, arrived)
    queued.append(uid)


async def test_a_later_caller_waits_for_an_earlier_one_still_on_the_way() -> None:
    turns = Turns(wait_seconds=5.0)
    turns.expect({"a": 10.0, "b": 11.0})
    queued: list[str] = []
    later = asyncio.create_task(_queue(turns, "b", 11.0, queued))
    newcomer = asyncio.create_task(_queue(turns, "n", 50.0, queued))
    await asyncio.sleep(0.05)
    assert queued == []  # both wait for a
    await _queue(turns, "a", 10.0, queued)
    await asyncio.gather(later, newcomer)
    assert queued[0] == "a"
    assert sorted(queued[1:]) == ["b", "n"]


async def test_an_earlier_caller_who_hangs_up_holds_nobody() -> None:
    turns = Turns(wait_seconds=5.0)
    turns.expect({"a": 10.0})
    queued: list[str] = []
    later = asyncio.create_task(_queue(turns, "b", 11.0, queued))
    await asyncio.sleep(0.05)
    assert queued == []
    turns.left("a")  # its Hangup
    await asyncio.wait_for(later, 1.0)
    assert queued == ["b"]


async def test_nobody_waits_longer_than_the_limit() -> None:
    turns = Turns(wait_seconds=0.2)
    turns.expect({"a": 10.0})
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(turns.turn("b", 11.0), 2.0)
    assert 0.15 <= loop.time() - began < 1.0
    await asyncio.wait_for(turns.turn("c", 12.0), 0.05)  # the limit passed: at once


async def test_an_earlier_caller_never_waits_for_later_ones() -> None:
    turns = Turns(wait_seconds=5.0)
    turns.expect({"b": 11.0, "c": 12.0})
    await asyncio.wait_for(turns.turn("a", 10.0), 0.05)
    await asyncio.wait_for(turns.turn("b", 11.0), 0.05)
