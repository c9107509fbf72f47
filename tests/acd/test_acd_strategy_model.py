"""The indexed strategies against a brute-force model of their rule.

One voice queue, two requirement classes (tasks needing skill x >= 1, and
tasks needing nothing), five agents with distinct positions and login times.
Random sequences of arrivals, call ends and pauses; every offer is accepted at
once. The model scans everyone each time (what the engine's heaps avoid) and
must agree with every offer the engine makes:

* on arrival, the agent chosen is the strategy's minimum among the idle,
  ready agents qualified for the task;
* when an agent frees up (or resumes), it takes the earliest waiting task it
  qualifies for (all priorities are equal here).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd import Agent, Engine, Membership, Offer, Queue, Strategy, Task

AGENTS = [
    ("a", 3, {"x": 2}),
    ("b", 1, {"x": 1}),
    ("c", 4, {}),
    ("d", 2, {"x": 3}),
    ("e", 5, {}),
]
MODELLED = [
    Strategy.LONGEST_IDLE,
    Strategy.ROUND_ROBIN,
    Strategy.FEWEST_TASKS,
    Strategy.BEST_SKILL,
    Strategy.LINEAR,
]


@dataclass
class M:
    id: str
    pos: int
    skills: dict[str, int]
    idle_since: float
    ready: bool = True
    task: str | None = None
    answered: int = 0


def needs_x(cls: str) -> bool:
    return cls == "X"


def can(ag: M, cls: str) -> bool:
    return not needs_x(cls) or ag.skills.get("x", 0) >= 1


ops = st.lists(
    st.one_of(
        st.tuples(st.just("arrive"), st.sampled_from("XY")),
        st.tuples(st.just("arrive"), st.sampled_from("XY")),
        st.tuples(st.just("end"), st.integers(0, len(AGENTS) - 1)),
        st.tuples(st.just("end"), st.integers(0, len(AGENTS) - 1)),
        st.tuples(st.just("pause"), st.integers(0, len(AGENTS) - 1)),
        st.tuples(st.just("resume"), st.integers(0, len(AGENTS) - 1)),
    ),
    max_size=60,
)


@pytest.mark.parametrize("strategy", MODELLED, ids=str)
@settings(max_examples=300, deadline=None)
@given(steps=ops)
def test_engine_agrees_with_the_brute_force_model(strategy: Strategy, steps: list) -> None:
    e = Engine([Queue("q", strategy=strategy, offer_timeout_seconds=None)])
    model = {}
    now = 0.0
    for aid, pos, skills in AGENTS:
        e.agent_login(Agent(aid, skills, {"voice": 1}, {"q": Membership(position=pos)}), now)
        model[aid] = M(aid, pos, skills, idle_since=now)
        now += 1
    waiting: list[tuple[str, str]] = []  # (task id, class) in arrival order
    cls_of: dict[str, str] = {}
    rr_last = -1
    n = 0

    def key(ag: M, cls: str) -> tuple:
        if strategy is Strategy.LONGEST_IDLE:
            return (ag.idle_since,)
        if strategy is Strategy.FEWEST_TASKS:
            return (ag.answered, ag.idle_since)
        if strategy is Strategy.BEST_SKILL:
            return (-(ag.skills.get("x", 0) if needs_x(cls) else 0), ag.idle_since)
        if strategy is Strategy.LINEAR:
            return (ag.pos,)
        return (ag.pos <= rr_last, ag.pos)  # round robin: after the last offered

    def take(outs: list, expect_agent: str | None, expect_task: str | None) -> None:
        nonlocal rr_last
        got = [o for o in outs if isinstance(o, Offer)]
        if expect_agent is None:
            assert got == [], (strategy, got)
            return
        assert [(o.agent_id, o.task_id) for o in got] == [(expect_agent, expect_task)], (
            strategy,
            got,
            expect_agent,
            expect_task,
        )
        e.offer_accepted(got[0].offer_id, now)
        ag = model[expect_agent]
        ag.task = expect_task
        ag.answered += 1
        rr_last = ag.pos
        waiting.remove((expect_task, cls_of[expect_task]))

    def next_task_for(ag: M) -> str | None:
        return next((tid for tid, cls in waiting if can(ag, cls)), None)

    for op, arg in steps:
        now += 1
        if op == "arrive":
            n += 1
            tid = f"t{n}"
            cls_of[tid] = arg
            waiting.append((tid, arg))
            skills = {"x": 1} if needs_x(arg) else {}
            outs = e.task_arrived(Task(tid, "voice", "q", skills=skills), now)
            idle = [g for g in model.values() if g.ready and g.task is None and can(g, arg)]
            best = min(idle, key=lambda g: key(g, arg)) if idle else None
            take(outs, best.id if best else None, tid)
            continue
        ag = model[AGENTS[arg][0]]
        if op == "end":
            if ag.task is None:
                continue
            outs = e.task_ended(ag.task, now)
            ag.task = None
            ag.idle_since = now
        elif op == "pause":
            if not ag.ready:
                continue
            ag.ready = False
            outs = e.agent_set_state(ag.id, "not_ready", now)
        else:
            if ag.ready:
                continue
            ag.ready = True
            outs = e.agent_set_state(ag.id, "ready", now)
        nxt = next_task_for(ag) if ag.ready and ag.task is None else None
        take(outs, ag.id if nxt else None, nxt)
