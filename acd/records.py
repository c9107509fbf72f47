"""The engine's mutable records, and ``Core``, the one place that holds them all.

Plain slotted classes rather than dataclasses: several are built and read on
every routing decision. Only the engine's own modules change them; adapters
see the frozen views of ``acd.views``.
"""

from __future__ import annotations

import math
import random
from heapq import heappop
from typing import Any

from ._state import AgentState, Presence, Req, TaskState, requirement
from .model import VOICE, Agent, Queue, Task


class OfferRec:
    """One live offer of a task to an agent (``live`` turns False when it ends)."""

    __slots__ = ("agent", "deadline", "id", "live", "task")

    def __init__(self, oid: str, task: TaskRec, agent: AgentRec, deadline: float | None):
        self.id = oid
        self.task = task
        self.agent = agent
        self.deadline = deadline
        self.live = True


class WrapRec:
    """A wrap-up in progress: it holds a slot of ``channel`` until it ends."""

    __slots__ = ("agent", "channel", "live", "queue", "start", "talk", "task_id")

    def __init__(
        self,
        agent: AgentRec,
        task_id: str,
        queue: QueueRec,
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


class TaskRec:
    """A task from arrival to its end, and its place in the indexes.

    ``ver`` versions its heap entries (bumped to invalidate them all),
    ``visit`` and ``esc_gen`` its timers; ``queued`` says it has live entries,
    ``listed`` that they are in its class heaps (rule Q2) rather than in its
    preferred agent's ``reserved`` list.
    """

    __slots__ = (
        "agent",
        "alts",
        "ann_pos",
        "boost",
        "channel",
        "connected_at",
        "declined",
        "entered",
        "esc_gen",
        "home",
        "home_cls",
        "id",
        "level_cap",
        "listed",
        "listings",
        "neg_prio",
        "offers",
        "order",
        "overflow",
        "public",
        "queued",
        "reserved_for",
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
        self.offers: dict[str, OfferRec] = {}
        self.agent: AgentRec | None = None
        self.connected_at = 0.0
        self.listed = False
        self.queued = False
        self.listings: list[ClassRec] | None = None
        self.home_cls: ClassRec | None = None
        self.declined: set[str] | None = None
        self.home: QueueRec
        self.entered = 0.0
        self.neg_prio = 0
        self.public = False
        self.reserved_for: AgentRec | None = None
        self.steps = 0
        self.boost = 0
        self.level_cap: int | None = None
        self.alts: dict[str, int] = {}
        self.overflow: list[str] = []
        self.timed_out = False
        self.ann_pos = 0


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


class QueueRec:
    """A queue: its definition, members, waiting line counts and classes."""

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
        self.classes: dict[tuple[str, Req], ClassRec] = {}
        self.fresh: dict[tuple[Any, ...], ClassRec] = {}  # home class by task skills
        self.members: dict[str, tuple[int, float, int, AgentRec]] = {}  # penalty, weight, pos
        self.positions: dict[str, int] = {}
        self.next_pos = 0
        self.tasks: dict[str, TaskRec] = {}
        self.line: dict[int, int] = {}  # waiting tasks per neg_prio
        self.count = 0
        self.staffed: dict[str, int] = {}
        self.aht: float | None = None
        self.ann_at: float | None = None
        self.retired = False
        self.set_cfg(cfg)

    def set_cfg(self, cfg: Queue) -> None:
        self.cfg = cfg
        self.strategy = cfg.strategy
        self.base_req: Req = requirement(cfg.skills, {}, None, {})
        self.rr_round = 0
        self.rr_last = -1


class ClassRec:
    """Tasks of one (queue, channel, requirement) and the agents able to take them.

    ``tasks`` is a heap of ``(neg_prio, order, seq, uid, ver, task)`` (rule
    O1), ``agents`` the pool of ``strategies.py``, ``oldest`` a heap of
    ``(entered, uid, ver, task)`` kept only for a blend-guarded voice class.
    """

    __slots__ = (
        "agents",
        "channel",
        "clock",
        "dead",
        "live",
        "oldest",
        "protect_after",
        "q",
        "qualified",
        "req",
        "scores",
        "tasks",
    )

    def __init__(self, q: QueueRec, channel: str, req: Req):
        self.q = q
        self.channel = channel
        self.req = req
        self.tasks: list[tuple[Any, ...]] = []
        self.live = 0
        self.oldest: list[tuple[Any, ...]] = []
        self.agents: list[tuple[Any, ...]] = []
        self.qualified: dict[str, AgentRec] = {}
        self.scores: dict[str, int] = {}
        self.clock: dict[tuple[int, int], float] = {}
        self.protect_after = q.cfg.blend.protect_voice_after_seconds if channel == VOICE else None
        self.dead = False

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
