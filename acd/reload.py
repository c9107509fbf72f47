"""Live queue reload: new definitions apply to the tasks already waiting.

A changed queue drops its classes (rebuilt on demand from the new
definition); each of its tasks re-derives requirement, priority and
escalation state from the new ladder (passed steps apply silently) and keeps
its place. A queue missing from the new set is retired, not removed.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._state import (
    LOGGED_OUT,
    OFFERED,
    WAITING,
    max_wait_deadline,
    neg_priority,
    next_announcement,
)
from .events import Output
from .indexes import delist, drop_classes, join, set_priority
from .model import VOICE, Queue
from .records import Core, QueueRec, TaskRec
from .tasks import apply_step, relist
from .timers import T_LIST, arm, schedule


def apply_definitions(core: Core, new: Mapping[str, Queue], now: float) -> list[QueueRec]:
    """Install the new queue set; returns the queues that are new or changed."""
    changed: list[QueueRec] = []
    for name, cfg in new.items():
        qr = core.queues.get(name)
        if qr is None:  # new: members join; tasks may overflow into it
            qr = core.queues[name] = QueueRec(cfg)
            for a in core.agents.values():
                m = a.cfg.queues.get(name)
                if m is not None and a.presence is not LOGGED_OUT:
                    join(core, qr, a, m, now)
            changed.append(qr)
        elif qr.cfg != cfg or qr.retired:
            qr.retired = False
            qr.set_cfg(cfg)
            changed.append(qr)
    for name, qr in core.queues.items():
        if name not in new:
            qr.retired = True
    return changed


def rebuild(core: Core, changed: list[QueueRec], now: float, out: list[Output]) -> None:
    """Re-index every task touching a changed queue (home or overflow) and re-route it."""
    drop_classes(changed)
    names = {q.name for q in changed}
    for t in list(core.tasks.values()):
        if t.state is not WAITING and t.state is not OFFERED:
            continue
        touched = t.home.name in names or any(n in names for n in t.overflow)
        if not touched:
            continue
        if t.state is WAITING:
            delist(core, t)
        t.home_cls = None
        t.listings = None
        if t.home.name in names:
            refold(core, t, now)
    core.guard_dirty = True
    for t in list(core.tasks.values()):
        if t.state is WAITING and not t.queued:
            relist(core, t, now, out)


def refold(core: Core, t: TaskRec, now: float) -> None:
    """Re-derive escalation state from the (new) queue definition."""
    cfg = t.home.cfg
    t.level_cap = None
    t.alts = {}
    t.dropped = frozenset()
    t.overflow = []
    t.boost = 0
    set_priority(t, neg_priority(cfg, t.task))
    waited = now - t.entered
    steps = cfg.escalation
    k = 0
    while k < len(steps) and steps[k].after_seconds <= waited:
        apply_step(t, k, now, [], emit=False)
        k += 1
    t.steps = k
    t.esc_at = t.entered + steps[k].after_seconds if k < len(steps) else None
    t.leave_at = None if t.timed_out else max_wait_deadline(t, cfg)
    if not t.public and t.reserved_for is None:
        schedule(core, t.entered + cfg.delay_seconds, T_LIST, t, t.visit)
    if t.channel == VOICE and t.ann_at is None:  # announcements turned on (rule P2)
        t.ann_at = next_announcement(t.entered, cfg.announce_interval_seconds, now)
    arm(core, t)
