"""The contact center's day: counters start again at midnight in callcenter.yaml's
``timezone``, and the wallboard's "today" is the same day."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import acd
from callcenter.bus import EventBus
from callcenter.routing.services import RoutingService, next_midnight
from callcenter.storage import Store
from callcenter.wallboard.services import day_start

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str, zone: ZoneInfo = SHANGHAI) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def test_midnight_is_the_zones_not_the_servers():
    # 23:30 in Shanghai is 15:30 UTC: the next midnight is Shanghai's, 30 minutes away.
    assert next_midnight(at("2026-11-30T23:30:00"), SHANGHAI) == at("2026-12-01T00:00:00")
    assert next_midnight(at("2026-11-30T23:30:00"), ZoneInfo("UTC")) == \
        at("2026-12-01T00:00:00", ZoneInfo("UTC"))
    # The wallboard's today starts at the same local midnight.
    assert day_start(at("2026-12-01T00:10:00"), SHANGHAI) == at("2026-12-01T00:00:00")
    assert day_start(at("2026-11-30T23:50:00"), SHANGHAI) == at("2026-11-30T00:00:00")


async def test_answered_today_starts_again_at_local_midnight(tmp_path):
    now = [at("2026-11-30T23:59:58")]
    store = await Store.open(tmp_path / "cc.sqlite3")
    queue = acd.Queue("q", strategy=acd.Strategy.FEWEST_TASKS)
    routing = RoutingService(queues=[queue], store=store, bus=EventBus(),
                             clock=lambda: now[0], timezone="Asia/Shanghai")

    class Accepting:  # the channel side: every offer is answered at once
        async def apply(self, decision: acd.Decision) -> None:
            if isinstance(decision, acd.Offer):
                routing.accept(decision.offer_id)

        async def after_batch(self) -> None:
            pass

    routing.attach("voice", Accepting())
    await routing.start()
    try:
        routing.login(acd.Agent("a", queues=["q"]), ready=True)
        routing.arrive(acd.Task("t1", "voice", "q"))
        await routing.flush()
        assert routing.agent("a").answered == 1
        now[0] = at("2026-12-01T00:00:01")  # midnight in Shanghai has passed
        await asyncio.sleep(2.5)  # the timer wakes at the midnight it computed
        assert routing.agent("a").answered == 0
    finally:
        await routing.stop()
        await store.close()
