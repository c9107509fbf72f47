"""Task transitions (table ``TASK``): queue visits, offers ending, leaving, escalation.

Each function moves one task along the table and keeps the indexes, timers
and log in step; routing (``routing.py``) is called wherever a task or an
agent may have become matchable (rule M1).
"""

from __future__ import annotations

import math
from typing import Any

from ._state import (
    ACCEPT,
    CANCEL,
    END,
    EP_ALWAYS,
    LEAVE,
    OFFER_FAILED,
    READY,
    TRANSFER,
    WAITING,
    PresenceInput,
    TaskInput,
    escalated_requirement,
    max_wait_deadline,
    missed_too_often,
    neg_priority,
    next_announcement,
    next_task_state,
    preferred_wait_applies,
    queue_empty,
    reoffer_due,
)
from .agents import release, set_presence, start_wrap
from .events import (
    K_COMPLETEAGENT,
    K_COMPLETECALLER,
    K_CONNECT,
    K_ENTERQUEUE,
    K_ESCALATE,
    K_EXITEMPTY,
    K_EXITWITHTIMEOUT,
    K_REJECT,
    K_RINGCANCELED,
    K_RINGNOANSWER,
    K_TRANSFER,
    LEAVE_EMPTY,
    LEAVE_TIMEOUT,
    WITHDRAW_ANSWERED_ELSEWHERE,
    WITHDRAW_CANCELLED,
    WITHDRAW_TIMEOUT,
    AnnouncePosition,
    EscalationAction,
    LeaveQueue,
    LogEvent,
    Output,
    WithdrawOffer,
    cancel_kind,
)
from .indexes import (
    compute_listings,
    delist,
    expected_wait,
    home_class,
    line_add,
    line_remove,
    position,
    push_listings,
    reserve,
    set_priority,
)
from .model import VOICE
from .records import AgentRec, Core, OfferRec, QueueRec, TaskRec
from .routing import dispatch_agent, try_task
from .timers import T_LIST, T_REOFFER, arm, earliest, schedule

# ---------------------------------------------------------------- queue visits


def enter(
    core: Core,
    t: TaskRec,
    q: QueueRec,
    now: float,
    out: list[Output],
    pref: AgentRec | None,
    pref_wait: float,
    how: TaskInput,
    never: str | None = None,
) -> None:
    """Start a queue visit (arrival or transfer) and route the task."""
    t.state = next_task_state(t.state, how)
    t.home = q
    t.visit += 1
    t.entered = now
    if how is TRANSFER:
        t.forget_visit(never)
    cfg = q.cfg
    t.neg_prio = neg_priority(cfg, t.task)
    q.tasks[t.id] = t
    q.count += 1
    pos = line_add(t)
    data: dict[str, Any] = {"channel": t.channel, "priority": -t.neg_prio, "position": pos}
    if t.task.attributes:
        data["attributes"] = dict(t.task.attributes)
    if how is TRANSFER:
        data["transfer"] = True
    out.append(LogEvent(now, K_ENTERQUEUE, t.id, q.name, None, data))
    t.leave_at = max_wait_deadline(t, cfg)
    t.esc_at = now + cfg.escalation[0].after_seconds if cfg.escalation else None
    iv = cfg.announce_interval_seconds
    t.ann_at = now + iv if iv > 0 and t.channel == VOICE else None  # own cadence (P2)
    t.timer_at = None  # a new visit: what was armed before is the last visit's
    arm(core, t)
    wait = cfg.delay_seconds
    # most tasks name no preferred agent: test that before calling the rule
    if pref is not None and preferred_wait_applies(pref, pref_wait, t.channel):
        t.reserved_for = pref
        wait = max(wait, pref_wait)
    if wait > 0:
        if wait != math.inf:
            schedule(core, now + wait, T_LIST, t, t.visit)
        if t.reserved_for is not None:
            reserve(t)
        try_task(core, t, now, out)
    else:
        make_public(core, t, now, out)
    if t.state is WAITING:
        if cfg.leave_when_empty is not EP_ALWAYS:
            core.empty_check[q.name] = q
        if t.channel == VOICE:  # rule P2 (still at ``pos``: only its own offer moves it)
            t.ann_pos = pos
            out.append(AnnouncePosition(t.id, q.name, pos, expected_wait(q, pos, VOICE)))


