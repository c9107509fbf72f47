"""Configuration and input records: queues, agents, tasks.

These are plain frozen dataclasses the app builds (from YAML, a database, an
adapter event) and hands to the engine. They never change inside the engine;
the engine keeps its own mutable bookkeeping next to them. ``from_dict``
helpers accept the loose shapes YAML produces (lists for sets, dicts for
nested records, strings for enums) and validate them, so a config error is
found at load time rather than during routing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

VOICE = "voice"
"""The one channel with special rules (blend guard, cross-channel limits, announcements).

Every other channel name ("chat", "wechat", "email", ...) is a *text* channel.
"""


class Strategy(StrEnum):
    """How a queue picks among the agents able to take a task."""

    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_TASKS = "fewest_tasks"
    BEST_SKILL = "best_skill"
    RANDOM = "random"
    WEIGHTED_RANDOM = "weighted_random"
    LINEAR = "linear"
    RING_ALL = "ring_all"


class EmptyPolicy(StrEnum):
    """When a queue counts as "empty" for ``join_empty`` / ``leave_when_empty``.

    ``always`` means emptiness is never a reason: tasks always join and never
    leave because of it. The two others name the condition under which a join
    is refused (``join_empty``) or a waiting task is sent out
    (``leave_when_empty``), judged over the agents *qualified* for the task
    (member of the queue, required skills, capacity > 0 for its channel):

    * ``no_agents_logged_in``: none of them is logged in.
    * ``no_agents_available``: none of them is logged in and not "not ready"
      (busy, reserved and wrap-up count as available: they will come back by
      themselves, as app_queue's ``strict`` treats in-use members).
    """

    ALWAYS = "always"
    NO_AGENTS_LOGGED_IN = "no_agents_logged_in"
    NO_AGENTS_AVAILABLE = "no_agents_available"


class EscalationActionKind(StrEnum):
    """Actions an escalation step asks the adapter to carry out."""

    OFFER_CALLBACK = "offer_callback"
    VOICEMAIL = "voicemail"
    OVERFLOW = "overflow"


def _skills(value: Any, what: str) -> dict[str, int]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        out = {str(k): int(v) for k, v in value.items()}
    else:  # a bare list of names means "level 1"
        out = {str(k): 1 for k in value}
    for k, v in out.items():
        if v < 0:
            raise ValueError(f"{what}: skill {k!r} has negative level {v}")
    return out


def _known(cls: type, data: Mapping[str, Any]) -> None:
    names = {f.name for f in fields(cls)}
    extra = set(data) - names
    if extra:
        raise ValueError(f"{cls.__name__}: unknown field(s) {sorted(extra)}")


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One step of a queue's escalation ladder, applied once per queue visit.

    Steps are cumulative and fire at ``entered + after_seconds`` while the task
    has not been connected:

    * ``min_level``: every minimum level required so far (base skills and
      ``add_skills`` alternatives) is capped at this value.
    * ``add_skills``: ``{skill: level}``. From now on an agent also qualifies
      if, as a member of the queue, it has *any one* of these skills at the
      listed level or above, whatever its other skills. (The requirement
      becomes a disjunction: base requirement OR skill1>=l1 OR skill2>=l2.)
    * ``drop_skills``: these skills are no longer required by the base
      requirement, whether the queue or the task asked for them (a caller's
      language, first asked of agents who speak it, then of anyone).
    * ``priority_boost``: added to the task's priority (the task may now pass
      tasks that arrived earlier: this is the "unless an escalation rule says
      otherwise" of the ordering rule).
    * ``overflow_queue``: the task *also* becomes eligible in that queue,
      keeping its priority and place (arrival time) and its home queue for
      statistics; it is matched there with that queue's skills and strategy.
    * ``action``: emitted as an :class:`~acd.events.EscalationAction` decision;
      the engine does nothing else (the adapter may then cancel or transfer).
    """

    after_seconds: float
    min_level: int | None = None
    add_skills: Mapping[str, int] = field(default_factory=dict)
    drop_skills: frozenset[str] = frozenset()
    priority_boost: int = 0
    overflow_queue: str | None = None
    action: EscalationActionKind | None = None

    def __post_init__(self) -> None:
        if self.after_seconds < 0:
            raise ValueError("escalation step: after_seconds must be >= 0")
        object.__setattr__(self, "add_skills", _skills(self.add_skills, "add_skills"))
        object.__setattr__(self, "drop_skills", frozenset(map(str, self.drop_skills)))
        if self.action is not None:
            object.__setattr__(self, "action", EscalationActionKind(self.action))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EscalationStep:
        _known(cls, data)
        return cls(**data)


@dataclass(frozen=True, slots=True)
class BlendRule:
    """Blending guard of a voice queue (see ``acd/_state.py``, rule B)."""

    protect_voice_after_seconds: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> BlendRule:
        data = data or {}
        _known(cls, data)
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Queue:
    """A queue definition, as configured by the app.

    Times are seconds. ``None`` (or 0 for counts) disables a limit.
    """

    name: str
    channels: frozenset[str] = frozenset({VOICE})
    strategy: Strategy = Strategy.LONGEST_IDLE
    skills: Mapping[str, int] = field(default_factory=dict)
    priority: int = 0
    service_level_seconds: float = 20.0
    short_abandon_seconds: float = 5.0
    max_wait_seconds: float | None = None
    max_length: int | None = None
    join_empty: EmptyPolicy = EmptyPolicy.ALWAYS
    leave_when_empty: EmptyPolicy = EmptyPolicy.ALWAYS
    wrapup_seconds: float = 0.0
    wrapup_until_done: bool = False
    """Wrap-ups end only by ``wrapup_done``, never on a timer (rule A6)."""
    offer_timeout_seconds: float | None = 15.0
    missed_offers_before_not_ready: int = 3
    delay_seconds: float = 0.0
    announce_interval_seconds: float = 0.0
    escalation: tuple[EscalationStep, ...] = ()
    blend: BlendRule = field(default_factory=BlendRule)
    reoffer_after_seconds: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("queue: name is required")
        chans = self.channels
        object.__setattr__(
            self, "channels", frozenset([chans] if isinstance(chans, str) else chans)
        )
        if not self.channels:
            raise ValueError(f"queue {self.name}: channels must not be empty")
        object.__setattr__(self, "strategy", Strategy(self.strategy))
        object.__setattr__(self, "join_empty", EmptyPolicy(self.join_empty))
        object.__setattr__(self, "leave_when_empty", EmptyPolicy(self.leave_when_empty))
        object.__setattr__(self, "skills", _skills(self.skills, f"queue {self.name}"))
        steps = tuple(
            s if isinstance(s, EscalationStep) else EscalationStep.from_dict(s)
            for s in self.escalation
        )
        if any(b.after_seconds < a.after_seconds for a, b in itertools.pairwise(steps)):
            raise ValueError(f"queue {self.name}: escalation steps must be in after_seconds order")
        object.__setattr__(self, "escalation", steps)
        if isinstance(self.blend, Mapping):
            object.__setattr__(self, "blend", BlendRule.from_dict(self.blend))
        for name in ("wrapup_seconds", "delay_seconds", "announce_interval_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"queue {self.name}: {name} must be >= 0")
        if self.offer_timeout_seconds is not None and self.offer_timeout_seconds <= 0:
            raise ValueError(f"queue {self.name}: offer_timeout_seconds must be > 0 or None")
        if self.reoffer_after_seconds is not None and self.reoffer_after_seconds <= 0:
            raise ValueError(f"queue {self.name}: reoffer_after_seconds must be > 0 or None")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Queue:
        """Build from a YAML mapping (lists are fine where sets are expected)."""
        _known(cls, data)
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Membership:
    """An agent's membership of one queue.

    ``penalty``: lower tiers are always tried first (app_queue's meaning, for
    every strategy). ``weight``: selection weight for ``weighted_random``
    (probability proportional to weight among the agents of the best tier).
    ``position``: place in the queue's member order for ``linear`` and
    ``round_robin``; ``None`` means "after the members already there" (the
    order in which agents joined the queue, as app_queue's dynamic members).
    """

    penalty: int = 0
    weight: float = 1.0
    position: int | None = None

    def __post_init__(self) -> None:
        if not (self.weight > 0 and math.isfinite(self.weight)):
            raise ValueError("membership: weight must be a positive number")


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent's configuration; its live state is kept by the engine.

    ``capacity``: how many tasks of each channel the agent may hold at once
    (offered, connected or in wrap-up); a channel absent means 0.
    ``chat_while_voice``: may take text tasks while holding a voice task.
    ``voice_while_chat``: may take a voice task while holding text tasks.
    ``after_wrapup``: presence the agent returns to when a wrap-up ends
    (``"ready"`` or ``"not_ready"``).
    """

    id: str
    skills: Mapping[str, int] = field(default_factory=dict)
    capacity: Mapping[str, int] = field(default_factory=lambda: {VOICE: 1})
    queues: Mapping[str, Membership] = field(default_factory=dict)
    chat_while_voice: bool = False
    voice_while_chat: bool = False
    after_wrapup: str = "ready"

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", _skills(self.skills, f"agent {self.id}"))
        object.__setattr__(self, "capacity", {str(k): int(v) for k, v in self.capacity.items()})
        qs = self.queues
        if not isinstance(qs, Mapping):
            qs = {str(name): Membership() for name in qs}
        object.__setattr__(
            self,
            "queues",
            {
                str(k): v if isinstance(v, Membership) else Membership(**(v or {}))
                for k, v in qs.items()
            },
        )
        if self.after_wrapup not in ("ready", "not_ready"):
            raise ValueError(f"agent {self.id}: after_wrapup must be 'ready' or 'not_ready'")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Agent:
        _known(cls, data)
        return cls(**data)


@dataclass(frozen=True, slots=True)
class OwedWrapup:
    """A wrap-up form an agent owed when the previous run stopped: given to
    ``agent_login``, it holds its slot again in a ``wrapup_until_done`` queue (rule A6)."""

    task_id: str
    queue: str
    channel: str = VOICE


@dataclass(frozen=True, slots=True)
class Task:
    """One interaction waiting for a person.

    ``priority`` adds to the queue's base priority (higher goes first).
    ``arrival`` orders the task in line; it defaults to the ``now`` of
    ``task_arrived`` (pass an earlier time to keep a place, e.g. after a
    restart). ``attributes`` (VIP, language, ...) are carried into the log
    untouched: the app maps them to ``skills``/``priority`` before submitting,
    so routing depends only on skills and priority.
    ``preferred_agent`` / ``preferred_wait_seconds``: for that long after
    entering, only the preferred agent may take the task (if it is logged in
    at entry; otherwise the wait is skipped).
    ``deadline``: when the task leaves its queue (reason "timeout") instead of the
    queue's ``max_wait_seconds`` after entering (rule L1): a callback waits until its
    own deadline, however long the queue lets callers hold.
    ``offer_timeout_seconds``: this task's offers last this long instead of the
    queue's (a callback's offer covers the agent's ring and then the customer's).
    """

    id: str
    channel: str
    queue: str
    skills: Mapping[str, int] = field(default_factory=dict)
    priority: int = 0
    arrival: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    preferred_agent: str | None = None
    preferred_wait_seconds: float = 0.0
    deadline: float | None = None
    offer_timeout_seconds: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", _skills(self.skills, f"task {self.id}"))
        if self.preferred_wait_seconds < 0:
            raise ValueError(f"task {self.id}: preferred_wait_seconds must be >= 0")
        if self.offer_timeout_seconds is not None and self.offer_timeout_seconds <= 0:
            raise ValueError(f"task {self.id}: offer_timeout_seconds must be > 0 or None")
