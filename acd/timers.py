"""Deadlines (rule T2): one heap of ``(at, seq, kind, obj, ver)`` for the whole engine.

Timers are never removed when what they watch changes; they are checked when
they come due (``is_live``) and dropped if stale. ``ver`` is what the timer
was set against: a task's visit (or re-offer generation), the time a task's own
timer was armed for, a wrap-up's end; offers and wrap-ups carry their own
``live`` flag.

A waiting task's own deadlines (leaving, L1; its next escalation step; its next
announcement, P2) share one entry (``T_TASK``, ``arm``), set for the earliest:
an arrival pushes one entry, not three, and the heap holds about one per task.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

from ._state import OFFERED, WAITING
from .records import Core, TaskRec

# what a timer is for (``kind``)
T_OFFER, T_TASK, T_LIST, T_WRAP, T_REOFFER = range(5)


def schedule(core: Core, at: float, kind: int, obj: Any, ver: Any) -> None:
    core.seq += 1
    heappush(core.timers, (at, core.seq, kind, obj, ver))


def is_live(kind: int, obj: Any, ver: Any) -> bool:
    """Does the timer still watch what it was set for?"""
    if kind == T_OFFER:
        return obj.live
    if kind == T_WRAP:
        return obj.live and ver == obj.until  # an extension set a later one
    t: TaskRec = obj
    if t.state is not WAITING and t.state is not OFFERED:
        return False
    if kind == T_TASK:
        return ver == t.timer_at
    if kind == T_REOFFER:
        return ver == (t.visit, t.reoffer_gen) and t.state is WAITING
    return ver == t.visit and not t.public  # T_LIST


def earliest(t: TaskRec) -> float | None:
    """The earliest of the task's own deadlines: ``leave_at``, ``esc_at``, ``ann_at``."""
    at = t.leave_at
    x = t.esc_at
    if x is not None and (at is None or x < at):
        at = x
    x = t.ann_at
    if x is not None and (at is None or x < at):
        at = x
    return at


def arm(core: Core, t: TaskRec) -> None:
    """Set the task's own timer for the earliest of ``leave_at``, ``esc_at`` and
    ``ann_at``; an entry set for later than that is left to fire and re-arm."""
    at = earliest(t)
    if at is not None and (t.timer_at is None or at < t.timer_at):
        t.timer_at = at
        schedule(core, at, T_TASK, t, at)


def next_deadline(timers: list[tuple[Any, ...]]) -> float | None:
    """When the first live timer is due, dropping stale ones on the way."""
    while timers:
        at, _, kind, obj, ver = timers[0]
        if is_live(kind, obj, ver):
            return at
        heappop(timers)
    return None
