"""Strategies (rule O2): in which order a class's able agents are offered its tasks.

Each class keeps a heap ("pool") of its able, qualified agents. Every entry
starts ``(penalty, holdings on the channel, ...)`` whatever the strategy
(rule O2), then the strategy key, then ``uid`` (ties go to the earlier push),
the agent's ``stamp`` when pushed and the agent:

* ``longest_idle``, ``ring_all``: ``idle_since`` (last wrap-up end or login);
* ``round_robin``: ``(round, position)``: members after the last one offered
  in this queue first, the others in the next round;
* ``fewest_tasks``: ``(answered, idle_since)``;
* ``best_skill``: ``(-skill score, idle_since)``;
* ``linear``: member ``position``;
* ``random`` / ``weighted_random``: an exponential race: ``clock +
  Exp(weight)`` (weight 1 for ``random``); the clock of the (penalty,
  holdings) tier moves to each winner's key, so each pick is proportional to
  weight among the agents present, without a scan.

An entry is live while its stamp is the agent's, the agent still qualifies
and is able (rule A3); stale entries are dropped when they surface and the
pool is compacted when mostly stale.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

from ._state import Req, able, qualifies
from .model import Strategy
from .records import AgentRec, ClassRec, Core, QueueRec

_push = heapq.heappush
_pop = heapq.heappop

# module globals, not enum attributes: see the hot-path names of ``_state``
LONGEST_IDLE = Strategy.LONGEST_IDLE
ROUND_ROBIN = Strategy.ROUND_ROBIN
FEWEST_TASKS = Strategy.FEWEST_TASKS
BEST_SKILL = Strategy.BEST_SKILL
RANDOM = Strategy.RANDOM
WEIGHTED_RANDOM = Strategy.WEIGHTED_RANDOM
LINEAR = Strategy.LINEAR
RING_ALL = Strategy.RING_ALL


def skill_score(skills: Mapping[str, int], req: Req) -> int:
    """``best_skill`` key: the agent's level sum over the best alternative it meets."""
    return max(sum(skills.get(s, 0) for s, _ in alt) for alt in req if qualifies(skills, (alt,)))


def push_agent(core: Core, c: ClassRec, a: AgentRec) -> None:
    """Put an able agent in the class pool, keyed by the queue's strategy."""
    q = c.q
    pen, weight, pos, _ = q.members[a.id]
    load = a.holding.get(c.channel, 0)
    s = q.strategy
    core.seq += 1
    uid = core.seq
    if s is LONGEST_IDLE or s is RING_ALL:
        e: tuple[Any, ...] = (pen, load, a.idle_since, uid, a.stamp, a)
    elif s is ROUND_ROBIN:
        r = q.rr_round if pos > q.rr_last else q.rr_round + 1
        e = (pen, load, r, pos, uid, a.stamp, a)
    elif s is FEWEST_TASKS:
        e = (pen, load, a.answered, a.idle_since, uid, a.stamp, a)
    elif s is BEST_SKILL:
        e = (pen, load, -c.scores.get(a.id, 0), a.idle_since, uid, a.stamp, a)
    elif s is LINEAR:
        e = (pen, load, pos, uid, a.stamp, a)
    else:  # random / weighted_random: the exponential race
        rate = weight if s is WEIGHTED_RANDOM else 1.0
        e = (
            pen,
            load,
            c.clock.get((pen, load), 0.0) + core.rng.expovariate(rate),
            uid,
            a.stamp,
            a,
        )
    h = c.agents
    _push(h, e)
    if len(h) > 2 * len(c.qualified) + 64:
        h[:] = [x for x in h if x[-1].stamp == x[-2] and x[-1].id in c.qualified]
        heapq.heapify(h)


def _live_head(c: ClassRec, now: float, held: dict[str, AgentRec]) -> tuple[Any, ...] | None:
    """The pool's first live entry (current stamp, still qualified, able by
    rule A3), dropping the stale entries above it."""
    h = c.agents
    while h:
        e = h[0]
        a = e[-1]
        if e[-2] == a.stamp and a.id in c.qualified and able(a, c.channel, now, held):
            return e
        _pop(h)
    return None


def pick(core: Core, c: ClassRec, now: float, declined: set[str] | None) -> AgentRec | None:
    """Take the first able agent of the pool that has not declined the task."""
    h = c.agents
    q = c.q
    held = core.held
    rr = q.strategy is ROUND_ROBIN
    skipped = None
    e = _live_head(c, now, held)
    while e is not None:
        if declined is not None and e[-1].id in declined:
            if skipped is None:
                skipped = []
            skipped.append(_pop(h))
        elif rr and (e[2] < q.rr_round or (e[2] == q.rr_round and e[3] <= q.rr_last)):
            # keyed against an older (round, last): re-key against the current one
            _pop(h)
            r = q.rr_round if e[3] > q.rr_last else q.rr_round + 1
            core.seq += 1
            _push(h, (e[0], e[1], r, e[3], core.seq, e[5], e[6]))
        else:
            _pop(h)
            break
        e = _live_head(c, now, held)
    if skipped:
        for x in skipped:
            _push(h, x)
    if e is None:
        return None
    if rr:
        q.rr_round, q.rr_last = e[2], e[3]
    elif q.strategy is RANDOM or q.strategy is WEIGHTED_RANDOM:
        c.clock[(e[0], e[1])] = e[2]
    return e[-1]


def pick_all(core: Core, c: ClassRec, now: float, declined: set[str] | None) -> list[AgentRec]:
    """``ring_all`` (rule O2): every able qualified agent of the best penalty tier."""
    h = c.agents
    held = core.held
    res: list[AgentRec] = []
    seen: set[str] = set()
    skipped = []
    tier = None
    e = _live_head(c, now, held)
    while e is not None:
        if tier is None:
            tier = e[0]
        elif e[0] != tier:
            break
        _pop(h)
        a = e[-1]
        if declined is not None and a.id in declined:
            skipped.append(e)
        elif a.id not in seen:
            seen.add(a.id)
            res.append(a)
        e = _live_head(c, now, held)
    for x in skipped:
        _push(h, x)
    return res


def note_round_robin(q: QueueRec, pos: int) -> None:
    """Round-robin memory after an agent-side offer (a freed agent took the
    next task, which counts as "offered" too). Moving back starts a new
    round, so pool entries keyed against the old (round, last) are re-keyed
    when they surface."""
    if pos <= q.rr_last:
        q.rr_round += 1
    q.rr_last = pos
