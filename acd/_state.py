"""The rules of the ACD machine, its state tables, and the predicates that decide.

Everything that decides *what state something is in*, *who may take what* and
*in which order* lives here, as tables and small functions that cite the rule
they implement. The other modules only apply them: ``strategies.py`` builds
the per-strategy agent keys of rule O2, ``indexes.py`` and ``timers.py`` keep
the heaps that make a decision O(log n), ``routing.py``, ``tasks.py`` and
``agents.py`` carry out the transitions, ``engine.py`` is the public entry.
No I/O, no clock: time is the ``now`` of each input.

Rules
=====

Time (T)
    T1. Every input carries ``now``. The engine never reads a clock. ``now``
        is clamped to be non-decreasing (a late, older timestamp is treated
        as the latest one seen).
    T2. Every input first fires every deadline ``<= now`` in deadline order
        (offer timeouts, max wait, escalation steps, end of delay / preferred
        wait, wrap-up ends, position announcements), exactly as ``advance``
        would, then handles itself; a task's own deadlines due at the same
        time go leaving first, then its escalation step, then its
        announcement. ``next_deadline()`` says when to call ``advance`` next.

Agent (A)
    A1. An agent has a *presence* set by inputs (table ``PRESENCE``) and, per
        channel, a *holding* count = offers pending + tasks connected + tasks
        in wrap-up on that channel. Holdings never exceed ``capacity[c]``.
    A2. The *summary state* is derived (``summary_state``): busy if anything is
        connected, else reserved if an offer is pending, else wrap_up if a
        wrap-up is running, else the presence. So "reserved"/"busy" are not
        exclusive of spare capacity: a chat agent holding 1 of 3 chats is
        busy and still receives chats. It is reported once per input, when
        the input is done (no transient states).
    A3. An agent is *able* to take a task of channel ``c`` now iff presence is
        ready, holding[c] < capacity[c], and the cross-channel rule holds:
        voice while holding any text task needs ``voice_while_chat``; text
        while holding voice needs ``chat_while_voice``; and for a text
        channel the blend guard (B) is not active. Not-ready agents keep and
        finish what they hold but get nothing new.
    A4. ``missed_offers_before_not_ready`` (of the task's queue) consecutive
        offer timeouts set presence not_ready with reason "missed offers".
        An accept resets the count; a reject does not count.
    A5. When a wrap-up ends and ``after_wrapup`` is "not_ready", presence
        becomes not_ready (reason "after wrap-up").
    A6. A wrap-up ends at its deadline (``wrapup_seconds`` after the
        conversation, pushed later by ``extend_wrapup``) or by
        ``wrapup_done``, whichever comes first. In a queue with
        ``wrapup_until_done`` it has no deadline: only ``wrapup_done`` ends
        it (a disposition the queue requires is in): its slot stays taken
        (A1), so an agent with one voice slot gets no call meanwhile. A logout
        does not end a wrap-up (the form is still owed), nor does a restart:
        ``agent_login`` takes the forms still owed (``OwedWrapup``) and each
        holds its slot again before any dispatch, even over a capacity lowered
        meanwhile (as ``update_agent`` allows: A1 bounds new work only).

Qualification and eligibility (Q)
    Q1. A task's *requirement* in a queue is a disjunction: the base
        requirement (queue skills merged with the task's skills, max level
        per skill, capped by escalation ``min_level``, without the skills an
        escalation step's ``drop_skills`` named) OR any single ``add_skills``
        alternative. An agent qualifies for a (task, queue)
        if it is a member of the queue, has capacity > 0 for the channel and
        satisfies one alternative.
    Q2. A task is *listed* (competes for every qualified agent) from
        ``entered + max(delay_seconds, preferred wait)`` on, where the
        preferred wait only counts if the preferred agent was logged in at
        entry. Before that only its preferred agent may take it.
    Q3. An agent that rejected or missed (timed out on) a task is not
        offered that task again during the same queue visit ("declined"),
        until nobody else is left: with the queue's
        ``reoffer_after_seconds`` = P set, a task back in line after a failed
        offer with no able agent to take it (M1) forgets its declines P
        seconds after that failure (``reoffer_due``) and is routed again, so
        the agents who missed it may take it, as app_queue re-rings its
        members after ``retry``. Another decline restarts the pause. The agent
        that transferred the task stays excluded (see ``transfer``). Without P
        (``None``) declines last the whole visit.
    Q4. A task is listed in its home queue and, after an ``overflow_queue``
        escalation step, also in that queue (same priority and place).
    Q5. A queue is *empty* for a task (``join_empty``, ``leave_when_empty``)
        when, among the agents qualified for it in its home queue (Q1, logged
        in), none exists (``no_agents_logged_in``) or none is ready
        (``no_agents_available``); under ``always`` it never is.

Order (O)
    O1. Tasks are ordered by (higher effective priority, earlier ``arrival``,
        earlier entry sequence). Effective priority = queue priority + task
        priority + escalation boosts. A re-queued task (reject, timeout,
        withdrawn) keeps its key, i.e. its original place.
    O2. Agents are ordered by (lower penalty, fewer holdings on the task's
        channel, strategy key); ``ring_all`` offers to every able qualified
        agent of the best penalty tier at once.

Positions and announcements (P)
    P1. A task's *position* is its rank, 1 = next, in its home queue's *line*:
        the queue's own WAITING tasks in O1 order. A task being offered is out
        of the line and has none; back after a failed offer it is at its old
        place (O1). Overflow listings (Q4) do not put a task in the other
        queue's line.
    P2. A voice caller hears its position (``AnnouncePosition``, with the
        expected wait) when it enters a queue, if it is still WAITING once
        the entry is routed; then on its own cadence, every
        ``announce_interval_seconds`` after it entered (0: never again),
        only if it is WAITING then and its position differs from the last one
        it heard, whatever moved it (callers ahead offered or gone, priority
        boosts, its own failed offer). Ticks that no input came in time for
        are not made up: the cadence keeps its phase (``next_announcement``).
        After a reload a caller's pending tick comes as planned and the new
        interval applies from it (0: it is silent and the last); a caller
        who had no cadence gets one, in phase with its entry.

Matching (M)
    M1. Work conservation: when an input returns, there is no agent able to
        take channel ``c`` (A3) and a WAITING task of channel ``c`` that is
        listed (Q2) and for which the agent qualifies (Q1) and has not
        declined (Q3) -- nor a task reserved for it as preferred agent.
    M2. An agent that becomes able takes the best (O1) task among all it may
        take; a task that becomes listed goes to the best (O2) able agent of
        its home queue, then of its overflow queues.
    M3. A task has at most one live offer, except in a ``ring_all`` queue,
        where the first accept withdraws every other offer in the same call.

Leaving (L)
    L1. A task not yet connected leaves its queue (``LeaveQueue`` "timeout") at its
        own ``deadline`` when it names one (a callback), else ``max_wait_seconds``
        after entering the queue, else never (``max_wait_deadline``). One whose
        offer is pending then leaves when that offer fails.
    L2. A customer who leaves before being connected is an abandon (ABANDON),
        except one who asked to be called back (reason ``"callback"``): that is an
        exit with key (EXITWITHKEY, app_queue's word), neither answered nor
        abandoned in the statistics; the callback is a task of its own. A callback
        attempt whose customer did not answer (reason ``"unreached"``) is UNREACHED,
        and a caller an escalation sent to leave a message (``"voicemail"``) is
        EXITWITHTIMEOUT: neither is an abandon (``events.cancel_kind``).

Blending guard (B)
    B1. For a voice queue with ``blend.protect_voice_after_seconds = X``: an
        agent qualified for that queue's voice tasks gets no new *text*
        offers while a listed voice task there has waited (since entering
        the queue) at least X seconds. Its chats drain, its voice slot frees
        (voice_while_chat or not), and the voice task reaches it by M2. Voice
        offers are never blocked by the guard.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from operator import attrgetter
from typing import TYPE_CHECKING

from .model import VOICE, EmptyPolicy, EscalationStep, Queue, Task

if TYPE_CHECKING:
    from .records import AgentRec, TaskRec


class Presence(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"


class AgentState(StrEnum):
    """Summary state of an agent (rule A2)."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVED = "reserved"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class PresenceInput(StrEnum):
    LOGIN_READY = "login_ready"
    LOGIN_NOT_READY = "login_not_ready"
    SET_READY = "set_ready"
    SET_NOT_READY = "set_not_ready"
    LOGOUT = "logout"


