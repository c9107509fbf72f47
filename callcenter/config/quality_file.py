"""Models of ``quality.yaml``, the optional fifth file: how every recorded call is
inspected (质检) and which topics its summary looks for.

A ``default`` rule set and optional per-queue rule sets that replace it for that
queue. Every model forbids unknown keys, so a typo is an error (with file, line
and column) rather than a rule silently not applied. The speech feature
(``recordings/``) applies them; the config layer only describes them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .fields import Strict

__all__ = [
    "ForbiddenPhrases",
    "HoldRule",
    "OvertalkRule",
    "QualityConfig",
    "QueueRules",
    "RequiredPhrase",
    "SilenceRule",
    "TalkShareRule",
    "Topics",
]

Speaker = Literal["agent", "caller"]


def _phrases(value: list[str]) -> list[str]:
    cleaned = [p.strip() for p in value]
    if not cleaned or any(not p for p in cleaned):
        raise ValueError("needs at least one phrase, and no empty phrase")
    return cleaned


class RequiredPhrase(Strict):
    """One step the agent must say (greeting, identity check, closing...), as
    alternative phrases; steps are expected in the order they are listed.

    ``within_first_seconds`` / ``within_last_seconds`` restrict where in the
    call the phrase counts (a greeting said at minute five is no greeting).
    """

    name: str = Field(min_length=1)
    phrases: list[str]
    speaker: Speaker = "agent"
    within_first_seconds: float | None = Field(default=None, gt=0)
    within_last_seconds: float | None = Field(default=None, gt=0)
    deduction: float = Field(default=10, ge=0, le=100)
    order_deduction: float = Field(default=5, ge=0, le=100)

    _check_phrases = field_validator("phrases")(_phrases)

    @model_validator(mode="after")
    def _one_window(self) -> RequiredPhrase:
        if self.within_first_seconds is not None and self.within_last_seconds is not None:
            raise ValueError("use within_first_seconds or within_last_seconds, not both")
        return self


class ForbiddenPhrases(Strict):
    """Phrases that must not be said; one flag per utterance that has one."""

    phrases: list[str]
    speaker: Speaker = "agent"
    deduction: float = Field(default=20, ge=0, le=100)
    max_deduction: float | None = Field(default=None, ge=0, le=100)

    _check_phrases = field_validator("phrases")(_phrases)


class TalkShareRule(Strict):
    """Share of talk time (0..1) of ``speaker`` among everyone's talk time."""

    speaker: Speaker = "agent"
    min: float | None = Field(default=None, ge=0, le=1)
    max: float | None = Field(default=None, ge=0, le=1)
    deduction: float = Field(default=10, ge=0, le=100)

    @model_validator(mode="after")
    def _bounds(self) -> TalkShareRule:
        if self.min is None and self.max is None:
            raise ValueError("set min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


class SilenceRule(Strict):
    """Nobody speaking for longer than ``max_seconds`` (hold time excluded)."""

    max_seconds: float = Field(gt=0)
    deduction: float = Field(default=5, ge=0, le=100)
    max_deduction: float | None = Field(default=None, ge=0, le=100)
    include_edges: bool = False


class OvertalkRule(Strict):
    """Both speaking at once: any stretch over ``max_seconds`` is a flag, and more
    than ``max_count`` stretches of at least ``min_seconds`` is one more."""

    min_seconds: float = Field(default=0.5, ge=0)
    max_seconds: float | None = Field(default=None, gt=0)
    max_count: int | None = Field(default=None, ge=0)
    deduction: float = Field(default=5, ge=0, le=100)
    max_deduction: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _something(self) -> OvertalkRule:
        if self.max_seconds is None and self.max_count is None:
            raise ValueError("set max_seconds, max_count or both")
        if self.max_seconds is not None and self.max_seconds < self.min_seconds:
            raise ValueError("max_seconds must not be below min_seconds")
        return self


class HoldRule(Strict):
    """A hold longer than ``max_seconds``, or holds adding up to more than
    ``max_total_seconds`` (hold intervals come from the call's events)."""

    max_seconds: float | None = Field(default=None, gt=0)
    max_total_seconds: float | None = Field(default=None, gt=0)
    deduction: float = Field(default=5, ge=0, le=100)

    @model_validator(mode="after")
    def _something(self) -> HoldRule:
        if self.max_seconds is None and self.max_total_seconds is None:
            raise ValueError("set max_seconds, max_total_seconds or both")
        return self


Topics = dict[str, list[str]]
"""Intent -> keywords (zh and en); the summary names the intents whose words were said."""


class QueueRules(Strict):
    """Everything checked on one call, and the topics its summary looks for; any part
    may be left out."""

    required: list[RequiredPhrase] = Field(default_factory=list)
    forbidden: ForbiddenPhrases | None = None
    talk_share: TalkShareRule | None = None
    silence: SilenceRule | None = None
    overtalk: OvertalkRule | None = None
    hold: HoldRule | None = None
    pass_score: float = Field(default=80, ge=0, le=100)
    topics: Topics = Field(default_factory=dict)

    @field_validator("topics")
    @classmethod
    def _keywords(cls, value: Topics) -> Topics:
        return {name: _phrases(words) for name, words in value.items()}

    @field_validator("required")
    @classmethod
    def _unique_names(cls, value: list[RequiredPhrase]) -> list[RequiredPhrase]:
        names = [r.name for r in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate step names: {', '.join(duplicates)}")
        return value


class QualityConfig(Strict):
    """``config/quality.yaml``: the default rules and per-queue overrides (a queue's
    block replaces the default for that queue's calls). No file: no rules, no topics."""

    version: Literal[1] = 1
    default: QueueRules = Field(default_factory=QueueRules)
    queues: dict[str, QueueRules] = Field(default_factory=dict)

    def rules_for(self, queue: str | None) -> QueueRules:
        """The queue's own rule set if it has one, else the default."""
        return self.queues.get(queue or "", self.default)
