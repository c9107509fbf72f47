"""The ACD engine: the one way in. Feed it inputs with ``now``; act on what it returns.

Each public input method checks its arguments, runs due deadlines (rule T2),
hands the work to the module that owns it and finishes the input (queues
left empty, agents held by the blend guard, summary states, rule A2):

* ``_state.py``: the rules, their tables and predicates;
* ``tasks.py`` / ``agents.py``: task and agent transitions;
* ``routing.py``: matching (M2, M3), with ``strategies.py`` for the order of
  agents (O2) and ``indexes.py`` for the heaps that make it O(log n);
* ``timers.py``: the deadline heap; ``reload.py``: live queue reload;
* ``views.py``: what the queries return.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from heapq import heappop

from ._state import (
    ARRIVE,
    CONNECTED,
    EP_ALWAYS,
    LOGGED_OUT,
    OFFERED,
    READY,
    REFUSE,
    WAITING,
    PresenceInput,
    TaskState,
    next_presence,
    next_task_state,
    qualifies,
    queue_empty,
    requirement,
)
from .agents import finish_wrap, flush_states, resume_wrap, set_presence
from .events import (
    K_AGENTLOGIN,
    K_AGENTLOGOFF,
    K_CONFIGRELOAD,
    K_FULL,
    K_JOINEMPTY,
    K_REFUSED,
    REFUSE_CHANNEL,
    REFUSE_EMPTY,
    REFUSE_FULL,
    REFUSE_UNKNOWN_QUEUE,
    WITHDRAW_AGENT_LOGGED_OUT,
    Ignored,
    LogEvent,
    Output,
    RejectArrival,
)
from .indexes import expected_wait, home_class, index_agent, position, staff, unindex_agent
from .model import VOICE, Agent, OwedWrapup, Queue, Task
from .records import AgentRec, Core, QueueRec, TaskRec
from .reload import apply_definitions, rebuild
from .routing import dispatch_agent
from .tasks import (
    abandon,
    check_leave_empty,
    connect,
    end_connected,
    end_pref_window,
    enter,
    forget_declines,
    offer_failed,
    offer_timeout,
    reject,
    task_due,
    transfer_out,
    withdraw,
)
from .timers import (
    T_OFFER,
    T_REOFFER,
    T_TASK,
    T_WRAP,
    is_live,
    next_deadline,
    schedule,
)
from .views import AgentView, WaitingTask, agent_view, has_eligible, line_views, task_view


class AcdError(ValueError):
    """A programming error by the caller (duplicate task id, bad argument)."""


class Engine:
    """The queue engine. Feed it inputs with ``now``; act on what it returns.

    ``rng`` drives the ``random`` and ``weighted_random`` strategies; pass a
    seeded ``random.Random`` (the default is ``Random(0)``) so runs replay.
    """

    def __init__(self, queues: Iterable[Queue] = (), rng: random.Random | None = None):
        self._core = core = Core(rng if rng is not None else random.Random(0))
        for q in queues:
            if q.name in core.queues:
                raise AcdError(f"duplicate queue {q.name!r}")
            core.queues[q.name] = QueueRec(q)

    # ============================================================ inputs

    def advance(self, now: float) -> list[Output]:
        """Fire every deadline ``<= now`` (rule T2); see ``next_deadline``."""
        now, out = self._begin(now)
        return self._end(now, out)

    def next_deadline(self) -> float | None:
        """When ``advance`` should be called next (``None``: nothing pending)."""
        return next_deadline(self._core.timers)

    def task_arrived(self, task: Task, now: float) -> list[Output]:
        """A task asks for a person: queue it (or refuse it) and route it."""
        now, out = self._begin(now)
        core = self._core
        if task.id in core.tasks:
            raise AcdError(f"task {task.id!r} is already in the engine")
        q = core.queues.get(task.queue)
        reason = None
        if q is None or q.retired:
            reason, kind = REFUSE_UNKNOWN_QUEUE, K_REFUSED
        elif task.channel not in q.cfg.channels:
            reason, kind = REFUSE_CHANNEL, K_REFUSED
        elif q.cfg.max_length and q.count >= q.cfg.max_length:
            reason, kind = REFUSE_FULL, K_FULL
        core.seq += 1
        t = TaskRec(task, task.arrival if task.arrival is not None else now, core.seq)
        if reason is None and q is not None and q.cfg.join_empty is not EP_ALWAYS:
            t.home = q
            if queue_empty(home_class(core, t, now).qualified, q.cfg.join_empty):  # rule Q5
                reason, kind = REFUSE_EMPTY, K_JOINEMPTY
        if reason is not None:
            t.state = next_task_state(t.state, REFUSE)
            out.append(RejectArrival(task.id, task.queue, reason, task.channel))
            out.append(LogEvent(now, kind, task.id, task.queue, None, {"reason": reason}))
            return self._end(now, out)
        assert q is not None
        core.tasks[task.id] = t
        pa = core.agents.get(task.preferred_agent) if task.preferred_agent else None
        enter(core, t, q, now, out, pa, task.preferred_wait_seconds, ARRIVE)
        return self._end(now, out)

    def task_cancelled(self, task_id: str, now: float, reason: str = "abandon") -> list[Output]:
        """The customer left before being connected (abandon). On a connected
        task this is the same as ``task_ended(by="caller")``."""
        now, out = self._begin(now)
        core = self._core
        t = core.tasks.get(task_id)
        if t is None:
            out.append(Ignored("task_cancelled", task_id, "unknown task"))
        elif t.state is CONNECTED:
            end_connected(core, t, now, out, "caller")
        else:
            for a in abandon(core, t, reason, now, out):
                dispatch_agent(core, a, now, out)
        return self._end(now, out)

    def task_ended(self, task_id: str, now: float, by: str = "agent") -> list[Output]:
        """The conversation is over (``by``: "agent" or "caller"); wrap-up starts."""
        now, out = self._begin(now)
        t = self._core.tasks.get(task_id)
        if t is None or t.state is not CONNECTED:
            out.append(Ignored("task_ended", task_id, "task is not connected"))
        else:
            end_connected(self._core, t, now, out, by)
        return self._end(now, out)

    def offer_accepted(self, offer_id: str, now: float) -> list[Output]:
        """The agent took the offer: connect; withdraw ring_all siblings."""
        now, out = self._begin(now)
        o = self._core.offers.get(offer_id)
        if o is None:
            out.append(Ignored("offer_accepted", offer_id, "offer is no longer live"))
        else:
            connect(self._core, o, now, out)
        return self._end(now, out)

    def offer_rejected(self, offer_id: str, now: float) -> list[Output]:
        """The agent declined: the task goes back to its original place."""
        now, out = self._begin(now)
        o = self._core.offers.get(offer_id)
        if o is None:
            out.append(Ignored("offer_rejected", offer_id, "offer is no longer live"))
        else:
            reject(self._core, o, now, out)
        return self._end(now, out)

    def agent_login(self, agent: Agent, now: float, ready: bool = True,
                    owed_wrapups: Iterable[OwedWrapup] = ()) -> list[Output]:
        """Log an agent in (ready or not ready) and give it work; ``owed_wrapups``
        (after a restart) hold their slots first (rule A6)."""
        now, out = self._begin(now)
        core = self._core
        a = core.agents.get(agent.id)
        if a is not None and a.presence is not LOGGED_OUT:
            out.append(Ignored("agent_login", agent.id, "already logged in"))
            return self._end(now, out)
        if a is None:
            a = core.agents[agent.id] = AgentRec(agent)
        else:
            a.set_cfg(agent)
        inp = PresenceInput.LOGIN_READY if ready else PresenceInput.LOGIN_NOT_READY
        a.presence = next_presence(a.presence, inp) or a.presence
        a.reason = None if ready else "login"
        a.idle_since = now
        a.missed = 0
        out.append(LogEvent(now, K_AGENTLOGIN, None, None, a.id, {"ready": ready}))
        index_agent(core, a, now)
        for owed in owed_wrapups:
            resume_wrap(core, a, owed, now, out)
        if a.presence is READY:
            staff(core, a, 1)
        core.dirty[a.id] = a
        dispatch_agent(core, a, now, out)
        return self._end(now, out)

    def agent_logout(self, agent_id: str, now: float) -> list[Output]:
        """Log out: pending offers are withdrawn (not held against the agent),
        connected tasks and wrap-ups run to their end, reserved tasks go public."""
        now, out = self._begin(now)
        core = self._core
        a = core.agents.get(agent_id)
        if a is None or a.presence is LOGGED_OUT:
            out.append(Ignored("agent_logout", agent_id, "not logged in"))
            return self._end(now, out)
        if a.presence is READY:
            staff(core, a, -1)
        a.presence = next_presence(a.presence, PresenceInput.LOGOUT) or LOGGED_OUT
        a.reason = None
        out.append(LogEvent(now, K_AGENTLOGOFF, None, None, a.id, {}))
        failed = []
        for o in list(a.offers.values()):
            withdraw(core, o, WITHDRAW_AGENT_LOGGED_OUT, now, out)
            if not o.task.offers:
                failed.append(o.task)
        queues = unindex_agent(core, a)
        for t in list(a.reserved):
            if t.reserved_for is a and t.state in (WAITING, OFFERED):
                end_pref_window(core, t, now, out)
        a.reserved.clear()
        for q in queues:
            core.empty_check[q.name] = q
        core.dirty[a.id] = a
        for t in failed:
            offer_failed(core, t, now, out)
        return self._end(now, out)

    def agent_set_state(
        self, agent_id: str, state: str, now: float, reason: str | None = None
    ) -> list[Output]:
        """Set presence "ready" or "not_ready" (with a reason); work in hand goes on."""
        if state not in ("ready", "not_ready"):  # before _begin, as in extend_wrapup
            raise AcdError(f"agent_set_state: state must be 'ready' or 'not_ready', not {state!r}")
        now, out = self._begin(now)
        core = self._core
        a = core.agents.get(agent_id)
        if a is None or a.presence is LOGGED_OUT:
            out.append(Ignored("agent_set_state", agent_id, "not logged in"))
            return self._end(now, out)
        inp = PresenceInput.SET_READY if state == "ready" else PresenceInput.SET_NOT_READY
        set_presence(core, a, inp, reason, now, out)
        core.dirty[a.id] = a
        dispatch_agent(core, a, now, out)
        return self._end(now, out)

    def wrapup_done(self, agent_id: str, now: float, task_id: str | None = None) -> list[Output]:
        """End the agent's wrap-up (of one task, or all) before its timer."""
        now, out = self._begin(now)
        a = self._core.agents.get(agent_id)
        wraps = [] if a is None else list(a.wraps.values())
        if task_id is not None:
            wraps = [w for w in wraps if w.task_id == task_id]
        if a is None or not wraps:
            out.append(Ignored("wrapup_done", agent_id, "no wrap-up running"))
            return self._end(now, out)
        for w in wraps:
            finish_wrap(self._core, a, w, now, out)
        dispatch_agent(self._core, a, now, out)
        return self._end(now, out)

    def extend_wrapup(self, agent_id: str, task_id: str, seconds: float,
                      now: float) -> list[Output]:
        """Give a running wrap-up ``seconds`` more before its timer ends it (rule A6)."""
        if seconds <= 0:  # before _begin: a refusal must not swallow the timers it fired
            raise AcdError(f"extend_wrapup: seconds must be > 0, not {seconds!r}")
        now, out = self._begin(now)
        a = self._core.agents.get(agent_id)
        w = a.wraps.get(task_id) if a is not None else None
        if w is None:
            out.append(Ignored("extend_wrapup", agent_id, "no such wrap-up running"))
        elif w.until is None:
            out.append(Ignored("extend_wrapup", agent_id, "wrap-up lasts until done"))
        else:
            w.until += seconds
            schedule(self._core, w.until, T_WRAP, w, w.until)
            self._core.dirty[a.id] = a
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
        core = self._core
        t = core.tasks.get(task_id)
        if t is None or t.state is not CONNECTED:
            out.append(Ignored("transfer", task_id, "task is not connected"))
            return self._end(now, out)
        q2 = core.queues.get(queue or t.home.name)
        if q2 is None or q2.retired or t.channel not in q2.cfg.channels:
            out.append(Ignored("transfer", task_id, "target queue cannot take this task"))
            return self._end(now, out)
        target = None
        if agent_id is not None:
            target = core.agents.get(agent_id)
            if (
                target is None
                or target.presence is LOGGED_OUT
                or target.capacity.get(t.channel, 0) <= 0
            ):
                out.append(Ignored("transfer", task_id, "target agent cannot take this task"))
                return self._end(now, out)
        transfer_out(core, t, q2, target, keep_position, now, out)
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
        core = self._core
        new = {}
        for q in queues:
            if q.name in new:
                raise AcdError(f"duplicate queue {q.name!r}")
            new[q.name] = q
        out.append(LogEvent(now, K_CONFIGRELOAD, None, None, None, {"queues": sorted(new)}))
        changed = apply_definitions(core, new, now)
        if changed:
            rebuild(core, changed, now, out)
            if core.timers and core.timers[0][0] <= now:
                _run_timers(core, now, out)
        for qr in core.queues.values():
            core.empty_check[qr.name] = qr
        for a in list(core.agents.values()):
            if a.presence is not LOGGED_OUT:
                dispatch_agent(core, a, now, out)
        return self._end(now, out)

    def update_agent(self, agent: Agent, now: float) -> list[Output]:
        """Replace a logged-in agent's skills, capacity, queues and rules.

        Its presence and the work it holds are kept; if the new capacity is
        below what it holds it simply gets nothing new until it is below.
        """
        now, out = self._begin(now)
        core = self._core
        a = core.agents.get(agent.id)
        if a is None or a.presence is LOGGED_OUT:
            out.append(Ignored("update_agent", agent.id, "not logged in"))
            return self._end(now, out)
        if a.presence is READY:
            staff(core, a, -1)
        old = unindex_agent(core, a)
        a.set_cfg(agent)
        index_agent(core, a, now)
        if a.presence is READY:
            staff(core, a, 1)
        for q in old:
            core.empty_check[q.name] = q
        for name in agent.queues:
            q = core.queues.get(name)
            if q is not None:
                core.empty_check[q.name] = q
        core.guard_dirty = True
        dispatch_agent(core, a, now, out)
        return self._end(now, out)

    def reset_daily_counters(self, now: float) -> list[Output]:
        """Zero "tasks answered today" (``fewest_tasks``); the app calls it at midnight."""
        now, out = self._begin(now)
        for a in self._core.agents.values():
            a.answered = 0
            if a.presence is not LOGGED_OUT:
                dispatch_agent(self._core, a, now, out)
        return self._end(now, out)

    # ============================================================ queries

    def waiting(self, queue: str | None = None) -> list[WaitingTask]:
        """Tasks in queue(s), in line order, with position and expected wait.

        O(n log n): for dashboards and adapters, not for the routing path.
        """
        core = self._core
        qs = [core.queues[queue]] if queue is not None else list(core.queues.values())
        return [v for q in qs for v in line_views(q, core.now)]

    def task(self, task_id: str) -> WaitingTask | None:
        """A task that is waiting or offered (``None`` otherwise)."""
        t = self._core.tasks.get(task_id)
        if t is None or t.state not in (WAITING, OFFERED):
            return None
        return task_view(t, position(t) if t.state is WAITING else None, self._core.now)

    def unserved(self, queue: str) -> int:
        """How many of the queue's waiting tasks no ready agent may take (none
        qualified and ready, or every one declined it: rules Q1, Q3)."""
        q = self._core.queues[queue]
        memo: dict[tuple[int, ...], bool] = {}
        return sum(1 for t in q.tasks.values()
                   if t.state is WAITING and not has_eligible(t, memo))

    def ready_agents(self, queue: str) -> int:
        """How many ready agents may take the queue's contacts: members with a slot for
        one of its channels who meet its own skill levels (rules A3, Q1; a contact's own
        skills and escalations aside)."""
        q = self._core.queues[queue]
        req = requirement(q.cfg.skills, {}, None, {})
        return sum(1 for *_, a in q.members.values()
                   if a.presence is READY and qualifies(a.skills, req)
                   and any(a.capacity.get(ch, 0) > 0 for ch in q.cfg.channels))

    def task_state(self, task_id: str) -> TaskState | None:
        t = self._core.tasks.get(task_id)
        return None if t is None else t.state

    def agent(self, agent_id: str) -> AgentView | None:
        a = self._core.agents.get(agent_id)
        return None if a is None else agent_view(a)

    def agents(self) -> list[AgentView]:
        return [agent_view(a) for a in self._core.agents.values()]

    def queue(self, name: str) -> Queue | None:
        q = self._core.queues.get(name)
        return None if q is None else q.cfg

    def queue_names(self, include_retired: bool = False) -> list[str]:
        return [n for n, q in self._core.queues.items() if include_retired or not q.retired]

    def expected_wait(self, queue: str, position: int, channel: str = VOICE) -> float | None:
        """Expected wait at ``position``: position x AHT / staffed slots.

        AHT is the queue's smoothed handle time (talk + wrap-up, app_queue's
        (3 x old + new) / 4); staffed slots are the channel capacities of the
        queue's members whose presence is ready (busy ones included: they come
        back). ``None`` before the first handled task or with nobody staffed.
        """
        return expected_wait(self._core.queues[queue], position, channel)

    # ============================================================ one input

    def _begin(self, now: float) -> tuple[float, list[Output]]:
        """Clamp ``now`` (rule T1) and fire what is due (rule T2)."""
        core = self._core
        if now < core.now:
            now = core.now
        else:
            core.now = now
        out: list[Output] = []
        tm = core.timers
        if tm and tm[0][0] <= now:
            _run_timers(core, now, out)
        return now, out

    def _end(self, now: float, out: list[Output]) -> list[Output]:
        """Finish the input: settle noted work, report summary states (rule A2)."""
        core = self._core
        if core.guard_dirty or core.empty_check:
            _settle(core, now, out)
        if core.dirty:
            flush_states(core, now, out)
        return out


