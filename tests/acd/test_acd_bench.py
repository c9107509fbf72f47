"""Run the benchmark's builder and loop at a tiny size so bench/acd.py cannot rot."""

from __future__ import annotations

from acd import TaskState
from bench import acd as bench


def test_bench_builds_the_steady_state_and_measures() -> None:
    w = bench.build(n_agents=30, n_waiting=60, n_skills=5, seed=3)
    views = w.engine.agents()
    skilled = [v for v in views if not v.agent_id.startswith("i")]
    assert len(skilled) == 30
    waiting = [t for t in w.engine.waiting() if t.state == TaskState.WAITING]
    assert len(waiting) == 60
    # every skilled agent that could take something is busy (work conserving)
    assert all(v.state == "busy" for v in skilled if v.agent_id in w.busy)
    res = bench.run(30, 60, cycles=20, seed=3, n_skills=5)
    assert set(res) == {"freed", "arrival", "idle_arrival", "idle_freed"}
    assert all(len(v) == 20 and min(v) > 0 for v in res.values())
    med, p99 = bench._us(res["freed"])
    assert 0 < med <= p99