PRESENCE: dict[tuple[Presence, PresenceInput], Presence] = {
    (Presence.LOGGED_OUT, PresenceInput.LOGIN_READY): Presence.READY,
    (Presence.LOGGED_OUT, PresenceInput.LOGIN_NOT_READY): Presence.NOT_READY,
    (Presence.READY, PresenceInput.SET_NOT_READY): Presence.NOT_READY,
    (Presence.READY, PresenceInput.SET_READY): Presence.READY,
    (Presence.NOT_READY, PresenceInput.SET_READY): Presence.READY,
    (Presence.NOT_READY, PresenceInput.SET_NOT_READY): Presence.NOT_READY,  # new reason
    (Presence.READY, PresenceInput.LOGOUT): Presence.LOGGED_OUT,
    (Presence.NOT_READY, PresenceInput.LOGOUT): Presence.LOGGED_OUT,
}


class TaskState(StrEnum):
    NEW = "new"
    WAITING = "waiting"  # in line (listed or not yet, see Q2)
    OFFERED = "offered"  # at least one live offer
    CONNECTED = "connected"
    ENDED = "ended"


class TaskInput(StrEnum):
    ARRIVE = "arrive"
    REFUSE = "refuse"  # full / join_empty / unknown queue
    OFFER = "offer"
    ACCEPT = "accept"
    OFFER_FAILED = "offer_failed"  # last live offer rejected / timed out / withdrawn
    CANCEL = "cancel"  # the customer left before being connected
    LEAVE = "leave"  # max wait / leave_when_empty
    END = "end"  # conversation over (agent or customer)
    TRANSFER = "transfer"  # blind transfer: a new queue visit