def make_public(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """Rule Q2: the task now competes for every qualified agent."""
    t.public = True
    t.reserved_for = None
    if t.state is not WAITING:
        return
    if t.queued:  # only while reserved for its preferred agent
        delist(core, t)
    if t.listings is None:
        t.listings = compute_listings(core, t, now)
    try_task(core, t, now, out)
    if t.state is WAITING:
        push_listings(core, t)


def end_pref_window(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """The preferred wait is over (timer) or its agent logged out."""
    if t.public:
        return
    delay_end = t.entered + t.home.cfg.delay_seconds
    if delay_end > now:
        t.reserved_for = None
        if t.state is WAITING:
            delist(core, t)
        schedule(core, delay_end, T_LIST, t, t.visit)
    else:
        make_public(core, t, now, out)


def route_again(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """A WAITING task whose listings are up to date: offer it now if someone
    may take it, else list it (or queue it with its preferred agent)."""
    if t.public:
        try_task(core, t, now, out)
        if t.state is WAITING:
            push_listings(core, t)
    elif t.reserved_for is not None:
        reserve(t)
        try_task(core, t, now, out)


def relist(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """Re-index a WAITING task after its requirement or priority changed."""
    if t.state is not WAITING:
        return
    delist(core, t)
    if t.public:
        t.listings = compute_listings(core, t, now)
    route_again(core, t, now, out)


def transfer_out(
    core: Core,
    t: TaskRec,
    q2: QueueRec,
    target: AgentRec | None,
    keep_position: bool,
    now: float,
    out: list[Output],
) -> None:
    """Blind transfer of a connected task: the agent wraps up, the task starts
    a new visit of ``q2`` that never returns to that agent."""
    a = t.agent
    assert a is not None
    talk = now - t.connected_at
    data = {
        "talk": talk,
        "wait": t.connected_at - t.entered,
        "to_queue": q2.name,
        "to_agent": target.id if target is not None else None,
    }
    out.append(LogEvent(now, K_TRANSFER, t.id, t.home.name, a.id, data))
    old_q = t.home
    del a.connected[t.id]
    t.agent = None
    if not keep_position:
        t.order = now
    enter(core, t, q2, now, out, target, math.inf if target else 0.0, TRANSFER, a.id)
    start_wrap(core, a, t.id, old_q, t.channel, talk, now, out)


# ---------------------------------------------------------------- offers ending


def drop_offer(core: Core, o: OfferRec) -> None:
    """The offer is over (its slot stays taken only if it was accepted)."""
    o.live = False
    del core.offers[o.id]
    del o.task.offers[o.id]
    del o.agent.offers[o.id]


def withdraw(core: Core, o: OfferRec, reason: str, now: float, out: list[Output]) -> None:
    """Void an offer the agent did not answer (the task or agent went away)."""
    t, a = o.task, o.agent
    drop_offer(core, o)
    release(a, t.channel)
    out.append(WithdrawOffer(o.id, t.id, a.id, reason, t.channel))
    out.append(LogEvent(now, K_RINGCANCELED, t.id, t.home.name, a.id, {"offer": o.id}))


def withdraw_all(
    core: Core, t: TaskRec, reason: str, now: float, out: list[Output]
) -> list[AgentRec]:
    """Void every live offer of the task; returns the agents freed."""
    freed = []
    for o in list(t.offers.values()):
        withdraw(core, o, reason, now, out)
        core.dirty[o.agent.id] = o.agent
        freed.append(o.agent)
    return freed


def connect(core: Core, o: OfferRec, now: float, out: list[Output]) -> None:
    """The agent accepted: the task is connected, ring_all siblings withdrawn (M3)."""
    t, a = o.task, o.agent
    drop_offer(core, o)
    t.state = next_task_state(t.state, ACCEPT)
    q = t.home
    del q.tasks[t.id]
    q.count -= 1
    t.agent = a
    t.connected_at = now
    a.connected[t.id] = t
    a.missed = 0
    a.answered += 1
    data = {"wait": now - t.entered, "offer": o.id}
    out.append(LogEvent(now, K_CONNECT, t.id, q.name, a.id, data))
    freed = withdraw_all(core, t, WITHDRAW_ANSWERED_ELSEWHERE, now, out)
    core.dirty[a.id] = a
    dispatch_agent(core, a, now, out)  # its keys changed; may still have chat room
    for b in freed:
        dispatch_agent(core, b, now, out)


def reject(core: Core, o: OfferRec, now: float, out: list[Output]) -> None:
    """The agent declined the offer (a reject does not count as a miss, rule A4)."""
    t, a = o.task, o.agent
    drop_offer(core, o)
    release(a, t.channel)
    out.append(LogEvent(now, K_REJECT, t.id, t.home.name, a.id, {"offer": o.id}))
    _let_go(core, t, a, now, out)


def offer_timeout(core: Core, o: OfferRec, now: float, out: list[Output]) -> None:
    """Nobody answered: withdraw and count the miss (rule A4)."""
    t, a = o.task, o.agent
    drop_offer(core, o)
    release(a, t.channel)
    q = t.home
    out.append(WithdrawOffer(o.id, t.id, a.id, WITHDRAW_TIMEOUT, t.channel))
    out.append(LogEvent(now, K_RINGNOANSWER, t.id, q.name, a.id, {"offer": o.id}))
    a.missed += 1
    if missed_too_often(a.missed, q.cfg.missed_offers_before_not_ready) and a.presence is READY:
        set_presence(core, a, PresenceInput.SET_NOT_READY, "missed offers", now, out)
    _let_go(core, t, a, now, out)


def _let_go(core: Core, t: TaskRec, a: AgentRec, now: float, out: list[Output]) -> None:
    """After a reject or a miss: the agent is not offered the task again this
    visit while someone else may take it (rule Q3); the task goes back to its
    place once its last offer is gone, and the agent may take other work."""
    if t.declined is None:
        t.declined = {a.id}
    else:
        t.declined.add(a.id)
    core.dirty[a.id] = a
    if not t.offers:
        offer_failed(core, t, now, out)
    dispatch_agent(core, a, now, out)


def forget_declines(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """Rule Q3: the pause after the last failed offer is over and the task still
    waits: the agents who declined it may take it again (not a transferrer)."""
    t.declined = {t.never} if t.never else None
    try_task(core, t, now, out)


def offer_failed(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """Last live offer gone: back to the original place in line (rule O1)."""
    t.state = next_task_state(t.state, OFFER_FAILED)
    line_add(t)
    if t.timed_out:
        leave(core, t, LEAVE_TIMEOUT, now, out)
        return
    if t.public and (t.listings is None or any(c.dead for c in t.listings)):
        t.listings = compute_listings(core, t, now)
    route_again(core, t, now, out)
    if t.state is WAITING and t.declined and t.declined != {t.never}:
        at = reoffer_due(t.home.cfg, now)  # nobody else could take it (rule Q3)
        if at is not None:
            t.reoffer_gen += 1
            schedule(core, at, T_REOFFER, t, (t.visit, t.reoffer_gen))


# ---------------------------------------------------------------- leaving


def remove_from_queue(core: Core, t: TaskRec, how: TaskInput) -> None:
    """The task ends without being connected: out of its queue and the engine."""
    q = t.home
    if t.state is WAITING:
        line_remove(t)
    delist(core, t)
    t.state = next_task_state(t.state, how)
    del q.tasks[t.id]
    q.count -= 1
    del core.tasks[t.id]


def abandon(core: Core, t: TaskRec, reason: str, now: float, out: list[Output]) -> list[AgentRec]:
    """The customer left before being connected; returns the agents freed."""
    q = t.home
    freed = withdraw_all(core, t, WITHDRAW_CANCELLED, now, out)
    pos = position(t) if t.state is WAITING else None
    remove_from_queue(core, t, CANCEL)
    data = {"wait": now - t.entered, "position": pos, "reason": reason}
    out.append(LogEvent(now, cancel_kind(reason), t.id, q.name, None, data))
    return freed


def leave(core: Core, t: TaskRec, reason: str, now: float, out: list[Output]) -> None:
    """Max wait or ``leave_when_empty``: the adapter runs the queue's exit."""
    q = t.home
    pos = position(t)
    remove_from_queue(core, t, LEAVE)
    kind = K_EXITWITHTIMEOUT if reason == LEAVE_TIMEOUT else K_EXITEMPTY
    out.append(LeaveQueue(t.id, q.name, reason, t.channel))
    out.append(LogEvent(now, kind, t.id, q.name, None, {"wait": now - t.entered, "position": pos}))


def end_connected(core: Core, t: TaskRec, now: float, out: list[Output], by: str) -> None:
    """The conversation is over: the task ends, its agent wraps up."""
    a = t.agent
    assert a is not None
    talk = now - t.connected_at
    kind = K_COMPLETECALLER if by == "caller" else K_COMPLETEAGENT
    q = t.home
    data = {"wait": t.connected_at - t.entered, "talk": talk}
    out.append(LogEvent(now, kind, t.id, q.name, a.id, data))
    t.state = next_task_state(t.state, END)
    del core.tasks[t.id]
    del a.connected[t.id]
    t.agent = None
    start_wrap(core, a, t.id, q, t.channel, talk, now, out)


def check_leave_empty(core: Core, q: QueueRec, now: float, out: list[Output]) -> None:
    """``leave_when_empty`` (rule Q5): send out the waiting tasks nobody can serve."""
    pol = q.cfg.leave_when_empty
    if pol is EP_ALWAYS or not q.tasks:
        return
    memo: dict[int, bool] = {}
    for t in list(q.tasks.values()):
        if t.state is not WAITING:
            continue
        c = home_class(core, t, now)
        empty = memo.get(id(c))
        if empty is None:
            empty = memo[id(c)] = queue_empty(c.qualified, pol)
        if empty:
            leave(core, t, LEAVE_EMPTY, now, out)


# ---------------------------------------------------------------- escalation, announcements (P2)


def task_due(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """The task's own timer (``timers.arm``): the earliest of its deadlines is due.
    One per firing, so deadlines of all tasks still fire in time order (rule T2);
    on a tie: leaving, then the escalation step, then the announcement."""
    t.timer_at = None
    at = earliest(t)
    if at is not None and at <= now:
        if at == t.leave_at:  # rule L1
            t.leave_at = None
            if t.state is WAITING:
                leave(core, t, LEAVE_TIMEOUT, now, out)
                return
            t.timed_out = True  # leaves when its offer fails
        elif at == t.esc_at:
            t.esc_at = None
            escalate(core, t, now, out)
        else:
            announce(core, t, now, out)
    arm(core, t)


def escalate(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """The next escalation step is due: apply it, set the one after, re-route."""
    steps = t.home.cfg.escalation
    k = t.steps
    if k >= len(steps):
        return
    if t.state is WAITING:
        delist(core, t)  # its classes may change
    apply_step(t, k, now, out, emit=True)
    if k + 1 < len(steps):
        t.esc_at = t.entered + steps[k + 1].after_seconds
    relist(core, t, now, out)


def apply_step(t: TaskRec, k: int, now: float, out: list[Output], emit: bool) -> None:
    """Step ``k`` of the home queue's ladder: requirement (Q1), priority (O1),
    overflow (Q4); ``emit`` its log and action (not when replayed on reload)."""
    q = t.home
    step = q.cfg.escalation[k]
    t.steps = k + 1
    t.level_cap, t.alts = escalated_requirement(t.level_cap, t.alts, step)
    if step.drop_skills:
        t.dropped = t.dropped | step.drop_skills
    if step.priority_boost:
        set_priority(t, t.neg_prio - step.priority_boost)
        t.boost += step.priority_boost
    if step.overflow_queue and step.overflow_queue not in t.overflow:
        t.overflow.append(step.overflow_queue)
    assert not t.listed, "delist before changing a task's classes"
    t.home_cls = None
    t.listings = None
    if emit:
        data = {
            "step": k,
            "priority": -t.neg_prio,
            "overflow": step.overflow_queue,
            "action": step.action,
        }
        out.append(LogEvent(now, K_ESCALATE, t.id, q.name, None, data))
        if step.action is not None:
            out.append(EscalationAction(t.id, q.name, str(step.action), step.overflow_queue, k,
                                           t.channel))


def announce(core: Core, t: TaskRec, now: float, out: list[Output]) -> None:
    """Rule P2: the caller's own announcement tick. It hears its position only
    if it waits in line and has moved since it last heard it; O(log n), so a
    tick costs the same with 20,000 callers waiting as with 20."""
    q = t.home
    due = t.ann_at
    assert due is not None
    t.ann_at = next_announcement(due, q.cfg.announce_interval_seconds, now)
    if t.ann_at is None:  # a reload turned announcements off
        return
    if t.state is WAITING:
        pos = position(t)
        if pos != t.ann_pos:
            t.ann_pos = pos
            out.append(AnnouncePosition(t.id, q.name, pos, expected_wait(q, pos, VOICE)))