def _run_timers(core: Core, now: float, out: list[Output]) -> None:
    """Fire every live timer due at ``now``, in deadline order (rule T2)."""
    tm = core.timers
    while tm and tm[0][0] <= now:
        _, _, kind, obj, ver = heappop(tm)
        if not is_live(kind, obj, ver):
            continue
        if kind == T_OFFER:
            offer_timeout(core, obj, now, out)
        elif kind == T_WRAP:
            a = obj.agent
            finish_wrap(core, a, obj, now, out)
            dispatch_agent(core, a, now, out)
        elif kind == T_TASK:
            task_due(core, obj, now, out)
        elif kind == T_REOFFER:
            forget_declines(core, obj, now, out)
        else:
            end_pref_window(core, obj, now, out)
        if core.guard_dirty or core.empty_check:
            _settle(core, now, out)


def _settle(core: Core, now: float, out: list[Output]) -> None:
    """Queues to check for ``leave_when_empty`` (Q5), agents the blend guard
    held back (B1) to retry: until neither produces more."""
    while core.guard_dirty or core.empty_check:
        if core.empty_check:
            pending = list(core.empty_check.values())
            core.empty_check.clear()
            for q in pending:
                check_leave_empty(core, q, now, out)
        if core.guard_dirty:
            core.guard_dirty = False
            waiters = list(core.held.values())
            core.held.clear()
            for a in waiters:
                dispatch_agent(core, a, now, out)
