"""The ACD engine: one sans-I/O state machine for every task and agent.

The rules are stated in ``acd/_state.py``; this module applies them and keeps
the indexes that make a routing decision cost O(log n) instead of a scan:

* A *class* is (queue, channel, requirement). Each class has a heap of its
  listed tasks keyed by the task order (rule O1) and a heap ("pool") of able
  qualified agents keyed by the queue's strategy (rule O2). Each agent keeps
  the list of classes it qualifies for, each task the classes it is listed in.
* Heaps are lazily invalidated: a task entry is live while its version
  matches the task's, an agent entry while its stamp matches the agent's and
  the agent is still able. Stale entries are dropped when they reach the top,
  and a heap is compacted when it is mostly stale.
* When an agent frees up it peeks the head of each of its classes and takes
  the best; when a task is listed it pops the best agent of its class pool.
* Deadlines live in one timer heap, also lazily invalidated.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ._state import (
    AgentState,
    Presence,
    PresenceInput,
    TaskInput,
    TaskState,
    next_presence,
    next_task_state,
    summary_state,
)
from .events import (
    K_ABANDON,
    K_AGENTLOGIN,
    K_AGENTLOGOFF,
    K_COMPLETEAGENT,
    K_COMPLETECALLER,
    K_CONFIGRELOAD,
    K_CONNECT,
    K_ENTERQUEUE,
    K_ESCALATE,
    K_EXITEMPTY,
    K_EXITWITHTIMEOUT,
    K_FULL,
    K_JOINEMPTY,
    K_OFFER,
    K_PAUSE,
    K_REFUSED,
    K_REJECT,
    K_RINGCANCELED,
    K_RINGNOANSWER,
    K_TRANSFER,
    K_UNPAUSE,
    K_WRAPUP,
    LEAVE_EMPTY,
    LEAVE_TIMEOUT,
    REFUSE_CHANNEL,
    REFUSE_EMPTY,
    REFUSE_FULL,
    REFUSE_UNKNOWN_QUEUE,
    WITHDRAW_AGENT_LOGGED_OUT,
    WITHDRAW_ANSWERED_ELSEWHERE,
    WITHDRAW_CANCELLED,
    WITHDRAW_TIMEOUT,
    AgentStateChanged,
    AnnouncePosition,
    EscalationAction,
    Ignored,
    LeaveQueue,
    LogEvent,
    Offer,
    Output,
    RejectArrival,
    WithdrawOffer,
)
from .inputs import (
    Advance,
    AgentLogin,
    AgentLogout,
    AgentSetState,
    Input,
    OfferAccepted,
    OfferRejected,
    TaskArrived,
    TaskCancelled,
    TaskEnded,
    Transfer,
    UpdateAgent,
    UpdateQueues,
    WrapupDone,
)
from .model import VOICE, Agent, EmptyPolicy, Queue, Strategy, Task

_push = heapq.heappush
_pop = heapq.heappop

_WAITING = TaskState.WAITING
_OFFERED = TaskState.OFFERED
_CONNECTED = TaskState.CONNECTED
_ENDED = TaskState.ENDED
_READY = Presence.READY
_NOT_READY = Presence.NOT_READY
_LOGGED_OUT = Presence.LOGGED_OUT

_S_IDLE = Strategy.LONGEST_IDLE
_S_RR = Strategy.ROUND_ROBIN
_S_FEWEST = Strategy.FEWEST_TASKS
_S_SKILL = Strategy.BEST_SKILL
_S_RANDOM = Strategy.RANDOM
_S_WRANDOM = Strategy.WEIGHTED_RANDOM
_S_LINEAR = Strategy.LINEAR
_S_RINGALL = Strategy.RING_ALL

# Enum class attributes cost ~0.2 us each in 3.11: hot paths use module aliases.
_AS_LOGGED_OUT = AgentState.LOGGED_OUT
_AS_NOT_READY = AgentState.NOT_READY
_EP_ALWAYS = EmptyPolicy.ALWAYS
_EP_NO_AGENTS_AVAILABLE = EmptyPolicy.NO_AGENTS_AVAILABLE
_EP_NO_AGENTS_LOGGED_IN = EmptyPolicy.NO_AGENTS_LOGGED_IN
_PI_LOGIN_NOT_READY = PresenceInput.LOGIN_NOT_READY
_PI_LOGIN_READY = PresenceInput.LOGIN_READY
_PI_LOGOUT = PresenceInput.LOGOUT
_PI_SET_NOT_READY = PresenceInput.SET_NOT_READY
_PI_SET_READY = PresenceInput.SET_READY
_I_ACCEPT = TaskInput.ACCEPT
_I_ARRIVE = TaskInput.ARRIVE
_I_CANCEL = TaskInput.CANCEL
_I_END = TaskInput.END
_I_LEAVE = TaskInput.LEAVE
_I_OFFER = TaskInput.OFFER
_I_OFFER_FAILED = TaskInput.OFFER_FAILED
_I_REFUSE = TaskInput.REFUSE
_I_TRANSFER = TaskInput.TRANSFER

# timer kinds
_T_OFFER, _T_MAXWAIT, _T_ESC, _T_LIST, _T_WRAP, _T_ANNOUNCE = range(6)

_AHT_ALPHA = 0.25  # app_queue's holdtime smoothing: new = (3 * old + sample) / 4

Req = tuple[tuple[tuple[str, int], ...], ...]
"""A requirement in disjunctive form: the agent must satisfy one alternative."""


def qualifies(skills: dict[str, int], req: Req) -> bool:
    """True if ``skills`` meet at least one alternative of ``req`` (rule Q1)."""
    for alt in req:
        for s, lvl in alt:
            if skills.get(s, 0) < lvl:
                break
        else:
            return True
    return False


# ---------------------------------------------------------------- records


class _OfferRec:
    __slots__ = ("agent", "deadline", "id", "live", "task")

    def __init__(self, oid: str, task: _TaskRec, agent: _AgentRec, deadline: float | None):
        self.id = oid
        self.task = task
        self.agent = agent
        self.deadline = deadline
        self.live = True


class _Wrap:
    __slots__ = ("agent", "channel", "live", "queue", "start", "talk", "task_id")

    def __init__(
        self,
        agent: _AgentRec,
        task_id: str,
        queue: _QueueRec,
        channel: str,
        start: float,
        talk: float,
    ):
        self.agent = agent
        self.task_id = task_id
        self.queue = queue
        self.channel = channel
        self.start = start
        self.talk = talk
        self.live = True


class _TaskRec:
    __slots__ = (
        "agent",
        "alts",
        "ann_pos",
        "boost",
        "cap",
        "channel",
        "connected_at",
        "declined",
        "entered",
        "esc_gen",
        "hcls",
        "home",
        "id",
        "listed",
        "listings",
        "neg_prio",
        "offers",
        "order",
        "overflow",
        "pref",
        "public",
        "queued",
        "seq",
        "state",
        "steps",
        "task",
        "timed_out",
        "ver",
        "visit",
    )

    def __init__(self, task: Task, order: float, seq: int):
        self.task = task
        self.id = task.id
        self.channel = task.channel
        self.order = order
        self.seq = seq
        self.state = TaskState.NEW
        self.ver = 0
        self.visit = 0
        self.esc_gen = 0
        self.offers: dict[str, _OfferRec] = {}
        self.agent: _AgentRec | None = None
        self.connected_at = 0.0
        self.listed = False
        self.queued = False
        self.listings: list[_Class] | None = None
        self.hcls: _Class | None = None
        self.declined: set[str] | None = None
        self.home: _QueueRec
        self.entered = 0.0
        self.neg_prio = 0
        self.public = False
        self.pref: _AgentRec | None = None
        self.steps = 0
        self.boost = 0
        self.cap: int | None = None
        self.alts: dict[str, int] = {}
        self.overflow: list[str] = []
        self.timed_out = False
        self.ann_pos = 0


class _AgentRec:
    __slots__ = (
        "answered",
        "cap",
        "cfg",
        "cls_by_ch",
        "connected",
        "cwv",
        "id",
        "idle_since",
        "load",
        "missed",
        "offers",
        "pref",
        "presence",
        "protect",
        "reason",
        "skills",
        "sreason",
        "stamp",
        "state",
        "text_load",
        "vwc",
        "wraps",
    )

    def __init__(self, cfg: Agent):
        self.id = cfg.id
        self.presence = _LOGGED_OUT
        self.reason: str | None = None
        self.load: dict[str, int] = {}
        self.text_load = 0
        self.offers: dict[str, _OfferRec] = {}
        self.connected: dict[str, _TaskRec] = {}
        self.wraps: dict[str, _Wrap] = {}
        self.stamp = 0
        self.idle_since = 0.0
        self.answered = 0
        self.missed = 0
        self.cls_by_ch: dict[str, list[_Class]] = {}
        self.protect: list[_Class] = []
        self.pref: list[_TaskRec] = []
        self.state = _AS_LOGGED_OUT
        self.sreason: str | None = None
        self.set_cfg(cfg)

    def set_cfg(self, cfg: Agent) -> None:
        self.cfg = cfg
        self.skills = cfg.skills
        self.cap = cfg.capacity
        self.cwv = cfg.chat_while_voice
        self.vwc = cfg.voice_while_chat


class _QueueRec:
    __slots__ = (
        "aht",
        "ann_at",
        "base_req",
        "cfg",
        "classes",
        "count",
        "fresh",
        "line",
        "members",
        "name",
        "next_pos",
        "positions",
        "retired",
        "rr_last",
        "rr_round",
        "staffed",
        "strategy",
        "tasks",
    )

    def __init__(self, cfg: Queue):
        self.name = cfg.name
        self.classes: dict[tuple[str, Req], _Class] = {}
        self.fresh: dict[tuple[Any, ...], _Class] = {}
        self.members: dict[str, tuple[int, float, int, _AgentRec]] = {}
        self.positions: dict[str, int] = {}
        self.next_pos = 0
        self.tasks: dict[str, _TaskRec] = {}
        self.line: dict[int, int] = {}
        self.count = 0
        self.staffed: dict[str, int] = {}
        self.aht: float | None = None
        self.ann_at: float | None = None
        self.retired = False
        self.set_cfg(cfg)

    def set_cfg(self, cfg: Queue) -> None:
        self.cfg = cfg
        self.strategy = cfg.strategy
        self.base_req: Req = (tuple(sorted(cfg.skills.items())),)
        self.rr_round = 0
        self.rr_last = -1


class _Class:
    """Tasks of one (queue, channel, requirement) and the agents able to take them."""

    __slots__ = (
        "agents",
        "channel",
        "clock",
        "dead",
        "live",
        "oldest",
        "protect",
        "q",
        "qualified",
        "req",
        "scores",
        "tasks",
        "uid",
    )

    def __init__(self, q: _QueueRec, channel: str, req: Req):
        self.q = q
        self.channel = channel
        self.req = req
        self.tasks: list[tuple[Any, ...]] = []
        self.live = 0
        self.oldest: list[tuple[Any, ...]] = []
        self.agents: list[tuple[Any, ...]] = []
        self.qualified: dict[str, _AgentRec] = {}
        self.scores: dict[str, int] = {}
        self.clock: dict[tuple[int, int], float] = {}
        p = q.cfg.blend.protect_voice_after_seconds if channel == VOICE else None
        self.protect = p
        self.dead = False


# ---------------------------------------------------------------- views


@dataclass(frozen=True, slots=True)
class WaitingTask:
    """A task in a queue (waiting or being offered), with its place in line."""

    task_id: str
    queue: str
    channel: str
    state: TaskState
    priority: int
    position: int | None  # None while offered (out of the line)
    expected_wait: float | None
    waited: float
    listed: bool  # competing for every qualified agent (rule Q2)
    reserved_for: str | None  # preferred agent while its window runs
    listings: tuple[tuple[str, Req], ...]  # (queue, requirement) it is listed in
    declined: frozenset[str]
    order: float


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    state: AgentState
    presence: Presence
    reason: str | None
    holding: dict[str, int] = field(default_factory=dict)
    offers: tuple[str, ...] = ()
    connected: tuple[str, ...] = ()
    wrapping: tuple[str, ...] = ()
    answered: int = 0
    missed_in_a_row: int = 0


# ---------------------------------------------------------------- engine


class AcdError(ValueError):
    """A programming error by the caller (duplicate task id, bad argument)."""


class Engine:
    """The queue engine. Feed it inputs with ``now``; act on what it returns.

    ``rng`` drives the ``random`` and ``weighted_random`` strategies; pass a
    seeded ``random.Random`` (the default is ``Random(0)``) so runs replay.
    """

    def __init__(self, queues: Iterable[Queue] = (), rng: random.Random | None = None):
        self._rng = rng if rng is not None else random.Random(0)
        self._queues: dict[str, _QueueRec] = {}
        self._agents: dict[str, _AgentRec] = {}
        self._tasks: dict[str, _TaskRec] = {}
        self._offers: dict[str, _OfferRec] = {}
        self._timers: list[tuple[Any, ...]] = []
        self._now = -math.inf
        self._seq = 0  # tasks entering, timers, heap entries: one counter
        self._offer_seq = 0
        self._guard_waiters: dict[str, _AgentRec] = {}
        self._guard_dirty = False
        self._empty_check: dict[str, _QueueRec] = {}
        self._dirty: dict[str, _AgentRec] = {}
        for q in queues:
            if q.name in self._queues:
                raise AcdError(f"duplicate queue {q.name!r}")
            self._queues[q.name] = _QueueRec(q)
        self._handlers: dict[type, Callable[[Any], list[Output]]] = {
            TaskArrived: lambda e: self.task_arrived(e.task, e.now),
            TaskCancelled: lambda e: self.task_cancelled(e.task_id, e.now, e.reason),
            TaskEnded: lambda e: self.task_ended(e.task_id, e.now, e.by),
            OfferAccepted: lambda e: self.offer_accepted(e.offer_id, e.now),
            OfferRejected: lambda e: self.offer_rejected(e.offer_id, e.now),
            AgentLogin: lambda e: self.agent_login(e.agent, e.now, e.ready),
            AgentLogout: lambda e: self.agent_logout(e.agent_id, e.now),
            AgentSetState: lambda e: self.agent_set_state(e.agent_id, e.state, e.now, e.reason),
            WrapupDone: lambda e: self.wrapup_done(e.agent_id, e.now, e.task_id),
            Transfer: lambda e: self.transfer(
                e.task_id,
                e.now,
                queue=e.queue,
                agent_id=e.agent_id,
                keep_position=e.keep_position,
            ),
            Advance: lambda e: self.advance(e.now),
            UpdateQueues: lambda e: self.update_queues(e.queues, e.now),
            UpdateAgent: lambda e: self.update_agent(e.agent, e.now),
        }

    # ============================================================ inputs

    def handle(self, event: Input) -> list[Output]:
        """Dispatch an input record (``acd.inputs``) to its method."""
        return self._handlers[type(event)](event)

    def advance(self, now: float) -> list[Output]:
        """Fire every deadline ``<= now`` (rule T2); see ``next_deadline``."""
        now, out = self._begin(now)
        return self._end(now, out)

    def next_deadline(self) -> float | None:
        """When ``advance`` should be called next (``None``: nothing pending)."""
        tm = self._timers
        while tm:
            at, _, kind, obj, ver = tm[0]
            if self._timer_live(kind, obj, ver):
                return at
            _pop(tm)
        return None

    def task_arrived(self, task: Task, now: float) -> list[Output]:
        """A task asks for a person: queue it (or refuse it) and route it."""
        now, out = self._begin(now)
        if task.id in self._tasks:
            raise AcdError(f"task {task.id!r} is already in the engine")
        q = self._queues.get(task.queue)
        reason = None
        if q is None or q.retired:
            reason, kind = REFUSE_UNKNOWN_QUEUE, K_REFUSED
        elif task.channel not in q.cfg.channels:
            reason, kind = REFUSE_CHANNEL, K_REFUSED
        elif q.cfg.max_length and q.count >= q.cfg.max_length:
            reason, kind = REFUSE_FULL, K_FULL
        self._seq += 1
        t = _TaskRec(task, task.arrival if task.arrival is not None else now, self._seq)
        if reason is None and q is not None and q.cfg.join_empty is not _EP_ALWAYS:
            t.home = q
            if self._is_empty(self._home_class(t, now), q.cfg.join_empty):
                reason, kind = REFUSE_EMPTY, K_JOINEMPTY
        if reason is not None:
            t.state = next_task_state(t.state, _I_REFUSE)
            out.append(RejectArrival(task.id, task.queue, reason))
            out.append(LogEvent(now, kind, task.id, task.queue, None, {"reason": reason}))
            return self._end(now, out)
        assert q is not None
        self._tasks[task.id] = t
        pa = self._agents.get(task.preferred_agent) if task.preferred_agent else None
        self._enter(t, q, now, out, pa, task.preferred_wait_seconds, _I_ARRIVE)
        return self._end(now, out)

    def task_cancelled(self, task_id: str, now: float, reason: str = "abandon") -> list[Output]:
        """The customer left before being connected (abandon). On a connected
        task this is the same as ``task_ended(by="caller")``."""
        now, out = self._begin(now)
        t = self._tasks.get(task_id)
        if t is None:
            out.append(Ignored("task_cancelled", task_id, "unknown task"))
            return self._end(now, out)
        if t.state is _CONNECTED:
            self._end_connected(t, now, out, "caller")
            return self._end(now, out)
        q = t.home
        freed = self._withdraw_all(t, WITHDRAW_CANCELLED, now, out)
        pos = self._position(t) if t.state is _WAITING else None
        self._remove_from_queue(t, _I_CANCEL)
        out.append(
            LogEvent(
                now,
                K_ABANDON,
                t.id,
                q.name,
                None,
                {"wait": now - t.entered, "position": pos, "reason": reason},
            )
        )
        for a in freed:
            self._dispatch_agent(a, now, out)
        return self._end(now, out)

    def task_ended(self, task_id: str, now: float, by: str = "agent") -> list[Output]:
        """The conversation is over (``by``: "agent" or "caller"); wrap-up starts."""
        now, out = self._begin(now)
        t = self._tasks.get(task_id)
        if t is None or t.state is not _CONNECTED:
            out.append(Ignored("task_ended", task_id, "task is not connected"))
            return self._end(now, out)
        self._end_connected(t, now, out, by)
        return self._end(now, out)

    def offer_accepted(self, offer_id: str, now: float) -> list[Output]:
        """The agent took the offer: connect; withdraw ring_all siblings."""
        now, out = self._begin(now)
        o = self._offers.get(offer_id)
        if o is None:
            out.append(Ignored("offer_accepted", offer_id, "offer is no longer live"))
            return self._end(now, out)
        t, a = o.task, o.agent
        self._drop_offer(o)
        t.state = next_task_state(t.state, _I_ACCEPT)
        q = t.home
        del q.tasks[t.id]
        q.count -= 1
        t.agent = a
        t.connected_at = now
        a.connected[t.id] = t
        a.missed = 0
        a.answered += 1
        out.append(
            LogEvent(now, K_CONNECT, t.id, q.name, a.id, {"wait": now - t.entered, "offer": o.id})
        )
        freed = self._withdraw_all(t, WITHDRAW_ANSWERED_ELSEWHERE, now, out)
        self._touch(a)
        self._dispatch_agent(a, now, out)  # its keys changed; may still have chat room
        for b in freed:
            self._dispatch_agent(b, now, out)
        return self._end(now, out)

    def offer_rejected(self, offer_id: str, now: float) -> list[Output]:
        """The agent declined: the task goes back to its original place."""
        now, out = self._begin(now)
        o = self._offers.get(offer_id)
        if o is None:
            out.append(Ignored("offer_rejected", offer_id, "offer is no longer live"))
            return self._end(now, out)
        t, a = o.task, o.agent
        self._drop_offer(o)
        self._release(a, t.channel)
        out.append(LogEvent(now, K_REJECT, t.id, t.home.name, a.id, {"offer": o.id}))
        self._decline(t, a)
        self._touch(a)
        if not t.offers:
            self._offer_failed(t, now, out)
        self._dispatch_agent(a, now, out)
        return self._end(now, out)

    def agent_login(self, agent: Agent, now: float, ready: bool = True) -> list[Output]:
        """Log an agent in (ready or not ready) and give it work."""
        now, out = self._begin(now)
        a = self._agents.get(agent.id)
        if a is not None and a.presence is not _LOGGED_OUT:
            out.append(Ignored("agent_login", agent.id, "already logged in"))
            return self._end(now, out)
        if a is None:
            a = self._agents[agent.id] = _AgentRec(agent)
        else:
            a.set_cfg(agent)
        inp = _PI_LOGIN_READY if ready else _PI_LOGIN_NOT_READY
        a.presence = next_presence(a.presence, inp) or a.presence
        a.reason = None if ready else "login"
        a.idle_since = now
        a.missed = 0
        out.append(LogEvent(now, K_AGENTLOGIN, None, None, a.id, {"ready": ready}))
        self._index_agent(a, now)
        if a.presence is _READY:
            self._staff(a, 1)
        self._touch(a)
        self._dispatch_agent(a, now, out)
        return self._end(now, out)

    def agent_logout(self, agent_id: str, now: float) -> list[Output]:
        """Log out: pending offers are withdrawn (not held against the agent),
        connected tasks and wrap-ups run to their end, reserved tasks go public."""
        now, out = self._begin(now)
        a = self._agents.get(agent_id)
        if a is None or a.presence is _LOGGED_OUT:
            out.append(Ignored("agent_logout", agent_id, "not logged in"))
            return self._end(now, out)
        if a.presence is _READY:
            self._staff(a, -1)
        a.presence = next_presence(a.presence, _PI_LOGOUT) or _LOGGED_OUT
        a.reason = None
        out.append(LogEvent(now, K_AGENTLOGOFF, None, None, a.id, {}))
        failed = []
        for o in list(a.offers.values()):
            t = o.task
            self._drop_offer(o)
            self._release(a, t.channel)
            out.append(WithdrawOffer(o.id, t.id, a.id, WITHDRAW_AGENT_LOGGED_OUT))
            out.append(LogEvent(now, K_RINGCANCELED, t.id, t.home.name, a.id, {"offer": o.id}))
            if not t.offers:
                failed.append(t)
        queues = self._unindex_agent(a)
        for t in list(a.pref):
            if t.pref is a and t.state in (_WAITING, _OFFERED):
                self._end_pref_window(t, now, out)
        a.pref.clear()
        for q in queues:
            self._empty_check[q.name] = q
        self._touch(a)
        for t in failed:
            self._offer_failed(t, now, out)
        return self._end(now, out)

    def agent_set_state(
        self, agent_id: str, state: str, now: float, reason: str | None = None
    ) -> list[Output]:
        """Set presence "ready" or "not_ready" (with a reason); work in hand goes on."""
        now, out = self._begin(now)
        a = self._agents.get(agent_id)
        if state not in ("ready", "not_ready"):
            raise AcdError(f"agent_set_state: state must be 'ready' or 'not_ready', not {state!r}")
        if a is None or a.presence is _LOGGED_OUT:
            out.append(Ignored("agent_set_state", agent_id, "not logged in"))
            return self._end(now, out)
        inp = _PI_SET_READY if state == "ready" else _PI_SET_NOT_READY
        self._set_presence(a, inp, reason, now, out)
        self._touch(a)
        self._dispatch_agent(a, now, out)
        return self._end(now, out)

    def wrapup_done(self, agent_id: str, now: float, task_id: str | None = None) -> list[Output]:
        """End the agent's wrap-up (of one task, or all) before its timer."""
        now, out = self._begin(now)
        a = self._agents.get(agent_id)
        wraps = [] if a is None else list(a.wraps.values())
        if task_id is not None:
            wraps = [w for w in wraps if w.task_id == task_id]
        if a is None or not wraps:
            out.append(Ignored("wrapup_done", agent_id, "no wrap-up running"))
            return self._end(now, out)
        for w in wraps:
            self._finish_wrap(a, w, now, out)
        self._dispatch_agent(a, now, out)
        return self._end(now, out)

    def transfer(
        self,
        task_id: str,
        now: float,
        *,
        queue: str | None = None,
        agent_id: str | None = None,
        keep_position: bool = True,
    ) -> list[Output]:
        """Blind-transfer a connected task to a queue and/or a named agent.

        The task starts a new visit of ``queue`` (default: its current queue):
        new ENTERQUEUE, wait/escalation/max-wait clocks from now, declined set
        reset except that it never goes back to the transferring agent during
        this visit. ``keep_position`` keeps its original ``arrival`` (its place
        in line); False puts it at the back. With ``agent_id`` only that agent
        may take it (while logged in; if it logs out the task is listed in the
        queue). ``max_length`` and ``join_empty`` do not apply to transfers.
        """
        now, out = self._begin(now)
        t = self._tasks.get(task_id)
        if t is None or t.state is not _CONNECTED:
            out.append(Ignored("transfer", task_id, "task is not connected"))
            return self._end(now, out)
        q2 = self._queues.get(queue or t.home.name)
        if q2 is None or q2.retired or t.channel not in q2.cfg.channels:
            out.append(Ignored("transfer", task_id, "target queue cannot take this task"))
            return self._end(now, out)
        ta = None
        if agent_id is not None:
            ta = self._agents.get(agent_id)
            if ta is None or ta.presence is _LOGGED_OUT or ta.cap.get(t.channel, 0) <= 0:
                out.append(Ignored("transfer", task_id, "target agent cannot take this task"))
                return self._end(now, out)
        a = t.agent
        assert a is not None
        talk = now - t.connected_at
        out.append(
            LogEvent(
                now,
                K_TRANSFER,
                t.id,
                t.home.name,
                a.id,
                {
                    "talk": talk,
                    "wait": t.connected_at - t.entered,
                    "to_queue": q2.name,
                    "to_agent": agent_id,
                },
            )
        )
        old_q = t.home
        del a.connected[t.id]
        t.agent = None
        if not keep_position:
            t.order = now
        self._enter(t, q2, now, out, ta, math.inf if ta else 0.0, _I_TRANSFER, a.id)
        self._start_wrap(a, t.id, old_q, t.channel, talk, now, out)
        return self._end(now, out)

    def update_queues(self, queues: Iterable[Queue], now: float) -> list[Output]:
        """Replace the queue definitions on a running engine (config reload).

        Waiting tasks are kept. A changed queue re-derives each task's
        requirement, priority and escalation from the new definition (steps
        whose time has passed apply silently: their actions are not re-sent),
        and re-lists it at its original place. A queue missing from the new
        set is *retired*: it refuses arrivals but keeps routing its waiting
        tasks with its last definition until they are gone, so none is lost.
        """
        now, out = self._begin(now)
        new = {}
        for q in queues:
            if q.name in new:
                raise AcdError(f"duplicate queue {q.name!r}")
            new[q.name] = q
        out.append(LogEvent(now, K_CONFIGRELOAD, None, None, None, {"queues": sorted(new)}))
        changed: list[_QueueRec] = []
        for name, cfg in new.items():
            qr = self._queues.get(name)
            if qr is None:  # new: members join; tasks may overflow into it
                qr = self._queues[name] = _QueueRec(cfg)
                for a in self._agents.values():
                    m = a.cfg.queues.get(name)
                    if m is not None and a.presence is not _LOGGED_OUT:
                        self._join(qr, a, m, now)
                changed.append(qr)
            elif qr.cfg != cfg or qr.retired:
                qr.retired = False
                qr.set_cfg(cfg)
                changed.append(qr)
        for name, qr in self._queues.items():
            if name not in new:
                qr.retired = True
        if changed:
            self._rebuild(changed, now, out)
            if self._timers and self._timers[0][0] <= now:
                self._run_timers(now, out)
        for qr in self._queues.values():
            self._empty_check[qr.name] = qr
        for a in list(self._agents.values()):
            if a.presence is not _LOGGED_OUT:
                self._dispatch_agent(a, now, out)
        return self._end(now, out)

    def update_agent(self, agent: Agent, now: float) -> list[Output]:
        """Replace a logged-in agent's skills, capacity, queues and rules.

        Its presence and the work it holds are kept; if the new capacity is
        below what it holds it simply gets nothing new until it is below.
        """
        now, out = self._begin(now)
        a = self._agents.get(agent.id)
        if a is None or a.presence is _LOGGED_OUT:
            out.append(Ignored("update_agent", agent.id, "not logged in"))
            return self._end(now, out)
        if a.presence is _READY:
            self._staff(a, -1)
        old = self._unindex_agent(a)
        a.set_cfg(agent)
        self._index_agent(a, now)
        if a.presence is _READY:
            self._staff(a, 1)
        for q in old:
            self._empty_check[q.name] = q
        for name in agent.queues:
            q = self._queues.get(name)
            if q is not None:
                self._empty_check[q.name] = q
        self._guard_dirty = True
        self._dispatch_agent(a, now, out)
        return self._end(now, out)

    def reset_daily_counters(self, now: float) -> list[Output]:
        """Zero "tasks answered today" (``fewest_tasks``); the app calls it at midnight."""
        now, out = self._begin(now)
        for a in self._agents.values():
            a.answered = 0
            if a.presence is not _LOGGED_OUT:
                self._dispatch_agent(a, now, out)
        return self._end(now, out)

    # ============================================================ queries

    def waiting(self, queue: str | None = None) -> list[WaitingTask]:
        """Tasks in queue(s), in line order, with position and expected wait.

        O(n log n): for dashboards and adapters, not for the routing path.
        """
        qs = [self._queues[queue]] if queue is not None else list(self._queues.values())
        res = []
        for q in qs:
            line = sorted(q.tasks.values(), key=lambda t: (t.neg_prio, t.order, t.seq))
            pos = 0
            for t in line:
                if t.state is _WAITING:
                    pos += 1
                res.append(self._view_task(t, pos if t.state is _WAITING else None))
        return res

    def task(self, task_id: str) -> WaitingTask | None:
        """A task that is waiting or offered (``None`` otherwise)."""
        t = self._tasks.get(task_id)
        if t is None or t.state not in (_WAITING, _OFFERED):
            return None
        return self._view_task(t, self._position(t) if t.state is _WAITING else None)

    def task_state(self, task_id: str) -> TaskState | None:
        t = self._tasks.get(task_id)
        return None if t is None else t.state

    def agent(self, agent_id: str) -> AgentView | None:
        a = self._agents.get(agent_id)
        if a is None:
            return None
        return AgentView(
            a.id,
            a.state,
            a.presence,
            a.reason,
            {k: v for k, v in a.load.items() if v},
            tuple(a.offers),
            tuple(a.connected),
            tuple(a.wraps),
            a.answered,
            a.missed,
        )

    def agents(self) -> list[AgentView]:
        return [v for v in (self.agent(i) for i in self._agents) if v is not None]

    def queue(self, name: str) -> Queue | None:
        q = self._queues.get(name)
        return None if q is None else q.cfg

    def queue_names(self, include_retired: bool = False) -> list[str]:
        return [n for n, q in self._queues.items() if include_retired or not q.retired]

    def expected_wait(self, queue: str, position: int, channel: str = VOICE) -> float | None:
        """Expected wait at ``position``: position x AHT / staffed slots.

        AHT is the queue's smoothed handle time (talk + wrap-up, app_queue's
        (3 x old + new) / 4); staffed slots are the channel capacities of the
        queue's members whose presence is ready (busy ones included: they come
        back). ``None`` before the first handled task or with nobody staffed.
        """
        return self._ewt(self._queues[queue], position, channel)

    # ============================================================ internals: time

    def _begin(self, now: float) -> tuple[float, list[Output]]:
        if now < self._now:
            now = self._now
        else:
            self._now = now
        out: list[Output] = []
        tm = self._timers
        if tm and tm[0][0] <= now:
            self._run_timers(now, out)
        return now, out

    def _end(self, now: float, out: list[Output]) -> list[Output]:
        if self._guard_dirty or self._empty_check:
            self._settle(now, out)
        if self._dirty:
            self._flush_states(now, out)
        return out

    def _timer(self, at: float, kind: int, obj: Any, ver: Any) -> None:
        self._seq += 1
        _push(self._timers, (at, self._seq, kind, obj, ver))

    def _timer_live(self, kind: int, obj: Any, ver: Any) -> bool:
        if kind == _T_OFFER:
            return obj.live
        if kind == _T_WRAP:
            return obj.live
        if kind == _T_ANNOUNCE:
            return obj.ann_at is not None and ver == obj.ann_at
        t: _TaskRec = obj
        if t.state is not _WAITING and t.state is not _OFFERED:
            return False
        if kind == _T_MAXWAIT:
            return ver == (t.visit, t.esc_gen) and not t.timed_out
        if kind == _T_ESC:
            return ver == (t.visit, t.esc_gen)
        return ver == t.visit and not t.public  # _T_LIST

    def _run_timers(self, now: float, out: list[Output]) -> None:
        tm = self._timers
        while tm and tm[0][0] <= now:
            _, _, kind, obj, ver = _pop(tm)
            if not self._timer_live(kind, obj, ver):
                continue
            if kind == _T_OFFER:
                self._offer_timeout(obj, now, out)
            elif kind == _T_WRAP:
                a = obj.agent
                self._finish_wrap(a, obj, now, out)
                self._dispatch_agent(a, now, out)
            elif kind == _T_ANNOUNCE:
                obj.ann_at = None
                self._announce(obj, now, out)
            elif kind == _T_MAXWAIT:
                if obj.state is _WAITING:
                    self._leave(obj, LEAVE_TIMEOUT, now, out)
                else:
                    obj.timed_out = True  # leaves when its offer fails
            elif kind == _T_ESC:
                self._escalate(obj, now, out)
            else:
                self._end_pref_window(obj, now, out)
            if self._guard_dirty or self._empty_check:
                self._settle(now, out)

    def _settle(self, now: float, out: list[Output]) -> None:
        while self._guard_dirty or self._empty_check:
            if self._empty_check:
                pending = list(self._empty_check.values())
                self._empty_check.clear()
                for q in pending:
                    self._check_leave_empty(q, now, out)
            if self._guard_dirty:
                self._guard_dirty = False
                waiters = list(self._guard_waiters.values())
                self._guard_waiters.clear()
                for a in waiters:
                    self._dispatch_agent(a, now, out)

    # ============================================================ internals: tasks

    def _enter(
        self,
        t: _TaskRec,
        q: _QueueRec,
        now: float,
        out: list[Output],
        pref: _AgentRec | None,
        pref_wait: float,
        how: TaskInput,
        never: str | None = None,
    ) -> None:
        """Start a queue visit (arrival or transfer)."""
        t.state = next_task_state(t.state, how)
        t.home = q
        t.visit += 1
        t.entered = now
        if how is _I_TRANSFER:  # a fresh _TaskRec already has these values
            t.steps = 0
            t.boost = 0
            t.cap = None
            t.alts = {}
            t.overflow = []
            t.declined = {never} if never else None
            t.timed_out = False
            t.ann_pos = 0
            t.hcls = None
            t.listings = None
            t.public = False
            t.pref = None
        cfg = q.cfg
        t.neg_prio = -(cfg.priority + t.task.priority)
        q.tasks[t.id] = t
        q.count += 1
        self._line_add(t)
        pos = self._new_position(t)
        data: dict[str, Any] = {"channel": t.channel, "priority": -t.neg_prio, "position": pos}
        if t.task.attributes:
            data["attributes"] = dict(t.task.attributes)
        if how is _I_TRANSFER:
            data["transfer"] = True
        out.append(LogEvent(now, K_ENTERQUEUE, t.id, q.name, None, data))
        if cfg.max_wait_seconds is not None:
            self._timer(now + cfg.max_wait_seconds, _T_MAXWAIT, t, (t.visit, t.esc_gen))
        if cfg.escalation:
            self._timer(now + cfg.escalation[0].after_seconds, _T_ESC, t, (t.visit, t.esc_gen))
        wait = cfg.delay_seconds
        if (
            pref is not None
            and pref_wait > 0
            and pref.presence is not _LOGGED_OUT
            and pref.cap.get(t.channel, 0) > 0
        ):
            t.pref = pref
            wait = max(wait, pref_wait)
        if wait > 0:
            if wait != math.inf:
                self._timer(now + wait, _T_LIST, t, t.visit)
            if t.pref is not None:
                self._queue_pref(t)
            self._try_task(t, now, out)
        else:
            self._make_public(t, now, out)
        if t.state is _WAITING:
            if cfg.leave_when_empty is not _EP_ALWAYS:
                self._empty_check[q.name] = q
            if t.channel == VOICE:
                t.ann_pos = pos
                out.append(AnnouncePosition(t.id, q.name, pos, self._ewt(q, pos, VOICE)))
                if cfg.announce_interval_seconds > 0 and q.ann_at is None:
                    q.ann_at = now + cfg.announce_interval_seconds
                    self._timer(q.ann_at, _T_ANNOUNCE, q, q.ann_at)

    def _make_public(self, t: _TaskRec, now: float, out: list[Output]) -> None:
        """Rule Q2: the task now competes for every qualified agent."""
        t.public = True
        t.pref = None
        if t.state is not _WAITING:
            return
        self._delist(t)
        if t.listings is None:
            t.listings = self._compute_listings(t, now)
        self._try_task(t, now, out)
        if t.state is _WAITING:
            self._push_listings(t)

    def _end_pref_window(self, t: _TaskRec, now: float, out: list[Output]) -> None:
        """The preferred wait is over (timer) or its agent logged out."""
        if t.public:
            return
        delay_end = t.entered + t.home.cfg.delay_seconds
        if delay_end > now:
            t.pref = None
            if t.state is _WAITING:
                self._delist(t)
            self._timer(delay_end, _T_LIST, t, t.visit)
        else:
            self._make_public(t, now, out)

    def _queue_pref(self, t: _TaskRec) -> None:
        pa = t.pref
        assert pa is not None
        t.queued = True
        if len(pa.pref) > 16:
            pa.pref = [x for x in pa.pref if x.pref is pa and x.queued and x.state is _WAITING]
        if t not in pa.pref:
            pa.pref.append(t)

    def _compute_listings(self, t: _TaskRec, now: float) -> list[_Class]:
        res = [self._home_class(t, now)]
        for name in t.overflow:
            q2 = self._queues.get(name)
            if q2 is None or q2 is t.home or t.channel not in q2.cfg.channels:
                continue
            res.append(self._class_for(q2, t, now))
        return res

    def _home_class(self, t: _TaskRec, now: float) -> _Class:
        c = t.hcls
        if c is not None and not c.dead:
            return c
        q = t.home
        if t.cap is None and not t.alts:  # no escalation yet: cache by task skills
            key = (t.channel, tuple(t.task.skills.items()))
            c = q.fresh.get(key)
            if c is None or c.dead:
                if len(q.fresh) > 4096:
                    q.fresh.clear()
                c = q.fresh[key] = self._class_for(q, t, now)
        else:
            c = self._class_for(q, t, now)
        t.hcls = c
        return c

    def _requirement(self, q: _QueueRec, t: _TaskRec) -> Req:
        tsk = t.task.skills
        cap = t.cap
        if not tsk and cap is None and not t.alts:
            return q.base_req
        base = dict(q.cfg.skills)
        for s, lvl in tsk.items():
            if lvl > base.get(s, 0):
                base[s] = lvl
        alts = dict(t.alts)
        if cap is not None:
            base = {s: min(lvl, cap) for s, lvl in base.items()}
            alts = {s: min(lvl, cap) for s, lvl in alts.items()}
        return (tuple(sorted(base.items())), *(((s, lvl),) for s, lvl in sorted(alts.items())))

    def _class_for(self, q: _QueueRec, t: _TaskRec, now: float) -> _Class:
        req = self._requirement(q, t)
        key = (t.channel, req)
        c = q.classes.get(key)
        if c is None:
            c = q.classes[key] = _Class(q, t.channel, req)
            for _, _, _, a in q.members.values():
                self._qualify(c, a, now, push=True)
        return c

    def _push_listings(self, t: _TaskRec) -> None:
        self._seq += 1
        e = (t.neg_prio, t.order, t.seq, self._seq, t.ver, t)
        lst = t.listings
        assert lst is not None
        for c in lst:
            h = c.tasks
            _push(h, e)
            c.live += 1
            if len(h) > 2 * c.live + 64:
                h[:] = [x for x in h if x[5].ver == x[4]]
                heapq.heapify(h)
            if c.protect is not None:
                o = c.oldest
                _push(o, (t.entered, self._seq, t.ver, t))
                if len(o) > 2 * c.live + 64:
                    o[:] = [x for x in o if x[3].ver == x[2]]
                    heapq.heapify(o)
        t.listed = True
        t.queued = True

    def _delist(self, t: _TaskRec) -> None:
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
                if c.protect is not None:
                    self._guard_dirty = True

    def _line_add(self, t: _TaskRec) -> None:
        line = t.home.line
        line[t.neg_prio] = line.get(t.neg_prio, 0) + 1

    def _line_remove(self, t: _TaskRec) -> None:
        line = t.home.line
        n = line[t.neg_prio] - 1
        if n:
            line[t.neg_prio] = n
        else:
            del line[t.neg_prio]

    def _new_position(self, t: _TaskRec) -> int:
        """Position of a task that just joined the back of its priority."""
        p = t.neg_prio
        return sum(c for k, c in t.home.line.items() if k <= p)

    def _position(self, t: _TaskRec) -> int:
        """Exact position in line (O(n)); 1 = next."""
        key = (t.neg_prio, t.order, t.seq)
        return 1 + sum(
            1
            for u in t.home.tasks.values()
            if u.state is _WAITING and (u.neg_prio, u.order, u.seq) < key
        )

    def _ewt(self, q: _QueueRec, pos: int, channel: str) -> float | None:
        if q.aht is None:
            return None
        slots = q.staffed.get(channel, 0)
        if slots <= 0:
            return None
        return pos * q.aht / slots

    def _announce(self, q: _QueueRec, now: float, out: list[Output]) -> None:
        """Batch position update for a queue's voice callers (rule: at most once
        per announce_interval_seconds, and only to callers whose position moved)."""
        line = sorted(
            (t for t in q.tasks.values() if t.state is _WAITING),
            key=lambda t: (t.neg_prio, t.order, t.seq),
        )
        voice = False
        for i, t in enumerate(line, 1):
            if t.channel == VOICE:
                voice = True
                if t.ann_pos != i:
                    t.ann_pos = i
                    out.append(AnnouncePosition(t.id, q.name, i, self._ewt(q, i, VOICE)))
        iv = q.cfg.announce_interval_seconds
        if voice and iv > 0 and not q.retired:
            q.ann_at = now + iv
            self._timer(q.ann_at, _T_ANNOUNCE, q, q.ann_at)

    def _try_task(self, t: _TaskRec, now: float, out: list[Output]) -> None:
        """Rule M2, task side: give a WAITING task to the best able agent."""
        if t.state is not _WAITING:
            return
        declined = t.declined
        if not t.public:
            pa = t.pref
            if (
                pa is not None
                and (declined is None or pa.id not in declined)
                and self._able(pa, t.channel, now)
            ):
                self._offer(t, (pa,), now, out)
                self._dispatch_agent(pa, now, out)
            return
        lst = t.listings
        assert lst is not None
        for c in lst:
            if c.q.strategy is _S_RINGALL:
                agents = self._pick_all(c, now, declined)
            else:
                a = self._pick(c, now, declined)
                agents = (a,) if a is not None else ()
            if agents:
                self._offer(t, agents, now, out)
                for a in agents:
                    self._dispatch_agent(a, now, out)
                return

    def _offer(
        self, t: _TaskRec, agents: Iterable[_AgentRec], now: float, out: list[Output]
    ) -> None:
        q = t.home
        tmo = q.cfg.offer_timeout_seconds
        deadline = now + tmo if tmo is not None else None
        if t.state is _WAITING:
            self._line_remove(t)
        t.state = next_task_state(t.state, _I_OFFER)
        self._delist(t)
        ch = t.channel
        for a in agents:
            self._offer_seq += 1
            oid = f"o{self._offer_seq}"
            o = _OfferRec(oid, t, a, deadline)
            t.offers[oid] = o
            a.offers[oid] = o
            self._offers[oid] = o
            a.load[ch] = a.load.get(ch, 0) + 1
            if ch != VOICE:
                a.text_load += 1
            a.stamp += 1
            if deadline is not None:
                self._seq += 1  # self._timer, inlined on this hot path
                _push(self._timers, (deadline, self._seq, _T_OFFER, o, None))
            out.append(Offer(oid, t.id, a.id, ch, q.name, deadline))
            out.append(LogEvent(now, K_OFFER, t.id, q.name, a.id, {"offer": oid}))
            self._dirty[a.id] = a  # _touch, inlined on this hot path

    def _drop_offer(self, o: _OfferRec) -> None:
        o.live = False
        del self._offers[o.id]
        del o.task.offers[o.id]
        del o.agent.offers[o.id]

    def _release(self, a: _AgentRec, ch: str) -> None:
        a.load[ch] -= 1
        if ch != VOICE:
            a.text_load -= 1
        a.stamp += 1

    def _decline(self, t: _TaskRec, a: _AgentRec) -> None:
        if t.declined is None:
            t.declined = {a.id}
        else:
            t.declined.add(a.id)

    def _withdraw_all(
        self, t: _TaskRec, reason: str, now: float, out: list[Output]
    ) -> list[_AgentRec]:
        freed = []
        for o in list(t.offers.values()):
            a = o.agent
            self._drop_offer(o)
            self._release(a, t.channel)
            out.append(WithdrawOffer(o.id, t.id, a.id, reason))
            out.append(LogEvent(now, K_RINGCANCELED, t.id, t.home.name, a.id, {"offer": o.id}))
            self._touch(a)
            freed.append(a)
        return freed

    def _offer_timeout(self, o: _OfferRec, now: float, out: list[Output]) -> None:
        t, a = o.task, o.agent
        self._drop_offer(o)
        self._release(a, t.channel)
        q = t.home
        out.append(WithdrawOffer(o.id, t.id, a.id, WITHDRAW_TIMEOUT))
        out.append(LogEvent(now, K_RINGNOANSWER, t.id, q.name, a.id, {"offer": o.id}))
        self._decline(t, a)
        a.missed += 1
        n = q.cfg.missed_offers_before_not_ready
        if n and a.missed >= n and a.presence is _READY:
            self._set_presence(a, _PI_SET_NOT_READY, "missed offers", now, out)
        self._touch(a)
        if not t.offers:
            self._offer_failed(t, now, out)
        self._dispatch_agent(a, now, out)

    def _offer_failed(self, t: _TaskRec, now: float, out: list[Output]) -> None:
        """Last live offer gone: back to the original place in line (rule O1)."""
        t.state = next_task_state(t.state, _I_OFFER_FAILED)
        self._line_add(t)
        if t.timed_out:
            self._leave(t, LEAVE_TIMEOUT, now, out)
            return
        if t.public:
            if t.listings is None or any(c.dead for c in t.listings):
                t.listings = self._compute_listings(t, now)
            self._try_task(t, now, out)
            if t.state is _WAITING:
                self._push_listings(t)
        else:
            if t.pref is not None:
                self._queue_pref(t)
            self._try_task(t, now, out)

    def _remove_from_queue(self, t: _TaskRec, how: TaskInput) -> None:
        q = t.home
        if t.state is _WAITING:
            self._line_remove(t)
        self._delist(t)
        t.state = next_task_state(t.state, how)
        del q.tasks[t.id]
        q.count -= 1
        del self._tasks[t.id]

    def _leave(self, t: _TaskRec, reason: str, now: float, out: list[Output]) -> None:
        q = t.home
        pos = self._position(t)
        self._remove_from_queue(t, _I_LEAVE)
        kind = K_EXITWITHTIMEOUT if reason == LEAVE_TIMEOUT else K_EXITEMPTY
        out.append(LeaveQueue(t.id, q.name, reason))
        out.append(
            LogEvent(now, kind, t.id, q.name, None, {"wait": now - t.entered, "position": pos})
        )

    def _end_connected(self, t: _TaskRec, now: float, out: list[Output], by: str) -> None:
        a = t.agent
        assert a is not None
        talk = now - t.connected_at
        kind = K_COMPLETECALLER if by == "caller" else K_COMPLETEAGENT
        q = t.home
        out.append(
            LogEvent(
                now, kind, t.id, q.name, a.id, {"wait": t.connected_at - t.entered, "talk": talk}
            )
        )
        t.state = next_task_state(t.state, _I_END)
        del self._tasks[t.id]
        del a.connected[t.id]
        t.agent = None
        self._start_wrap(a, t.id, q, t.channel, talk, now, out)

    def _escalate(self, t: _TaskRec, now: float, out: list[Output]) -> None:
        steps = t.home.cfg.escalation
        k = t.steps
        if k >= len(steps):
            return
        if t.state is _WAITING:
            self._delist(t)  # its classes may change
        self._apply_step(t, k, now, out, emit=True)
        if k + 1 < len(steps):
            self._timer(t.entered + steps[k + 1].after_seconds, _T_ESC, t, (t.visit, t.esc_gen))
        self._relist(t, now, out)

    def _apply_step(self, t: _TaskRec, k: int, now: float, out: list[Output], emit: bool) -> None:
        q = t.home
        step = q.cfg.escalation[k]
        t.steps = k + 1
        if step.min_level is not None:
            t.cap = step.min_level if t.cap is None else min(t.cap, step.min_level)
        for s, lvl in step.add_skills.items():
            t.alts[s] = min(t.alts.get(s, lvl), lvl)
        if step.priority_boost:
            self._set_prio(t, t.neg_prio - step.priority_boost)
            t.boost += step.priority_boost
        if step.overflow_queue and step.overflow_queue not in t.overflow:
            t.overflow.append(step.overflow_queue)
        assert not t.listed, "delist before changing a task's classes"
        t.hcls = None
        t.listings = None
        if emit:
            out.append(
                LogEvent(
                    now,
                    K_ESCALATE,
                    t.id,
                    q.name,
                    None,
                    {
                        "step": k,
                        "priority": -t.neg_prio,
                        "overflow": step.overflow_queue,
                        "action": step.action,
                    },
                )
            )
            if step.action is not None:
                out.append(EscalationAction(t.id, q.name, str(step.action), step.overflow_queue, k))

    def _set_prio(self, t: _TaskRec, neg_prio: int) -> None:
        if t.state is _WAITING:
            self._line_remove(t)
            t.neg_prio = neg_prio
            self._line_add(t)
        else:
            t.neg_prio = neg_prio

    def _relist(self, t: _TaskRec, now: float, out: list[Output]) -> None:
        """Re-index a WAITING task after its requirement or priority changed."""
        if t.state is not _WAITING:
            return
        self._delist(t)
        if t.public:
            t.listings = self._compute_listings(t, now)
            self._try_task(t, now, out)
            if t.state is _WAITING:
                self._push_listings(t)
        elif t.pref is not None:
            self._queue_pref(t)
            self._try_task(t, now, out)

    def _check_leave_empty(self, q: _QueueRec, now: float, out: list[Output]) -> None:
        pol = q.cfg.leave_when_empty
        if pol is _EP_ALWAYS or not q.tasks:
            return
        memo: dict[int, bool] = {}
        for t in list(q.tasks.values()):
            if t.state is not _WAITING:
                continue
            c = self._home_class(t, now)
            empty = memo.get(id(c))
            if empty is None:
                empty = memo[id(c)] = self._is_empty(c, pol)
            if empty:
                self._leave(t, LEAVE_EMPTY, now, out)

    def _is_empty(self, c: _Class, pol: EmptyPolicy) -> bool:
        if pol is _EP_NO_AGENTS_LOGGED_IN:
            return not c.qualified
        if pol is _EP_NO_AGENTS_AVAILABLE:
            return not any(a.presence is _READY for a in c.qualified.values())
        return False

    # ============================================================ internals: agents

    def _touch(self, a: _AgentRec) -> None:
        """Note that the agent's summary state may have changed; it is computed
        once per input (``_flush_states``) so transient states are not reported."""
        self._dirty[a.id] = a

    def _flush_states(self, now: float, out: list[Output]) -> None:
        dirty = self._dirty
        for a in dirty.values():
            s = summary_state(a.presence, len(a.offers), len(a.connected), len(a.wraps))
            r = a.reason if s is _AS_NOT_READY else None
            if s is not a.state or r != a.sreason:
                a.state = s
                a.sreason = r
                out.append(AgentStateChanged(now, a.id, s, r))
        dirty.clear()

    def _set_presence(
        self, a: _AgentRec, inp: PresenceInput, reason: str | None, now: float, out: list[Output]
    ) -> None:
        new = next_presence(a.presence, inp)
        if new is None:
            return
        old = a.presence
        if new is _READY:
            if old is _READY:
                return
            a.reason = None
            a.missed = 0
            self._staff(a, 1)
            out.append(LogEvent(now, K_UNPAUSE, None, None, a.id, {}))
        else:
            if old is _READY:
                self._staff(a, -1)
            a.reason = reason or "not ready"
            out.append(LogEvent(now, K_PAUSE, None, None, a.id, {"reason": a.reason}))
            for name in a.cfg.queues:
                q = self._queues.get(name)
                if q is not None and q.cfg.leave_when_empty is not _EP_ALWAYS:
                    self._empty_check[name] = q
        a.presence = new
        self._touch(a)

    def _staff(self, a: _AgentRec, sign: int) -> None:
        for name in a.cfg.queues:
            q = self._queues.get(name)
            if q is not None and a.id in q.members:
                self._staff_queue(q, a, sign)

    def _staff_queue(self, q: _QueueRec, a: _AgentRec, sign: int) -> None:
        st = q.staffed
        for ch, n in a.cap.items():
            if ch in q.cfg.channels:
                st[ch] = st.get(ch, 0) + sign * n

    def _index_agent(self, a: _AgentRec, now: float) -> None:
        a.cls_by_ch = {}
        a.protect = []
        a.stamp += 1
        for name, m in a.cfg.queues.items():
            q = self._queues.get(name)
            if q is not None:
                self._join(q, a, m, now)

    def _join(self, q: _QueueRec, a: _AgentRec, m: Any, now: float) -> None:
        pos = m.position
        if pos is None:
            pos = q.positions.get(a.id)
            if pos is None:
                q.next_pos += 1
                pos = q.next_pos
        q.positions[a.id] = pos
        q.members[a.id] = (m.penalty, m.weight, pos, a)
        for c in q.classes.values():
            self._qualify(c, a, now, push=False)

    def _qualify(self, c: _Class, a: _AgentRec, now: float, push: bool) -> None:
        if a.cap.get(c.channel, 0) <= 0 or not qualifies(a.skills, c.req):
            return
        c.qualified[a.id] = a
        a.cls_by_ch.setdefault(c.channel, []).append(c)
        if c.protect is not None:
            a.protect.append(c)
        if c.q.strategy is _S_SKILL:
            sk = a.skills
            c.scores[a.id] = max(
                sum(sk.get(s, 0) for s, _ in alt) for alt in c.req if qualifies(sk, (alt,))
            )
        if push and self._able(a, c.channel, now):
            self._push_agent(c, a, now)

    def _unindex_agent(self, a: _AgentRec) -> list[_QueueRec]:
        for lst in a.cls_by_ch.values():
            for c in lst:
                c.qualified.pop(a.id, None)
                c.scores.pop(a.id, None)
        a.cls_by_ch = {}
        a.protect = []
        a.stamp += 1
        self._guard_waiters.pop(a.id, None)
        left = []
        for q in self._queues.values():
            if q.members.pop(a.id, None) is not None:
                left.append(q)
        return left

    def _able(self, a: _AgentRec, ch: str, now: float) -> bool:
        """Rule A3."""
        if a.presence is not _READY:
            return False
        if a.load.get(ch, 0) >= a.cap.get(ch, 0):
            return False
        if ch == VOICE:
            return not a.text_load or a.vwc
        if a.load.get(VOICE, 0) and not a.cwv:
            return False
        if a.protect and self._guarded(a, now):
            self._guard_waiters[a.id] = a
            return False
        return True

    def _guarded(self, a: _AgentRec, now: float) -> bool:
        """Rule B1: a listed voice task the agent qualifies for waited too long."""
        for c in a.protect:
            o = c.oldest
            while o:
                e = o[0]
                if e[3].ver != e[2]:
                    _pop(o)
                    continue
                if now - e[0] >= c.protect:
                    return True
                break
        return False

    def _dispatch_agent(self, a: _AgentRec, now: float, out: list[Output]) -> None:
        """Rule M2, agent side: give the agent the best tasks it may take,
        then (if still able) put it in the pools of its classes."""
        aid = a.id
        while a.presence is _READY:
            best = None
            best_c: _Class | None = None
            able: list[list[_Class]] = []
            for ch, classes in a.cls_by_ch.items():
                if not self._able(a, ch, now):
                    continue
                able.append(classes)
                for c in classes:
                    h = c.tasks
                    if not h:
                        continue
                    e = h[0]
                    # Heap order: if the head is not better than `best`, no live
                    # entry below it is either, stale or not.
                    if best is not None and not e < best:
                        continue
                    t = e[5]
                    if t.ver != e[4] or (t.declined is not None and aid in t.declined):
                        e = self._first_for(c, aid)
                        if e is None or (best is not None and not e < best):
                            continue
                    best = e
                    best_c = c
            if a.pref:
                pb = self._best_pref(a, best, now)
                if pb is not best:  # a task reserved for this agent wins
                    best, best_c = pb, None
            if best is None:
                a.stamp += 1  # entries from before are stale; re-pool where able
                for classes in able:
                    for c in classes:
                        self._push_agent(c, a, now)
                return
            if best_c is not None:
                h = best_c.tasks
                if h and h[0] is best:
                    _pop(h)  # would be stale after the offer: drop it now
                if best_c.q.strategy is _S_RR:
                    self._rr_note(best_c.q, best_c.q.members[aid][2])
            self._offer(best[5], (a,), now, out)

    def _rr_note(self, q: _QueueRec, pos: int) -> None:
        """Round-robin memory after an agent-side offer (the agent took the
        next task). Moving back starts a new round, so pool entries keyed
        against the old (round, last) are re-keyed when they surface."""
        if pos <= q.rr_last:
            q.rr_round += 1
        q.rr_last = pos

    def _best_pref(self, a: _AgentRec, best: Any, now: float) -> Any:
        keep = []
        for t in a.pref:
            if t.pref is not a or not t.queued or t.state is not _WAITING:
                continue
            keep.append(t)
            d = t.declined
            if (d is not None and a.id in d) or not self._able(a, t.channel, now):
                continue
            e = (t.neg_prio, t.order, t.seq, 0, t.ver, t)
            if best is None or e < best:
                best = e
        a.pref = keep
        return best

    def _first_for(self, c: _Class, aid: str) -> Any:
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
        return res

    def _push_agent(self, c: _Class, a: _AgentRec, now: float) -> None:
        q = c.q
        pen, weight, pos, _ = q.members[a.id]
        load = a.load.get(c.channel, 0)
        s = q.strategy
        self._seq += 1
        uid = self._seq
        if s is _S_IDLE or s is _S_RINGALL:
            e: tuple[Any, ...] = (pen, load, a.idle_since, uid, a.stamp, a)
        elif s is _S_RR:
            r = q.rr_round if pos > q.rr_last else q.rr_round + 1
            e = (pen, load, r, pos, uid, a.stamp, a)
        elif s is _S_FEWEST:
            e = (pen, load, a.answered, a.idle_since, uid, a.stamp, a)
        elif s is _S_SKILL:
            e = (pen, load, -c.scores.get(a.id, 0), a.idle_since, uid, a.stamp, a)
        elif s is _S_LINEAR:
            e = (pen, load, pos, uid, a.stamp, a)
        else:  # random / weighted_random: an exponential race (see README)
            rate = weight if s is _S_WRANDOM else 1.0
            e = (
                pen,
                load,
                c.clock.get((pen, load), 0.0) + self._rng.expovariate(rate),
                uid,
                a.stamp,
                a,
            )
        h = c.agents
        _push(h, e)
        if len(h) > 2 * len(c.qualified) + 64:
            h[:] = [x for x in h if x[-1].stamp == x[-2] and x[-1].id in c.qualified]
            heapq.heapify(h)

    def _pick(self, c: _Class, now: float, declined: set[str] | None) -> _AgentRec | None:
        h = c.agents
        ch = c.channel
        q = c.q
        rr = q.strategy is _S_RR
        skipped = None
        res = None
        while h:
            e = h[0]
            a = e[-1]
            if e[-2] != a.stamp or a.id not in c.qualified or not self._able(a, ch, now):
                _pop(h)
                continue
            if declined is not None and a.id in declined:
                if skipped is None:
                    skipped = []
                skipped.append(_pop(h))
                continue
            if rr and (e[2] < q.rr_round or (e[2] == q.rr_round and e[3] <= q.rr_last)):
                # keyed against an older (round, last): re-key against the current one
                _pop(h)
                r = q.rr_round if e[3] > q.rr_last else q.rr_round + 1
                self._seq += 1
                _push(h, (e[0], e[1], r, e[3], self._seq, e[5], a))
                continue
            res = _pop(h)
            break
        if skipped:
            for e in skipped:
                _push(h, e)
        if res is None:
            return None
        s = q.strategy
        if rr:
            q.rr_round, q.rr_last = res[2], res[3]
        elif s is _S_RANDOM or s is _S_WRANDOM:
            c.clock[(res[0], res[1])] = res[2]
        return res[-1]

    def _pick_all(self, c: _Class, now: float, declined: set[str] | None) -> list[_AgentRec]:
        """ring_all: every able qualified agent of the best penalty tier."""
        h = c.agents
        ch = c.channel
        res: list[_AgentRec] = []
        seen: set[str] = set()
        skipped = []
        tier = None
        while h:
            e = h[0]
            a = e[-1]
            if e[-2] != a.stamp or a.id not in c.qualified or not self._able(a, ch, now):
                _pop(h)
                continue
            if tier is None:
                tier = e[0]
            elif e[0] != tier:
                break
            _pop(h)
            if declined is not None and a.id in declined:
                skipped.append(e)
            elif a.id not in seen:
                seen.add(a.id)
                res.append(a)
        for e in skipped:
            _push(h, e)
        return res

    def _start_wrap(
        self,
        a: _AgentRec,
        task_id: str,
        q: _QueueRec,
        ch: str,
        talk: float,
        now: float,
        out: list[Output],
    ) -> None:
        ws = q.cfg.wrapup_seconds
        if ws > 0:
            w = a.wraps[task_id] = _Wrap(a, task_id, q, ch, now, talk)
            self._timer(now + ws, _T_WRAP, w, None)
            self._touch(a)
        else:
            self._wrap_ended(a, task_id, q, ch, 0.0, talk, now, out)
            self._dispatch_agent(a, now, out)

    def _finish_wrap(self, a: _AgentRec, w: _Wrap, now: float, out: list[Output]) -> None:
        w.live = False
        a.wraps.pop(w.task_id, None)
        self._wrap_ended(a, w.task_id, w.queue, w.channel, now - w.start, w.talk, now, out)

    def _wrap_ended(
        self,
        a: _AgentRec,
        task_id: str,
        q: _QueueRec,
        ch: str,
        dur: float,
        talk: float,
        now: float,
        out: list[Output],
    ) -> None:
        self._release(a, ch)
        out.append(LogEvent(now, K_WRAPUP, task_id, q.name, a.id, {"seconds": dur, "talk": talk}))
        sample = talk + dur
        q.aht = sample if q.aht is None else q.aht + _AHT_ALPHA * (sample - q.aht)
        a.idle_since = now
        if a.cfg.after_wrapup == "not_ready" and a.presence is _READY:
            self._set_presence(a, _PI_SET_NOT_READY, "after wrap-up", now, out)
        self._dirty[a.id] = a  # _touch, inlined on this hot path

    # ============================================================ internals: reload

    def _rebuild(self, changed: list[_QueueRec], now: float, out: list[Output]) -> None:
        for q in changed:
            q.staffed = {}
            for _, _, _, a in q.members.values():
                if a.presence is _READY:
                    self._staff_queue(q, a, 1)
            for c in q.classes.values():
                c.dead = True
                for a in c.qualified.values():
                    lst = a.cls_by_ch.get(c.channel)
                    if lst is not None and c in lst:
                        lst.remove(c)
                    if c in a.protect:
                        a.protect.remove(c)
                    a.stamp += 1
            q.classes = {}
            q.fresh = {}
        names = {q.name for q in changed}
        for t in list(self._tasks.values()):
            if t.state is not _WAITING and t.state is not _OFFERED:
                continue
            touched = t.home.name in names or any(n in names for n in t.overflow)
            if not touched:
                continue
            if t.state is _WAITING:
                self._delist(t)
            t.hcls = None
            t.listings = None
            if t.home.name in names:
                self._refold(t, now)
        self._guard_dirty = True
        for t in list(self._tasks.values()):
            if t.state is _WAITING and not t.queued:
                if t.public:
                    self._relist(t, now, out)
                elif t.pref is not None:
                    self._queue_pref(t)
                    self._try_task(t, now, out)

    def _refold(self, t: _TaskRec, now: float) -> None:
        """Re-derive escalation state from the (new) queue definition."""
        q = t.home
        cfg = q.cfg
        t.cap = None
        t.alts = {}
        t.overflow = []
        t.boost = 0
        self._set_prio(t, -(cfg.priority + t.task.priority))
        t.esc_gen += 1
        waited = now - t.entered
        steps = cfg.escalation
        k = 0
        while k < len(steps) and steps[k].after_seconds <= waited:
            self._apply_step(t, k, now, [], emit=False)
            k += 1
        t.steps = k
        if k < len(steps):
            self._timer(t.entered + steps[k].after_seconds, _T_ESC, t, (t.visit, t.esc_gen))
        if cfg.max_wait_seconds is not None and not t.timed_out:
            self._timer(t.entered + cfg.max_wait_seconds, _T_MAXWAIT, t, (t.visit, t.esc_gen))
        if not t.public:
            list_at = t.entered + cfg.delay_seconds
            if t.pref is None:
                self._timer(list_at, _T_LIST, t, t.visit)

    def _view_task(self, t: _TaskRec, pos: int | None) -> WaitingTask:
        q = t.home
        lst = t.listings if t.listed and t.listings is not None else []
        return WaitingTask(
            t.id,
            q.name,
            t.channel,
            t.state,
            -t.neg_prio,
            pos,
            self._ewt(q, pos, t.channel) if pos is not None else None,
            self._now - t.entered,
            t.listed,
            t.pref.id if (t.pref is not None and not t.public) else None,
            tuple((c.q.name, c.req) for c in lst),
            frozenset(t.declined or ()),
            t.order,
        )