TASK: dict[tuple[TaskState, TaskInput], TaskState] = {
    (TaskState.NEW, TaskInput.ARRIVE): TaskState.WAITING,
    (TaskState.NEW, TaskInput.REFUSE): TaskState.ENDED,
    (TaskState.WAITING, TaskInput.OFFER): TaskState.OFFERED,
    (TaskState.WAITING, TaskInput.CANCEL): TaskState.ENDED,
    (TaskState.WAITING, TaskInput.LEAVE): TaskState.ENDED,
    (TaskState.OFFERED, TaskInput.OFFER): TaskState.OFFERED,  # ring_all adds offers
    (TaskState.OFFERED, TaskInput.ACCEPT): TaskState.CONNECTED,
    (TaskState.OFFERED, TaskInput.OFFER_FAILED): TaskState.WAITING,
    (TaskState.OFFERED, TaskInput.CANCEL): TaskState.ENDED,
    (TaskState.OFFERED, TaskInput.LEAVE): TaskState.ENDED,  # max wait hit while ringing
    (TaskState.CONNECTED, TaskInput.END): TaskState.ENDED,
    (TaskState.CONNECTED, TaskInput.TRANSFER): TaskState.WAITING,
}


class TransitionError(RuntimeError):
    """A transition the tables do not allow: a bug in the engine, never input."""


def next_task_state(state: TaskState, event: TaskInput) -> TaskState:
    try:
        return TASK[state, event]
    except KeyError:
        raise TransitionError(f"task: no transition for {event} in {state}") from None


def next_presence(state: Presence, event: PresenceInput) -> Presence | None:
    """New presence, or ``None`` when the input does not apply (e.g. logged out)."""
    return PRESENCE.get((state, event))


# ---------------------------------------------------------------- hot-path names

# An enum class attribute costs ~0.1 us in 3.11, a module global ~0.01 us, and
# these are tested on every decision: the engine's modules import these names.
WAITING, OFFERED, CONNECTED = TaskState.WAITING, TaskState.OFFERED, TaskState.CONNECTED
READY, LOGGED_OUT = Presence.READY, Presence.LOGGED_OUT
ARRIVE, REFUSE, OFFER = TaskInput.ARRIVE, TaskInput.REFUSE, TaskInput.OFFER
ACCEPT, OFFER_FAILED, CANCEL = TaskInput.ACCEPT, TaskInput.OFFER_FAILED, TaskInput.CANCEL
LEAVE, END, TRANSFER = TaskInput.LEAVE, TaskInput.END, TaskInput.TRANSFER
EP_ALWAYS = EmptyPolicy.ALWAYS


_IDLE_STATE = {p: AgentState(p.value) for p in Presence}


def summary_state(presence: Presence, offered: int, connected: int, wrapping: int) -> AgentState:
    """Rule A2."""
    if connected:
        return AgentState.BUSY
    if offered:
        return AgentState.RESERVED
    if wrapping:
        return AgentState.WRAP_UP
    return _IDLE_STATE[presence]


# ---------------------------------------------------------------- who (A, Q, B)

Req = tuple[tuple[tuple[str, int], ...], ...]
"""A requirement in disjunctive form (rule Q1): the agent must satisfy one alternative."""


def able(a: AgentRec, ch: str, now: float, held: dict[str, AgentRec]) -> bool:
    """Rule A3: may the agent be offered a new task of channel ``ch`` now?

    An agent refused only by the blend guard (B1) is noted in ``held``: the
    guard has no deadline of its own, so the engine retries those agents when
    a guarded voice task leaves its listings.
    """
    if a.presence is not READY:
        return False
    if a.holding.get(ch, 0) >= a.capacity.get(ch, 0):
        return False
    if ch == VOICE:
        return not a.text_holding or a.voice_while_chat
    if a.holding.get(VOICE, 0) and not a.chat_while_voice:
        return False
    if a.guards and guarded(a, now):
        held[a.id] = a
        return False
    return True


