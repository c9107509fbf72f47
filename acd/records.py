"""The engine's mutable records, and ``Core``, the one place that holds them all.

Slotted classes, as several are built and read on every routing decision.
Records compare by identity (``eq=False`` on the dataclasses; no repr where
records point at each other). Only the engine's own modules change them;
adapters see the frozen views of ``acd.views``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from heapq import heappop
from typing import Any

from ._state import AgentState, Presence, Req, TaskState, requirement
from .line import Line
from .model import VOICE, Agent, Queue, Strategy, Task


@dataclass(slots=True, eq=False)
class OfferRec:
    """One live offer of a task to an agent (``live`` turns False when it ends)."""

    id: str
    task: TaskRec
    agent: AgentRec
    deadline: float | None
    live: bool = True


@dataclass(slots=True, eq=False)
class WrapRec:
    """A wrap-up in progress: it holds a slot of ``channel`` until it ends."""

    agent: AgentRec
    task_id: str
    queue: QueueRec
    channel: str
    start: float
    talk: float
    until: float | None
    """When the timer ends it (rule A6); None: only ``wrapup_done`` does."""
    live: bool = True
    resumed: bool = False
    """Begun by a previous run (rule A6, ``OwedWrapup``): its length is not a sample."""


class TaskRec:
    """A task from arrival to its end, and its place in the indexes.

    ``ver`` versions its heap entries (bumped to invalidate them all),
    ``visit`` its timers; ``leave_at``, ``esc_at`` and ``ann_at`` are its own
    deadlines, ``timer_at`` when its one timer entry is due (``timers.arm``);
    ``queued`` says it has live entries,
    ``listed`` that they are in its class heaps (rule Q2) rather than in its
    preferred agent's ``reserved`` list.
    """

    __slots__ = (
        "agent",
        "alts",
        "ann_at",
        "ann_pos",
        "boost",
        "channel",
        "connected_at",
        "declined",
        "dropped",
        "entered",
        "esc_at",
        "home",
        "home_cls",
        "id",
        "leave_at",
        "level_cap",
        "line_key",
        "listed",
        "listings",
        "neg_prio",
        "never",
        "offers",
        "order",
        "overflow",
        "public",
        "queued",
        "reoffer_gen",
        "reserved_for",
        "seq",
        "state",
        "steps",
        "task",
        "timed_out",
        "timer_at",
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
        self.offers: dict[str, OfferRec] = {}
        self.agent: AgentRec | None = None
        self.connected_at = 0.0
        self.listed = False
        self.queued = False
        self.listings: list[ClassRec] | None = None
        self.home_cls: ClassRec | None = None
        self.declined: set[str] | None = None
        self.reoffer_gen = 0  # versions the re-offer timer (rule Q3)
        self.never: str | None = None  # the agent that transferred it: never offered again
        self.home: QueueRec
        self.entered = 0.0
        self.neg_prio = 0
        self.public = False
        self.reserved_for: AgentRec | None = None
        self.steps = 0
        self.boost = 0
        self.level_cap: int | None = None
        self.alts: dict[str, int] = {}
        self.dropped: frozenset[str] = frozenset()
        self.overflow: list[str] = []
        self.timed_out = False
        self.line_key: tuple[int, float, int] = (0, 0.0, 0)  # its entry in ``home.line``
        self.ann_pos = 0  # the position it last heard (0: none yet), rule P2
        self.ann_at: float | None = None  # its next announcement (rule P2)
        self.leave_at: float | None = None  # when it leaves unless connected (rule L1)
        self.esc_at: float | None = None  # its next escalation step
        self.timer_at: float | None = None  # its timer entry (``timers.arm``)

    def forget_visit(self, never: str | None) -> None:
        """Start a new queue visit after a transfer: escalation, declines (but
        ``never``, the transferring agent), listings and reservation reset to
        the values a fresh record has."""
        self.steps = 0
        self.boost = 0
        self.level_cap = None
        self.alts = {}
        self.dropped = frozenset()
        self.overflow = []
        self.declined = {never} if never else None
        self.never = never
        self.timed_out = False
        self.ann_pos = 0
        self.home_cls = None
        self.listings = None
        self.public = False
        self.reserved_for = None


class AgentRec:
    """An agent's presence, holdings (rule A1) and its place in the indexes.

    ``stamp`` versions its pool entries; ``classes`` are the classes it
    qualifies for by channel, ``guards`` those whose blend guard (B1) applies
    to it, ``reserved`` the tasks waiting for it as preferred agent.
    """

    __slots__ = (
        "answered",
        "capacity",
        "cfg",
        "chat_while_voice",
        "classes",
        "connected",
        "guards",
        "holding",
        "id",
        "idle_since",
        "missed",
        "offers",
        "presence",
        "reason",
        "reported",
        "reported_reason",
        "reserved",
        "skills",
        "stamp",
        "text_holding",
        "voice_while_chat",
        "wraps",
    )

    def __init__(self, cfg: Agent):
        self.id = cfg.id
        self.presence = Presence.LOGGED_OUT
        self.reason: str | None = None
        self.holding: dict[str, int] = {}
        self.text_holding = 0
        self.offers: dict[str, OfferRec] = {}
        self.connected: dict[str, TaskRec] = {}
        self.wraps: dict[str, WrapRec] = {}
        self.stamp = 0
        self.idle_since = 0.0
        self.answered = 0
        self.missed = 0
        self.classes: dict[str, list[ClassRec]] = {}
        self.guards: list[ClassRec] = []
        self.reserved: list[TaskRec] = []
        self.reported = AgentState.LOGGED_OUT  # last summary state sent (rule A2)
        self.reported_reason: str | None = None
        self.set_cfg(cfg)

    def set_cfg(self, cfg: Agent) -> None:
        self.cfg = cfg
        self.skills = cfg.skills
        self.capacity = cfg.capacity
        self.chat_while_voice = cfg.chat_while_voice
        self.voice_while_chat = cfg.voice_while_chat


@dataclass(slots=True, eq=False, repr=False)
class QueueRec:
    """A queue: its definition, members, waiting line and classes."""

    cfg: Queue
    name: str = field(init=False)
    strategy: Strategy = field(init=False)
    base_req: Req = field(init=False)  # rule Q1 for a task that adds nothing to it
    rr_round: int = field(init=False)  # round_robin memory: (round, last position offered)
    rr_last: int = field(init=False)
    classes: dict[tuple[str, Req], ClassRec] = field(default_factory=dict)
    fresh: dict[tuple[Any, ...], ClassRec] = field(default_factory=dict)
    """Classes by what decides a task's requirement (``indexes.class_of``)."""
    members: dict[str, tuple[int, float, int, AgentRec]] = field(default_factory=dict)
    """Logged-in members: (penalty, weight, position, agent)."""
    positions: dict[str, int] = field(default_factory=dict)  # kept across logins
    next_pos: int = 0
    tasks: dict[str, TaskRec] = field(default_factory=dict)  # waiting or offered
    count: int = 0
    line: Line = field(default_factory=Line)
    """O1 keys ``(neg_prio, order, seq)`` of its WAITING tasks (rule P1): add,
    remove and rank in O(log n) (``line.py``)."""
    staffed: dict[str, int] = field(default_factory=dict)  # ready members' slots per channel
    aht: float | None = None  # smoothed handle time
    retired: bool = False

    def __post_init__(self) -> None:
        self.name = self.cfg.name
        self.set_cfg(self.cfg)

    def set_cfg(self, cfg: Queue) -> None:
        self.cfg = cfg
        self.strategy = cfg.strategy
        self.base_req = requirement(cfg.skills, {}, None, {})
        self.rr_round = 0
        self.rr_last = -1


