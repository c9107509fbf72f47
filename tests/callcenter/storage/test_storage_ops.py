"""Queue log under concurrency, transactions, agent states, config audit and callbacks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.storage import NotFound, QueueLogEvent, Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "cc.db")
    yield s
    await s.close()


async def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    tasks_n, per_task = 40, 25
    async with await Store.open(db) as store:

        async def single(task: int) -> None:
            for n in range(per_task):
                await store.log_event(
                    "ENTERQUEUE", at=task * 1000 + n, interaction_id=f"t{task}-{n}",
                    queue=f"q{task % 3}", data={"task": task, "n": n},
                )  # fmt: skip
                if n % 5 == 0:
                    await asyncio.sleep(0)

        async def batch(task: int) -> None:
            for chunk in range(5):
                await store.log_events(
                    [
                        QueueLogEvent("CONNECT", at=50_000 + task * 100 + chunk * 10 + k,
                                      queue="batch", agent=f"a{task}")
                        for k in range(10)
                    ]
                )  # fmt: skip

        async def states(task: int) -> None:
            for n in range(10):
                await store.record_agent_state(f"agent{task}", "ready" if n % 2 else "paused",
                                               at=float(n))  # fmt: skip

        await asyncio.gather(
            *(single(t) for t in range(tasks_n)),
            *(batch(t) for t in range(10)),
            *(states(t) for t in range(10)),
        )
        events = await store.events_between(0, 1e9)
        assert len(events) == tasks_n * per_task + 10 * 5 * 10
        assert len({e.id for e in events}) == len(events)
        assert len(await store.agent_states_since(0)) == 100

    # ...and all of it is on disk.
    async with await Store.open(db) as store:
        events = await store.events_between(0, 1e9)
        assert len(events) == tasks_n * per_task + 500
        singles = {(e.data["task"], e.data["n"]) for e in events if e.event == "ENTERQUEUE"}
        assert singles == {(t, n) for t in range(tasks_n) for n in range(per_task)}


async def test_two_stores_on_one_file_write_concurrently(tmp_path: Path) -> None:
    """Two connections (as two processes would have) rely on WAL and busy_timeout."""
    db = tmp_path / "cc.db"
    a = await Store.open(db)
    b = await Store.open(db)
    try:

        async def write(store: Store, tag: str) -> None:
            for n in range(100):
                await store.log_event("PING", at=float(n), agent=tag)

        await asyncio.gather(write(a, "a"), write(b, "b"), write(a, "a2"), write(b, "b2"))
        events = await a.events_between(0, 1000)
        assert len(events) == 400
        assert {e.agent for e in events} == {"a", "b", "a2", "b2"}
    finally:
        await a.close()
        await b.close()


async def test_transaction_is_atomic_and_isolated(store: Store) -> None:
    started = asyncio.Event()

    async def failing() -> None:
        async with store.transaction():
            call = await store.create_interaction("voice", id="doomed")
            await store.log_event("ENTERQUEUE", at=1.0, interaction_id=call.id)
            started.set()
            await asyncio.sleep(0.05)  # others must wait, and must not see our rows
            raise RuntimeError("boom")

    async def reader() -> object:
        await started.wait()
        return await store.get_interaction("doomed")

    async def writer() -> None:
        await started.wait()
        await store.log_event("OTHER", at=2.0)

    results = await asyncio.gather(failing(), reader(), writer(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    assert results[1] is None  # never saw the uncommitted interaction
    assert await store.get_interaction("doomed") is None
    assert [e.event for e in await store.events_between(0, 10)] == ["OTHER"]

    async with store.transaction():
        call = await store.create_interaction("voice", id="kept")
        await store.update_interaction(call.id, ended_at=5.0, outcome="abandoned")
        await store.log_event("ABANDON", at=5.0, interaction_id=call.id, data={"pos": 1})
    assert (await store.get_interaction("kept")).outcome == "abandoned"


async def test_cancelled_writer_leaves_store_usable(store: Store) -> None:
    async def slow() -> None:
        async with store.transaction():
            await store.log_event("X", at=1.0)
            await asyncio.sleep(10)

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await store.log_event("Y", at=2.0)
    assert [e.event for e in await store.events_between(0, 10)] == ["Y"]


async def test_queue_log_queries(store: Store) -> None:
    stored = await store.log_events(
        [
            {"event": "ENTERQUEUE", "at": 10.0, "interaction_id": "c1", "queue": "sales",
             "data": {"position": 1}},
            QueueLogEvent("CONNECT", at=20.0, interaction_id="c1", queue="sales", agent="a1",
                          data={"holdtime": 10}),
            {"event": "ENTERQUEUE", "at": 15.0, "interaction_id": "c2", "queue": "support"},
            {"event": "COMPLETECALLER", "at": 90.0, "interaction_id": "c1", "queue": "sales",
             "agent": "a1"},
        ]
    )  # fmt: skip
    assert all(e.id is not None for e in stored)
    window = await store.events_between(10.0, 90.0)
    assert [(e.event, e.at) for e in window] == [
        ("ENTERQUEUE", 10.0),
        ("ENTERQUEUE", 15.0),
        ("CONNECT", 20.0),
    ]
    sales = await store.events_between(0, 100, queue="sales")
    assert [e.event for e in sales] == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert sales[1].data == {"holdtime": 10} and sales[1].agent == "a1"
    assert [e.event for e in await store.events_between(0, 100, interaction_id="c2")] == [
        "ENTERQUEUE"
    ]
    # A batch with a bad event stores nothing.
    with pytest.raises(KeyError):
        await store.log_events([{"event": "OK", "at": 1.0}, {"at": 2.0}])
    assert len(await store.events_between(0, 100)) == 4


async def test_agent_states(store: Store) -> None:
    await store.record_agent_state("a1", "logged_in", at=1.0)
    await store.record_agent_state("a1", "paused", "lunch", at=5.0)
    await store.record_agent_state("a2", "ready", at=3.0)
    change = await store.record_agent_state("a1", "ready", at=9.0)
    assert change.reason is None and change.id > 0
    assert [(s.agent_id, s.state) for s in await store.agent_states_since(3.0)] == [
        ("a2", "ready"),
        ("a1", "paused"),
        ("a1", "ready"),
    ]
    paused = (await store.agent_states_since(0, agent_id="a1"))[1]
    assert (paused.state, paused.reason) == ("paused", "lunch")
    latest = await store.latest_agent_states()
    assert {k: v.state for k, v in latest.items()} == {"a1": "ready", "a2": "ready"}


async def test_config_changes(store: Store) -> None:
    await store.record_config_change("admin", "queues.yaml", "add queue", "a: 1\n", "a: 2\n",
                                     at=1.0)  # fmt: skip
    await store.record_config_change("bob", "ivr.yaml", "menu", None, "x", at=2.0)
    await store.record_config_change("admin", "queues.yaml", "rename", "a: 2\n", "b: 2\n",
                                     at=3.0)  # fmt: skip
    assert [c.summary for c in await store.config_changes()] == ["rename", "menu", "add queue"]
    assert [c.at for c in await store.config_changes(limit=1)] == [3.0]
    first = (await store.config_changes(filename="queues.yaml"))[-1]
    assert (first.actor, first.old_text, first.new_text) == ("admin", "a: 1\n", "a: 2\n")


async def test_callbacks(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    call = await store.create_interaction("voice", queue="sales")
    cb = await store.add_callback(
        "13812345678", queue="sales", interaction_id=call.id, requested_at=10.0
    )
    later = await store.add_callback("13900001111", queue="support", requested_at=20.0,
                                     next_attempt_at=100.0)  # fmt: skip
    assert cb.status == "pending" and cb.attempts == 0 and cb.number == "13812345678"
    assert "13812345678" not in repr(cb) and "138****5678" in repr(cb)
    assert [c.id for c in await store.list_pending_callbacks()] == [cb.id, later.id]
    assert [c.id for c in await store.list_pending_callbacks("support")] == [later.id]
    assert [c.id for c in await store.list_pending_callbacks(due_at=50.0)] == [cb.id]

    dialing = await store.update_callback(cb.id, status="dialing", last_attempt_at=30.0,
                                          count_attempt=True)  # fmt: skip
    assert (dialing.status, dialing.attempts, dialing.last_attempt_at) == ("dialing", 1, 30.0)
    assert [c.id for c in await store.list_pending_callbacks()] == [later.id]
    done = await store.update_callback(cb.id, status="done", completed_at=60.0)
    assert done.status == "done" and done.attempts == 1
    with pytest.raises(ValueError):
        await store.update_callback(cb.id, requested_at=0.0)
    with pytest.raises(NotFound):
        await store.update_callback(424242, status="done")
    with pytest.raises(ValueError):
        await store.add_callback("  ")
    assert "13812345678" not in caplog.text
    assert "13900001111" not in caplog.text
