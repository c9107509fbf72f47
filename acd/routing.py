"""Matching (rules M2, M3): who gets offered what, the moment it becomes possible.

* Task side (``try_task``): a WAITING task goes to the best able agent of its
  first listing that has one (home queue, then overflow queues), or to its
  preferred agent while only that agent may take it (rule Q2).
* Agent side (``dispatch_agent``): an agent that may have become able peeks
  the head of each class it qualifies for, takes the best task (rule O1) and
  repeats while it is still able; then it joins the pools of the classes it
  is able for, so later tasks find it.
"""

from __future__ import annotations

from collections.abc import Iterable
from heapq import heappop, heappush
from typing import Any

from ._state import OFFER, READY, WAITING, able, next_task_state
from .events import K_OFFER, LogEvent, Offer, Output
from .indexes import delist, first_for, line_remove
from .model import VOICE
from .records import AgentRec, ClassRec, Core, OfferRec, TaskRec
from .strategies import RING_ALL, ROUND_ROBIN, note_round_robin, pick, pick_all, push_agent
from .timers import T_OFFER


def offer(
    core: Core, t: TaskRec, agents: Iterable[AgentRec], now: float, out: list[Output]
) -> None:
    """Offer the task to ``agents`` (several only for ``ring_all``, rule M3)."""
    q = t.home
    tmo = t.task.offer_timeout_seconds or q.cfg.offer_timeout_seconds
    deadline = now + tmo if tmo is not None else None
    if t.state is WAITING:
        line_remove(t)
    t.state = next_task_state(t.state, OFFER)
    if t.queued:  # a task routed as it arrives has no heap entries: skip the call
        delist(core, t)
    ch = t.channel
    for a in agents:
        core.offer_seq += 1
        oid = f"o{core.offer_seq}"
        o = OfferRec(oid, t, a, deadline)
        t.offers[oid] = o
        a.offers[oid] = o
        core.offers[oid] = o
        a.holding[ch] = a.holding.get(ch, 0) + 1
        if ch != VOICE:
            a.text_holding += 1
        a.stamp += 1
        if deadline is not None:
            core.seq += 1  # timers.schedule, inlined on this hot path
            heappush(core.timers, (deadline, core.seq, T_OFFER, o, None))
        out.append(Offer(oid, t.id, a.id, ch, q.name, deadline))
        out.append(LogEvent(now, K_OFFER, t.id, q.name, a.id, {"offer": oid}))
        core.dirty[a.id] = a


def try_task(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """Rule M2, task side: give a WAITING task to the best able agent."""
    if t.state is not WAITING:
        return
    declined = t.declined
    if not t.public:
        pa = t.reserved_for
        if (
            pa is not None
            and (declined is None or pa.id not in declined)
            and able(pa, t.channel, now, core.held)
        ):
            offer(core, t, (pa,), now, out)
            dispatch_agent(core, pa, now, out)
        return
    lst = t.listings
    assert lst is not None
    for c in lst:
        if c.q.strategy is RING_ALL:
            agents = pick_all(core, c, now, declined)
        else:
            a = pick(core, c, now, declined)
            agents = (a,) if a is not None else ()
        if agents:
            offer(core, t, agents, now, out)
            for a in agents:
                dispatch_agent(core, a, now, out)
            return


def dispatch_agent(core: Core, a: AgentRec, now: float, out: list[Output]) -> None:
    """Rule M2, agent side: give the agent the best tasks it may take,
    then (if still able) put it in the pools of its classes."""
    aid = a.id
    held = core.held
    while a.presence is READY:
        best = None
        best_c: ClassRec | None = None
        able_classes: list[list[ClassRec]] = []
        for ch, classes in a.classes.items():
            if not able(a, ch, now, held):
                continue
            able_classes.append(classes)
            for c in classes:
                e = c.head
                if e is None:
                    continue
                # Heap order: if the head is not better than `best`, no live
                # entry below it is either, stale or not.
                if best is not None and not e < best:
                    continue
                t = e[5]
                if t.ver != e[4] or (t.declined is not None and aid in t.declined):
                    e = first_for(c, aid)
                    if e is None or (best is not None and not e < best):
                        continue
                best = e
                best_c = c
        if a.reserved:
            pb = best_reserved(core, a, best, now)
            if pb is not best:  # a task reserved for this agent wins
                best, best_c = pb, None
        if best is None:
            a.stamp += 1  # entries from before are stale; re-pool where able
            for classes in able_classes:
                for c in classes:
                    push_agent(core, c, a)
            return
        if best_c is not None:
            h = best_c.tasks
            if h and h[0] is best:
                heappop(h)  # would be stale after the offer: drop it now
                best_c.head = h[0] if h else None
            if best_c.q.strategy is ROUND_ROBIN:
                note_round_robin(best_c.q, best_c.q.members[aid][2])
        offer(core, best[5], (a,), now, out)


def best_reserved(core: Core, a: AgentRec, best: Any, now: float) -> Any:
    """``best``, or a better task reserved for the agent as preferred agent
    (rule Q2); prunes reservations that no longer hold."""
    keep = []
    for t in a.reserved:
        if t.reserved_for is not a or not t.queued or t.state is not WAITING:
            continue
        keep.append(t)
        d = t.declined
        if (d is not None and a.id in d) or not able(a, t.channel, now, core.held):
            continue
        e = (t.neg_prio, t.order, t.seq, 0, t.ver, t)  # rule O1, as in the class heaps
        if best is None or e < best:
            best = e
    a.reserved = keep
    return best