def guarded(a: AgentRec, now: float) -> bool:
    """Rule B1: a listed voice task the agent qualifies for has waited its queue's limit."""
    for c in a.guards:
        since = c.oldest_listed_since()
        if since is not None and now - since >= c.protect_after:
            return True
    return False


def missed_too_often(missed: int, limit: int) -> bool:
    """Rule A4: ``limit`` consecutive offer timeouts (0: never) make the agent not ready."""
    return bool(limit) and missed >= limit


def reoffer_due(cfg: Queue, failed_at: float) -> float | None:
    """Rule Q3: when a task nobody else could take forgets its declines (None: never)."""
    pause = cfg.reoffer_after_seconds
    return None if pause is None else failed_at + pause


def qualifies(skills: Mapping[str, int], req: Req) -> bool:
    """True if ``skills`` meet at least one alternative of ``req`` (rule Q1)."""
    for alt in req:
        for s, lvl in alt:
            if skills.get(s, 0) < lvl:
                break
        else:
            return True
    return False


def requirement(
    queue_skills: Mapping[str, int],
    task_skills: Mapping[str, int],
    level_cap: int | None,
    extra: Mapping[str, int],
    dropped: frozenset[str] = frozenset(),
) -> Req:
    """Rule Q1: the base requirement (queue skills merged with the task's, the
    higher level per skill, less the ``dropped`` ones) OR any single ``extra``
    (``add_skills``) skill, every level capped by the escalation ``level_cap``
    (``min_level``)."""
    base = dict(queue_skills)
    for s, lvl in task_skills.items():
        if lvl > base.get(s, 0):
            base[s] = lvl
    for s in dropped:
        base.pop(s, None)
    alts = dict(extra)
    if level_cap is not None:
        base = {s: min(lvl, level_cap) for s, lvl in base.items()}
        alts = {s: min(lvl, level_cap) for s, lvl in alts.items()}
    return (tuple(sorted(base.items())), *(((s, lvl),) for s, lvl in sorted(alts.items())))


def escalated_requirement(
    level_cap: int | None, extra: Mapping[str, int], step: EscalationStep
) -> tuple[int | None, dict[str, int]]:
    """Rule Q1 after an escalation step: (new level cap, new extra alternatives).

    Steps are cumulative: the lowest ``min_level`` so far caps every level, and
    an alternative added twice keeps its lower level.
    """
    if step.min_level is not None:
        level_cap = step.min_level if level_cap is None else min(level_cap, step.min_level)
    alts = dict(extra)
    for s, lvl in step.add_skills.items():
        alts[s] = min(alts.get(s, lvl), lvl)
    return level_cap, alts


def preferred_wait_applies(pref: AgentRec | None, wait: float, channel: str) -> bool:
    """Rule Q2: a preferred wait only counts if its agent is logged in at entry
    (and has capacity for the channel)."""
    return (
        pref is not None
        and wait > 0
        and pref.presence is not LOGGED_OUT
        and pref.capacity.get(channel, 0) > 0
    )


def queue_empty(qualified: Mapping[str, AgentRec], policy: EmptyPolicy) -> bool:
    """Rule Q5 over the logged-in agents qualified for a task's home class."""
    if policy is EmptyPolicy.NO_AGENTS_LOGGED_IN:
        return not qualified
    if policy is EmptyPolicy.NO_AGENTS_AVAILABLE:
        return not any(a.presence is READY for a in qualified.values())
    return False


# ---------------------------------------------------------------- order (O)


def neg_priority(queue: Queue, task: Task) -> int:
    """Rule O1: effective priority before escalation boosts, negated (heaps pop the least)."""
    return -(queue.priority + task.priority)


TASK_ORDER = attrgetter("neg_prio", "order", "seq")
"""Rule O1 as a sort key over task records: priority, then ``arrival``, then entry."""


def max_wait_deadline(t: TaskRec, cfg: Queue) -> float | None:
    """Rule L1: when a task still waiting leaves its queue (None: it never times out)."""
    if t.task.deadline is not None:
        return t.task.deadline
    if cfg.max_wait_seconds is None:
        return None
    return t.entered + cfg.max_wait_seconds


# ---------------------------------------------------------------- announcements (P)


def next_announcement(due: float, interval: float, now: float) -> float | None:
    """Rule P2: when a caller's tick due at ``due``, fired at ``now``, is next due
    (None: its queue no longer announces); ticks already missed are skipped."""
    if interval <= 0:
        return None
    nxt = due + interval
    if nxt <= now:
        nxt += interval * math.floor((now - nxt) / interval + 1)
    return nxt
