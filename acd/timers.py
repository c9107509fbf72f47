"""Deadlines (rule T2): one heap of ``(at, seq, kind, obj, ver)`` for the whole engine.

Timers are never removed when what they watch changes; they are checked when
they come due (``is_live``) and dropped if stale. ``ver`` is what the timer
was set against: a task's visit (and escalation generation, or re-offer
generation), a caller's next announcement time, a wrap-up's end; offers and wrap-ups
carry their own ``live`` flag.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

from ._state import OFFERED, WAITING
from .records import Core, TaskRec

# what a timer is for (``kind``)
T_OFFER, T_MAXWAIT, T_ESC, T_LIST, T_WRAP, T_ANNOUNCE, T_REOFFER = range(7)


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
    if kind == T_ANNOUNCE:
        return ver == t.ann_at
    if kind == T_MAXWAIT:
        return ver == (t.visit, t.esc_gen) and not t.timed_out
    if kind == T_ESC:
        return ver == (t.visit, t.esc_gen)
    if kind == T_REOFFER:
        return ver == (t.visit, t.reoffer_gen) and t.state is WAITING
    return ver == t.visit and not t.public  # T_LIST


def next_deadline(timers: list[tuple[Any, ...]]) -> float | None:
    """When the first live timer is due, dropping stale ones on the way."""
    while timers:
        at, _, kind, obj, ver = timers[0]
        if is_live(kind, obj, ver):
            return at
        heappop(timers)
    return None
