"""Cost of one ACD routing decision at 1,000 and 10,000 agents.

Run: ``.venv/bin/python -m bench.acd`` (10-20 s). The engine never reads a clock;
this script does, with ``time.perf_counter_ns`` around single engine calls.

Scenario: 50 skills, one voice queue per skill (strategies mixed across
queues; offer timeout and max wait set, so decisions also schedule timers),
each task requiring its queue's skill at level 1-3; each agent has 4
skills at levels 1-5 and is a member of those 4 queues. The engine is filled
until every agent is busy and 20,000 tasks wait. Then, in a loop:

* ``freed``: a busy agent ends its call (no wrap-up) and the engine picks its
  next task among ~12 class heads (the decision measured), then the agent
  accepts (not measured);
* ``arrival``: a new task arrives and is queued (nobody can take it);
* ``idle_arrival`` / ``idle_freed``: on a separate queue whose agents are
  mostly idle, a task arrives and is offered to the best idle agent chosen by
  the strategy index, and an agent that finishes finds nothing waiting and
  goes back into the pools.

The last line is ``acd: median_us=<x> p99_us=<y> scale_ratio=<z>`` over all
measured decisions at 10,000 agents, ``scale_ratio`` being the 10,000-agent
median over the 1,000-agent median measured in the same run (the baseline).
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from acd import Agent, Engine, Membership, Offer, Queue, Strategy, Task

STRATEGIES = [
    Strategy.LONGEST_IDLE,
    Strategy.ROUND_ROBIN,
    Strategy.FEWEST_TASKS,
    Strategy.BEST_SKILL,
    Strategy.LINEAR,
    Strategy.RANDOM,
    Strategy.WEIGHTED_RANDOM,
]


@dataclass
class World:
    """An engine filled to the benchmark's steady state, plus what drives it."""

    engine: Engine
    rng: random.Random
    n_skills: int
    now: float = 0.0
    next_task: int = 0
    busy: dict[str, str] = field(default_factory=dict)  # agent -> connected task
    idle_busy: dict[str, str] = field(default_factory=dict)

    def tick(self) -> float:
        self.now += 0.001
        return self.now

    def new_task(self, queue: str | None = None) -> Task:
        self.next_task += 1
        if queue is None:
            k = self.rng.randrange(self.n_skills)
            return Task(
                f"t{self.next_task}", "voice", f"q{k}", skills={f"s{k}": self.rng.randint(1, 3)}
            )
        return Task(f"t{self.next_task}", "voice", queue)

    def accept_all(self, outputs: list, busy: dict[str, str]) -> None:
        for o in outputs:
            if isinstance(o, Offer):
                self.engine.offer_accepted(o.offer_id, self.tick())
                busy[o.agent_id] = o.task_id


