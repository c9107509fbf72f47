"""After a restart, woken callers are queued in the order they called (``Turns``)."""

from __future__ import annotations

import asyncio

from callcenter.voice.turns import Turns, creation_order


async def _queue(turns: Turns, uid: str, queued: list[str]) -> None:
    await turns.turn(uid)
    queued.append(uid)


def test_creation_order_reads_asterisks_counter_not_the_text() -> None:
    assert creation_order("1764555000.99") < creation_order("1764555000.100")
    assert creation_order("1764555000.100") < creation_order("1764555001.3")


async def test_a_younger_caller_waits_for_an_older_one_still_on_the_way() -> None:
    turns = Turns(wait_seconds=5.0)
    turns.expect(["1700000000.10", "1700000000.11"])
    queued: list[str] = []
    younger = asyncio.create_task(_queue(turns, "1700000000.11", queued))
    newcomer = asyncio.create_task(_queue(turns, "1700000000.50", queued))
    await asyncio.sleep(0.05)
    assert queued == []  # both wait for .10
    await _queue(turns, "1700000000.10", queued)
    await asyncio.gather(younger, newcomer)
    assert queued[0] == "1700000000.10"
    assert sorted(queued[1:]) == ["1700000000.11", "1700000000.50"]


async def test_an_older_caller_who_hangs_up_holds_nobody() -> None:
    turns = Turns(wait_seconds=5.0)
    turns.expect(["1700000000.10"])
    queued: list[str] = []
    younger = asyncio.create_task(_queue(turns, "1700000000.11", queued))
    await asyncio.sleep(0.05)
    assert queued == []
    turns.left("1700000000.10")  # its Hangup
    await asyncio.wait_for(younger, 1.0)
    assert queued == ["1700000000.11"]


async def test_nobody_waits_longer_than_the_limit() -> None:
    turns = Turns(wait_seconds=0.2)
    turns.expect(["1700000000.10"])
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(turns.turn("1700000000.11"), 2.0)
    assert 0.15 <= loop.time() - began < 1.0
    await asyncio.wait_for(turns.turn("1700000000.12"), 0.05)  # the limit passed: at once


async def test_an_older_caller_never_waits_for_younger_ones() -> None:
    turns = Turns(wait_seconds=5.0)
    turns.expect(["1700000000.11", "1700000000.12"])
    await asyncio.wait_for(turns.turn("1700000000.10"), 0.05)
    await asyncio.wait_for(turns.turn("1700000000.11"), 0.05)