@dataclass(slots=True, eq=False, repr=False)
class ClassRec:
    """Tasks of one (queue, channel, requirement) and the agents able to take them."""

    q: QueueRec
    channel: str
    req: Req
    tasks: list[tuple[Any, ...]] = field(default_factory=list)
    """Heap of ``(neg_prio, order, seq, uid, ver, task)``: the listed tasks (rule O1)."""
    head: tuple[Any, ...] | None = None
    """``tasks[0]`` (None: empty), kept beside the heap: a freed agent reads the
    head of each of its classes, and one object fewer to fetch per class counts."""
    live: int = 0
    """How many entries of ``tasks`` are live (the rest are stale)."""
    agents: list[tuple[Any, ...]] = field(default_factory=list)
    """The pool of able qualified agents, in strategy order (``strategies.py``)."""
    qualified: dict[str, AgentRec] = field(default_factory=dict)
    scores: dict[str, int] = field(default_factory=dict)  # best_skill keys
    clock: dict[tuple[int, int], float] = field(default_factory=dict)  # random race clocks
    protect_after: float | None = field(init=False)
    """The blend guard's limit (rule B1): only for a voice class of a guarded queue."""
    oldest: list[tuple[Any, ...]] = field(default_factory=list)
    """Heap of ``(entered, uid, ver, task)``, kept only when ``protect_after`` is set."""
    dead: bool = False  # its queue was redefined: rebuilt on demand

    def __post_init__(self) -> None:
        blend = self.q.cfg.blend.protect_voice_after_seconds
        self.protect_after = blend if self.channel == VOICE else None

    def oldest_listed_since(self) -> float | None:
        """When the longest-listed live task entered its queue (dropping stale heads)."""
        o = self.oldest
        while o:
            e = o[0]
            if e[3].ver == e[2]:
                return e[0]
            heappop(o)
        return None


class Core:
    """Everything the engine holds between inputs, shared by its modules.

    ``seq`` numbers tasks entering, timers and heap entries (one counter, so
    ties always break by creation). ``dirty``, ``empty_check``, ``held`` and
    ``guard_dirty`` are work noted during an input and done before it returns:
    summary states to report (once per input, rule A2), queues to check for
    ``leave_when_empty``, agents held back by the blend guard and whether the
    guard may have lifted.
    """

    __slots__ = (
        "agents",
        "dirty",
        "empty_check",
        "guard_dirty",
        "held",
        "now",
        "offer_seq",
        "offers",
        "queues",
        "rng",
        "seq",
        "tasks",
        "timers",
    )

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.queues: dict[str, QueueRec] = {}
        self.agents: dict[str, AgentRec] = {}
        self.tasks: dict[str, TaskRec] = {}
        self.offers: dict[str, OfferRec] = {}
        self.timers: list[tuple[Any, ...]] = []
        self.now = -math.inf
        self.seq = 0
        self.offer_seq = 0
        self.held: dict[str, AgentRec] = {}
        self.guard_dirty = False
        self.empty_check: dict[str, QueueRec] = {}
        self.dirty: dict[str, AgentRec] = {}
