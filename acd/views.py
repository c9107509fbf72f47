"""Read-only views of tasks and agents, for adapters and dashboards (not the routing path)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._state import READY, TASK_ORDER, WAITING, AgentState, Presence, Req, TaskState
from .indexes import expected_wait
from .records import AgentRec, QueueRec, TaskRec


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
    eligible: bool = True
    """Some ready agent may take it once free (``has_eligible``); False: the caller
    waits because nobody may (none qualified and ready, or all declined it)."""


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
    offered_tasks: tuple[str, ...] = ()  # the tasks of ``offers``, in the same order
    wrapping_until: tuple[float | None, ...] = ()
    """When each of ``wrapping`` ends on its timer (None: when done; rule A6)."""

    @property
    def wrap_ends(self) -> dict[str, float | None]:
        """Each running wrap-up's task and when its timer ends it (None: when done)."""
        return dict(zip(self.wrapping, self.wrapping_until, strict=True))

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task the agent holds: offered, connected or in wrap-up."""
        return (*self.offered_tasks, *self.connected, *self.wrapping)


def task_view(t: TaskRec, pos: int | None, now: float) -> WaitingTask:
    q = t.home
    lst = t.listings if t.listed and t.listings is not None else []
    return WaitingTask(
        t.id,
        q.name,
        t.channel,
        t.state,
        -t.neg_prio,
        pos,
        expected_wait(q, pos, t.channel) if pos is not None else None,
        now - t.entered,
        t.listed,
        t.reserved_for.id if (t.reserved_for is not None and not t.public) else None,
        tuple((c.q.name, c.req) for c in lst),
        frozenset(t.declined or ()),
        t.order,
        has_eligible(t),
    )


def has_eligible(t: TaskRec, memo: dict[tuple[int, ...], bool] | None = None) -> bool:
    """Is there a ready agent that may take the task once it is free: qualified in
    one of its listings (rule Q1, Q4) or its preferred agent (Q2), and not declined
    (Q3)? Not on the routing path: a scan of the qualified agents, shared through
    ``memo`` by the tasks of the same classes that nobody declined."""
    declined = t.declined or ()
    if not t.public:
        pa = t.reserved_for
        return pa is not None and pa.presence is READY and pa.id not in declined
    classes = t.listings if t.listings is not None else [t.home_cls] if t.home_cls else []
    key = tuple(id(c) for c in classes) if memo is not None and not declined else None
    if key is not None and key in memo:
        return memo[key]
    found = any(a.presence is READY and aid not in declined
                for c in classes for aid, a in c.qualified.items())
    if key is not None:
        memo[key] = found
    return found


def line_views(q: QueueRec, now: float) -> list[WaitingTask]:
    """The queue's tasks in line order (rule O1); offered ones have no position."""
    res = []
    pos = 0
    for t in sorted(q.tasks.values(), key=TASK_ORDER):
        if t.state is WAITING:
            pos += 1
        res.append(task_view(t, pos if t.state is WAITING else None, now))
    return res


def agent_view(a: AgentRec) -> AgentView:
    return AgentView(
        a.id,
        a.reported,
        a.presence,
        a.reason,
        {k: v for k, v in a.holding.items() if v},
        tuple(a.offers),
        tuple(a.connected),
        tuple(a.wraps),
        a.answered,
        a.missed,
        tuple(o.task.id for o in a.offers.values()),
        tuple(w.until for w in a.wraps.values()),
    )