def build(n_agents: int, n_waiting: int, n_skills: int = 50, seed: int = 1) -> World:
    """Engine with ``n_agents`` busy agents and ``n_waiting`` waiting tasks."""
    rng = random.Random(seed)
    queues = [
        Queue(
            f"q{k}",
            skills={f"s{k}": 1},
            strategy=STRATEGIES[k % len(STRATEGIES)],
            offer_timeout_seconds=30,  # a timer per offer, as in production
            max_wait_seconds=3600,  # and one per arrival
        )
        for k in range(n_skills)
    ]
    queues.append(Queue("idle", strategy=Strategy.LONGEST_IDLE, offer_timeout_seconds=30))
    w = World(Engine(queues, rng=random.Random(seed)), rng, n_skills)
    n_idle = max(2, n_agents // 10)
    for i in range(n_agents):
        ks = rng.sample(range(n_skills), 4)
        w.engine.agent_login(
            Agent(
                f"a{i}",
                skills={f"s{k}": rng.randint(1, 5) for k in ks},
                queues={f"q{k}": Membership(weight=rng.choice((1.0, 2.0))) for k in ks},
            ),
            w.tick(),
        )
    for i in range(n_idle):
        w.engine.agent_login(Agent(f"i{i}", queues={"idle": Membership()}), w.tick())
    waiting = 0
    while waiting < n_waiting:
        out = w.engine.task_arrived(w.new_task(), w.tick())
        if any(isinstance(o, Offer) for o in out):
            w.accept_all(out, w.busy)
        else:
            waiting += 1
    return w


def _us(samples: list[int]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) / 1000, s[min(len(s) - 1, int(len(s) * 0.99))] / 1000


def run(
    n_agents: int, n_waiting: int, cycles: int, seed: int = 1, n_skills: int = 50
) -> dict[str, list[int]]:
    """Measure ``cycles`` rounds of the four decisions; returns ns samples per kind."""
    w = build(n_agents, n_waiting, n_skills=n_skills, seed=seed)
    e = w.engine
    rng = w.rng
    res: dict[str, list[int]] = {"freed": [], "arrival": [], "idle_arrival": [], "idle_freed": []}
    clock = time.perf_counter_ns
    gc.collect()
    gc.freeze()  # the setup's objects are long-lived; keep gen-2 sweeps out of the samples
    busy_ids = list(w.busy)
    for _ in range(cycles):
        if not busy_ids:
            raise RuntimeError("no busy agent left: the scenario is too small")
        # agent freed with work waiting
        i = rng.randrange(len(busy_ids))
        aid = busy_ids[i]
        tid = w.busy.pop(aid)
        now = w.tick()
        t0 = clock()
        out = e.task_ended(tid, now)
        res["freed"].append(clock() - t0)
        w.accept_all(out, w.busy)
        if aid not in w.busy:  # nothing it could take: keep the list of busy agents honest
            busy_ids[i] = busy_ids[-1]
            busy_ids.pop()
        # arrival that waits
        task = w.new_task()
        now = w.tick()
        t0 = clock()
        out = e.task_arrived(task, now)
        res["arrival"].append(clock() - t0)
        if any(isinstance(o, Offer) for o in out):
            w.accept_all(out, w.busy)
            busy_ids = list(w.busy)
        # arrival with idle agents, then that agent freed with nothing waiting
        task = w.new_task("idle")
        now = w.tick()
        t0 = clock()
        out = e.task_arrived(task, now)
        res["idle_arrival"].append(clock() - t0)
        w.accept_all(out, w.idle_busy)
        aid, tid = w.idle_busy.popitem()
        now = w.tick()
        t0 = clock()
        e.task_ended(tid, now)
        res["idle_freed"].append(clock() - t0)
    gc.unfreeze()
    return res


def main() -> None:
    cycles = int(os.environ.get("ACD_BENCH_CYCLES", "10000"))
    rounds = 2  # sizes interleaved, so load from other processes hits both alike
    per_kind: dict[int, dict[str, list[int]]] = {1_000: {}, 10_000: {}}
    for r in range(rounds):
        for n in (1_000, 10_000):
            t0 = time.perf_counter()
            res = run(n, 20_000, cycles, seed=1 + r)
            for kind, v in res.items():
                per_kind[n].setdefault(kind, []).extend(v)
            print(
                f"round {r + 1}: agents={n} waiting=20000 cycles={cycles} "
                f"({time.perf_counter() - t0:.1f}s)"
            )
    results = {}
    for n, res in per_kind.items():
        print(f"agents={n}:")
        for kind, v in res.items():
            med, p99 = _us(v)
            print(f"  {kind:13s} median_us={med:7.2f} p99_us={p99:8.2f}")
        results[n] = [x for v in res.values() for x in v]
        med, p99 = _us(results[n])
        print(f"  {'all':13s} median_us={med:7.2f} p99_us={p99:8.2f}")
    base_med, base_p99 = _us(results[1_000])
    med, p99 = _us(results[10_000])
    print(f"baseline (1,000 agents): median_us={base_med:.2f} p99_us={base_p99:.2f}")
    print(f"10,000 vs 1,000: median x{med / base_med:.2f}, p99 x{p99 / base_p99:.2f}")
    print(f"acd: median_us={med:.2f} p99_us={p99:.2f} scale_ratio={med / base_med:.2f}")


if __name__ == "__main__":
    main()
