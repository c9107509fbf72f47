"""Run the benchmark's builder and loop at a tiny size so bench/acd.py cannot rot."""

from __future__ import annotations

from acd import AnnouncePosition, TaskState
from bench import acd as bench


def test_bench_builds_the_steady_state_and_measures() -> None:
    w = bench.build(n_agents=30, n_waiting=60, n_skills=5, seed=3, gap=5.0)
    views = w.engine.agents()
    assert len(views) == 30
    waiting = [t for t in w.engine.waiting("support") if t.state == TaskState.WAITING]
    assert len(waiting) == 60
    # every agent that could take something is busy (work conserving)
    assert all(v.state == "busy" for v in views if v.agent_id in w.busy)
    assert sorted(w.busy) == sorted(w.busy_ids)
    # a gap of 5 s: callers wait ~300 s, through the whole ladder, and hear their place
    res = bench.run(30, 60, cycles=40, seed=3, n_skills=5, gap=5.0)
    assert set(bench.KINDS) <= set(res) <= {*bench.KINDS, "floor", "floor_cold"}
    assert all(len(res[k]) == 40 for k in ("freed", "accepted", "arrival", "floor_cold"))
    assert len(res["floor"]) == bench.FLOOR_BLOCK
    assert len(res["escalation"]) > 40 and len(res["announcement"]) > 40
    assert all(min(v) > 0 for v in res.values())
    med, p99 = bench._us(res["freed"])
    assert 0 < med <= p99


def test_bench_tells_timers_apart_by_their_outputs() -> None:
    from acd import LogEvent

    assert bench.timer_kind([LogEvent(0, "ESCALATE", "t", "support")]) == "escalation"
    assert bench.timer_kind([AnnouncePosition("t", "support", 3, None)]) == "announcement"
    assert bench.timer_kind([]) == "announcement"  # a tick with no news
