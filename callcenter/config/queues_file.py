"""Models of ``queues.yaml``: who serves each queue, in which order, how long callers wait.

Re-exported by ``models``; import them from there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .chat_file import CannedReply
from .fields import (
    BusinessHours,
    DtmfKey,
    Ident,
    Level,
    LocalizedText,
    PositiveSeconds,
    Seconds,
    Strict,
    config_error,
)

Channel = Literal["voice", "chat"]
Strategy = Literal[
    "longest_idle",
    "round_robin",
    "fewest_tasks",
    "best_skill",
    "random",
    "weighted_random",
    "linear",
    "ring_all",
]
WhenEmpty = Literal["always", "no_agents_logged_in", "no_agents_available"]
LeaveWhenEmpty = Literal["never", "no_agents_logged_in", "no_agents_available"]


class Announce(Strict):
    """Periodic announcements to a waiting caller."""

    position: bool = True
    expected_wait: bool = True
    interval_seconds: PositiveSeconds = 30


class RecordingPolicy(Strict):
    enabled: bool = True
    split_legs: bool = True
    """Record caller and agent on separate channels (better transcription)."""


class Disposition(Strict):
    """A wrap-up code an agent picks when finishing a contact."""

    code: Ident
    label: LocalizedText


class EscalationStep(Strict):
    """What happens when a contact has waited ``after_seconds`` (steps apply in order).

    ``min_level`` lowers the skill level required; ``add_skills`` also offers the
    contact to agents holding any of these skills; ``any_language`` (queues with
    ``language_first``) also to agents who do not speak the caller's language;
    ``overflow_queue`` (with action ``overflow``, implied) moves it to another queue.
    """

    after_seconds: PositiveSeconds
    min_level: Level | None = None
    add_skills: tuple[Ident, ...] = ()
    any_language: bool = False
    priority_boost: int | None = Field(None, ge=-1000, le=1000)
    overflow_queue: Ident | None = None
    action: Literal["offer_callback", "voicemail", "overflow"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EscalationStep:
        if self.action == "overflow" and self.overflow_queue is None:
            raise config_error("action overflow needs overflow_queue: <queue id>")
        if self.overflow_queue is not None and self.action not in (None, "overflow"):
            raise config_error(
                f"overflow_queue goes with action: overflow, not action: {self.action}"
            )
        if (
            self.min_level is None
            and not self.add_skills
            and not self.any_language
            and self.priority_boost is None
            and self.overflow_queue is None
            and self.action is None
        ):
            raise config_error(
                "this step does nothing; set min_level, add_skills, any_language, "
                "priority_boost, overflow_queue or action"
            )
        return self

    @property
    def effective_action(self) -> str | None:
        return "overflow" if self.overflow_queue is not None else self.action


class Callback(Strict):
    """Let a waiting caller press ``key`` to be called back instead of holding.

    The callback keeps the caller's place in the queue; an agent is rung first, then
    the customer. It is done only when the customer answers."""

    enabled: bool = False
    key: DtmfKey = "*"
    max_attempts: int = Field(3, ge=1, le=10)
    """Calls to the customer (no answer, busy, unreachable) before the callback fails."""
    retry_after_seconds: int = Field(300, ge=10, le=86_400)
    """After an attempt the customer did not answer, wait this long before the next."""
    ring_seconds: int = Field(30, ge=5, le=120)
    """Each attempt rings the customer this long."""
    deadline_minutes: int = Field(1440, ge=1, le=7 * 1440)
    """A callback not made this long after it was asked for expires (and is reported
    as expired, never dropped without a trace)."""


class Blend(Strict):
    """Voice/chat blending."""

    protect_voice_after_seconds: Seconds = 30
    """Once a call has waited this long, ready agents stop getting new chats."""


class Queue(Strict):
    """One queue: who may serve it, in which order, and how long callers wait.

    Field order matters to the validators (``channels`` before ``strategy``,
    ``dispositions`` before ``require_disposition``).
    """

    name: LocalizedText
    channels: tuple[Channel, ...] = Field(("voice",), min_length=1)
    strategy: Strategy = "longest_idle"
    skills: dict[Ident, Level] = Field(default_factory=dict)
    """Required skills and the minimum level of each."""
    priority: int = Field(0, ge=0, le=1000)
    """Higher is served first when an agent can take several queues."""
    service_level_seconds: PositiveSeconds = 20
    short_abandon_seconds: Seconds = 5
    max_wait_seconds: Seconds = 600
    """0 = no limit."""
    max_length: Seconds = 0
    """Most contacts waiting at once; 0 = unlimited."""
    join_empty: WhenEmpty = "always"
    """Whether a contact may join when nobody can serve it: always, or refuse it when
    no agent is logged in / no agent is available."""
    leave_when_empty: LeaveWhenEmpty = "never"
    """Whether waiting contacts are pushed out when agents leave."""
    wrapup_seconds: Seconds = 10
    offer_timeout_seconds: PositiveSeconds = 15
    missed_offers_before_not_ready: Seconds = 2
    """0 = never put an agent to not-ready for missed offers."""
    reoffer_after_seconds: PositiveSeconds | None = 5
    """An agent who missed or declined a contact is offered it again after this pause
    once no other agent can take it (app_queue's ``retry``); null = never again."""
    delay_seconds: Seconds = 0
    preferred_agent_seconds: Seconds = 0
    """A returning customer waits this long for the agent who served them last (0: off)."""
    announce: Announce = Field(default_factory=Announce)
    recording: RecordingPolicy = Field(default_factory=RecordingPolicy)
    dispositions: tuple[Disposition, ...] = ()
    require_disposition: bool = False
    language_first: bool = False
    """A caller is offered only to agents who speak the language they chose in the IVR
    (agents.yaml ``languages``) until an escalation step with ``any_language: true``."""
    escalation: tuple[EscalationStep, ...] = ()
    callback: Callback = Field(default_factory=Callback)
    business_hours: BusinessHours | None = None
    """null = always open."""
    blend: Blend = Field(default_factory=Blend)
    teams: tuple[Ident, ...] = ()
    """Teams whose supervisors watch this queue."""
    canned_replies: tuple[CannedReply, ...] = ()
    """Replies agents insert with one click in this queue's chats (chat queues only)."""

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise config_error("lists a channel twice")
        return value

    @field_validator("strategy")
    @classmethod
    def _ring_all_voice_only(cls, value: str, info: ValidationInfo) -> str:
        channels = info.data.get("channels")
        if value == "ring_all" and channels is not None and tuple(channels) != ("voice",):
            raise config_error(
                "ring_all rings every free agent at once, which only works for voice-only "
                f"queues; this queue has channels {', '.join(channels)} (use longest_idle, "
                "or make the queue voice-only)"
            )
        return value

    @field_validator("canned_replies")
    @classmethod
    def _replies_need_chat(cls, value: tuple[CannedReply, ...],
                           info: ValidationInfo) -> tuple[CannedReply, ...]:
        channels = info.data.get("channels")
        if value and channels is not None and "chat" not in channels:
            raise config_error("canned replies are for chats, and this queue takes no chats "
                               "(add chat to channels, or remove them)")
        return value

    @field_validator("require_disposition")
    @classmethod
    def _codes_to_pick(cls, value: bool, info: ValidationInfo) -> bool:
        # An error, not a warning: agents could never finish wrap-up.
        if value and not info.data.get("dispositions", ()) and "dispositions" in info.data:
            raise config_error(
                "is true but the queue has no dispositions, so agents could never finish "
                "wrap-up; add dispositions or set require_disposition: false"
            )
        return value

    @field_validator("escalation")
    @classmethod
    def _language_to_relax(cls, value: tuple[EscalationStep, ...],
                           info: ValidationInfo) -> tuple[EscalationStep, ...]:
        if any(step.any_language for step in value) and not info.data.get("language_first"):
            raise config_error("a step has any_language: true but the queue does not set "
                               "language_first: true, so there is no language to relax")
        return value

    @property
    def voice(self) -> bool:
        return "voice" in self.channels

    @property
    def chat(self) -> bool:
        return "chat" in self.channels


class QueuesConfig(Strict):
    """``queues.yaml``."""

    queues: dict[Ident, Queue] = Field(min_length=1)
