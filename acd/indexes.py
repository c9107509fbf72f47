"""Indexes: what makes a routing decision cost O(classes + log n), not a scan.

* A *class* is (queue, channel, requirement). Its ``tasks`` heap holds its
  listed tasks in rule O1 order, its ``agents`` pool the able qualified
  agents in strategy order (``strategies.py``). Each agent knows the classes
  it qualifies for, each task the classes it is listed in (``listings``:
  its home class, then its overflow queues', rule Q4).
* Heaps are lazily invalidated: a task entry is live while its version
  matches the task's (``delist`` bumps it), an agent entry while its stamp
  matches the agent's. Stale entries are dropped when they reach the top,
  and a heap is compacted when mostly stale.
* Per queue: its waiting line (``line``), an order-statistic index of the
  O1 keys of its WAITING tasks, so a position costs O(log n) (rule P1), and
  the staffed slots per channel (expected wait).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from ._state import READY, WAITING, Req, able, qualifies, requirement
from .model import Membership
from .records import AgentRec, ClassRec, Core, QueueRec, TaskRec
from .strategies import BEST_SKILL, push_agent, skill_score

_push = heapq.heappush
_pop = heapq.heappop


# ---------------------------------------------------------------- task side


def task_requirement(q: QueueRec, t: TaskRec) -> Req:
    """Rule Q1 for the task in ``q`` (the queue's own requirement when nothing adds to it)."""
    if not t.task.skills and t.level_cap is None and not t.alts and not t.dropped:
        return q.base_req
    return requirement(q.cfg.skills, t.task.skills, t.level_cap, t.alts, t.dropped)


def class_for(core: Core, q: QueueRec, t: TaskRec, now: float) -> ClassRec:
    """The task's class in ``q``; a new class takes in the qualified members."""
    req = task_requirement(q, t)
    key = (t.channel, req)
    c = q.classes.get(key)
    if c is None:
        c = q.classes[key] = ClassRec(q, t.channel, req)
        for _, _, _, a in q.members.values():
            qualify(core, c, a, now, push=True)
    return c


def home_class(core: Core, t: TaskRec, now: float) -> ClassRec:
    """The task's class in its home queue, cached on the task and per queue."""
    c = t.home_cls
    if c is not None and not c.dead:
        return c
    c = t.home_cls = class_of(core, t.home, t, now)
    return c


def class_of(core: Core, q: QueueRec, t: TaskRec, now: float) -> ClassRec:
    """``class_for``, cached per queue by what decides the requirement (rule Q1):
    the task's skills and, once escalated, its level cap, alternatives and
    dropped skills, so an escalation step does not rebuild its requirement."""
    if t.level_cap is None and not t.alts and not t.dropped:
        key: tuple[Any, ...] = (t.channel, tuple(t.task.skills.items()))
    else:
        key = (t.channel, tuple(t.task.skills.items()), t.level_cap, tuple(t.alts.items()),
               t.dropped)
    c = q.fresh.get(key)
    if c is None or c.dead:
        if len(q.fresh) > 4096:
            q.fresh.clear()
        c = q.fresh[key] = class_for(core, q, t, now)
    return c


def compute_listings(core: Core, t: TaskRec, now: float) -> list[ClassRec]:
    """Rule Q4: the home class, then one class per overflow queue that takes the channel."""
    res = [home_class(core, t, now)]
    for name in t.overflow:
        q2 = core.queues.get(name)
        if q2 is None or q2 is t.home or t.channel not in q2.cfg.channels:
            continue
        res.append(class_of(core, q2, t, now))
    return res


def push_listings(core: Core, t: TaskRec) -> None:
    """List the task in every class of its ``listings`` (and guard heaps)."""
    core.seq += 1
    e = (t.neg_prio, t.order, t.seq, core.seq, t.ver, t)  # rule O1
    lst = t.listings
    assert lst is not None
    for c in lst:
        h = c.tasks
        _push(h, e)
        c.live += 1
        if len(h) > 2 * c.live + 64:
            h[:] = [x for x in h if x[5].ver == x[4]]
            heapq.heapify(h)
        c.head = h[0]
        if c.protect_after is not None:
            o = c.oldest
            _push(o, (t.entered, core.seq, t.ver, t))
            if len(o) > 2 * c.live + 64:
                o[:] = [x for x in o if x[3].ver == x[2]]
                heapq.heapify(o)
    t.listed = True
    t.queued = True


def delist(core: Core, t: TaskRec) -> None:
    """Invalidate every heap entry of the task (version bump)."""
    if not t.queued:
        return
    t.ver += 1
    t.queued = False
    if t.listed:
        t.listed = False
        lst = t.listings
        assert lst is not None
        for c in lst:
            c.live -= 1
            if c.protect_after is not None:
                core.guard_dirty = True


def reserve(t: TaskRec) -> None:
    """Queue a not-yet-listed task with its preferred agent (rule Q2)."""
    pa = t.reserved_for
    assert pa is not None
    t.queued = True
    if len(pa.reserved) > 16:
        pa.reserved = [
            x for x in pa.reserved if x.reserved_for is pa and x.queued and x.state is WAITING
        ]
    if t not in pa.reserved:
        pa.reserved.append(t)


def first_for(c: ClassRec, aid: str) -> Any:
    """The class's best live task entry that agent ``aid`` has not declined (rule Q3)."""
    h = c.tasks
    skipped = []
    res = None
    while h:
        e = h[0]
        t = e[5]
        if t.ver != e[4]:
            _pop(h)
            continue
        if t.declined is not None and aid in t.declined:
            skipped.append(_pop(h))
            continue
        res = e
        break
    for e in skipped:
        _push(h, e)
    c.head = h[0] if h else None
    return res


# ---------------------------------------------------------------- the line


def line_add(t: TaskRec) -> int:
    """The task waits in its home queue's line (rule P1), at its O1 place;
    returns its position there."""
    key = t.line_key = (t.neg_prio, t.order, t.seq)
    return t.home.line.add(key) + 1


def line_remove(t: TaskRec) -> None:
    """The task leaves the line (offered, gone, or about to move)."""
    t.home.line.remove(t.line_key)


def set_priority(t: TaskRec, neg_prio: int) -> None:
    """Change the task's priority, moving it in the line if it waits there."""
    if t.state is WAITING:
        line_remove(t)
        t.neg_prio = neg_prio
        line_add(t)
    else:
        t.neg_prio = neg_prio


def position(t: TaskRec) -> int:
    """Rule P1: the WAITING task's rank in its home queue's line, 1 = next; O(log n)."""
    return t.home.line.rank(t.line_key) + 1


def expected_wait(q: QueueRec, pos: int, channel: str) -> float | None:
    """Position x smoothed handle time / staffed slots on the channel."""
    if q.aht is None:
        return None
    slots = q.staffed.get(channel, 0)
    if slots <= 0:
        return None
    return pos * q.aht / slots


# ---------------------------------------------------------------- agent side


def staff(core: Core, a: AgentRec, sign: int) -> None:
    """Add (+1) or remove (-1) a ready agent's slots from its queues' staffing."""
    for name in a.cfg.queues:
        q = core.queues.get(name)
        if q is not None and a.id in q.members:
            staff_queue(q, a, sign)


def staff_queue(q: QueueRec, a: AgentRec, sign: int) -> None:
    st = q.staffed
    for ch, n in a.capacity.items():
        if ch in q.cfg.channels:
            st[ch] = st.get(ch, 0) + sign * n


def index_agent(core: Core, a: AgentRec, now: float) -> None:
    """Make a logged-in agent a member of its configured queues."""
    a.classes = {}
    a.guards = []
    a.stamp += 1
    for name, m in a.cfg.queues.items():
        q = core.queues.get(name)
        if q is not None:
            join(core, q, a, m, now)


def join(core: Core, q: QueueRec, a: AgentRec, m: Membership, now: float) -> None:
    """Membership: a position (kept across logins) and the classes qualified for."""
    pos = m.position
    if pos is None:
        pos = q.positions.get(a.id)
        if pos is None:
            q.next_pos += 1
            pos = q.next_pos
    q.positions[a.id] = pos
    q.members[a.id] = (m.penalty, m.weight, pos, a)
    for c in q.classes.values():
        qualify(core, c, a, now, push=False)


def qualify(core: Core, c: ClassRec, a: AgentRec, now: float, push: bool) -> None:
    """Rule Q1 for a member: if it qualifies, index it under the class."""
    if a.capacity.get(c.channel, 0) <= 0 or not qualifies(a.skills, c.req):
        return
    c.qualified[a.id] = a
    a.classes.setdefault(c.channel, []).append(c)
    if c.protect_after is not None:
        a.guards.append(c)
    if c.q.strategy is BEST_SKILL:
        c.scores[a.id] = skill_score(a.skills, c.req)
    if push and able(a, c.channel, now, core.held):
        push_agent(core, c, a)


def unindex_agent(core: Core, a: AgentRec) -> list[QueueRec]:
    """Take the agent out of every class and queue; returns the queues it left."""
    for lst in a.classes.values():
        for c in lst:
            c.qualified.pop(a.id, None)
            c.scores.pop(a.id, None)
    a.classes = {}
    a.guards = []
    a.stamp += 1
    core.held.pop(a.id, None)
    left = []
    for q in core.queues.values():
        if q.members.pop(a.id, None) is not None:
            left.append(q)
    return left


def drop_classes(queues: Iterable[QueueRec]) -> None:
    """Forget the classes of queues whose definition changed (they are rebuilt
    on demand); staffing is recounted from the ready members."""
    for q in queues:
        q.staffed = {}
        for _, _, _, a in q.members.values():
            if a.presence is READY:
                staff_queue(q, a, 1)
        for c in q.classes.values():
            c.dead = True
            for a in c.qualified.values():
                lst = a.classes.get(c.channel)
                if lst is not None and c in lst:
                    lst.remove(c)
                if c in a.guards:
                    a.guards.remove(c)
                a.stamp += 1
        q.classes = {}
        q.fresh = {}
