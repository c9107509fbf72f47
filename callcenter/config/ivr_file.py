"""Models of ``ivr.yaml``: the caller's path from the dialled number to a queue.

Re-exported by ``models``; import them from there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .fields import (
    BusinessHours,
    DtmfKey,
    Ident,
    Lang,
    Level,
    LocalizedText,
    PhoneNumber,
    Prompt,
    Strict,
    config_error,
)

HANGUP = "hangup"
"""A node target that hangs up, unless a node of that name exists."""


class MenuNode(Strict):
    """Press a key to go to a node."""

    type: Literal["menu"]
    prompt: Prompt
    options: dict[DtmfKey, Ident] = Field(min_length=1)
    timeout_seconds: int = Field(5, ge=1, le=60)
    retries: int = Field(2, ge=0, le=10)
    invalid: Ident | None = None
    """Where to go after the retries are used up by wrong keys (default: hang up)."""
    timeout_action: Ident | None = None
    """Where to go after the retries are used up by silence (default: hang up)."""


class LanguageNode(Strict):
    """Press a key to choose the language of the rest of the call."""

    type: Literal["language"]
    prompt: Prompt
    options: dict[DtmfKey, Lang] = Field(min_length=1)
    next: Ident
    timeout_seconds: int = Field(5, ge=1, le=60)
    retries: int = Field(1, ge=0, le=10)


class CollectNode(Strict):
    """Collect digits (an order or account number) into a call variable."""

    type: Literal["collect"]
    prompt: Prompt
    variable: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,63}$")]
    min_digits: int = Field(1, ge=1, le=64)
    max_digits: int = Field(20, ge=1, le=64)
    timeout_seconds: int = Field(10, ge=1, le=120)
    retries: int = Field(2, ge=0, le=10)
    next: Ident
    invalid: Ident | None = None
    """Where to go when the retries run out (default: ``next`` without the value)."""

    @field_validator("max_digits")
    @classmethod
    def _min_le_max(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min_digits")
        if low is not None and value < low:
            raise config_error(f"must be at least min_digits ({low})")
        return value


class QueueNode(Strict):
    """Put the call into a queue (the end of the IVR)."""

    type: Literal["queue"]
    queue: Ident
    priority: int | None = Field(None, ge=0, le=1000)
    """Overrides the queue's priority for calls from this node."""
    skills: dict[Ident, Level] | None = None
    """Skills required on top of the queue's own."""
    label: LocalizedText | None = None
    """What the agent's screen-pop shows as the caller's choice."""
    prompt: Prompt | None = None


class HoursNode(Strict):
    """Branch on business hours: a queue's, or a named schedule's."""

    type: Literal["hours"]
    queue: Ident | None = None
    schedule: Ident | None = None
    open: Ident
    closed: Ident

    @model_validator(mode="after")
    def _one_source(self) -> HoursNode:
        if (self.queue is None) == (self.schedule is None):
            raise config_error("set exactly one of queue: <queue id> or schedule: <schedule id>")
        return self


class PlaybackNode(Strict):
    """Play a prompt, then continue (or hang up)."""

    type: Literal["playback"]
    prompt: Prompt
    next: Ident = HANGUP


class HangupNode(Strict):
    type: Literal["hangup"]


IvrNode = Annotated[
    MenuNode | LanguageNode | CollectNode | QueueNode | HoursNode | PlaybackNode | HangupNode,
    Field(discriminator="type"),
]


def node_targets(node: Any) -> list[tuple[str, str]]:
    """(field, node id) pairs a node can continue to, for reference checks and reachability."""
    out: list[tuple[str, str]] = []
    if isinstance(node, MenuNode):
        out += [(f"options.{k}", v) for k, v in node.options.items()]
    for field in ("next", "invalid", "timeout_action", "open", "closed"):
        target = getattr(node, field, None)
        if isinstance(target, str):
            out.append((field, target))
    return out


class IvrNumber(Strict):
    """Where a caller who dialled one particular 400 number enters the tree."""

    entry: Ident
    """The first node (a ``queue`` node: straight to that queue, no menu)."""
    language: Lang | None = None
    """The caller's language from the start (default: ``language_default``)."""


class IvrConfig(Strict):
    """``ivr.yaml``: the caller's path from the 400 number to a queue."""

    languages: tuple[Lang, ...] = Field(("zh", "en"), min_length=1)
    language_default: Lang = "zh"
    entry: Ident = "main"
    numbers: dict[PhoneNumber, IvrNumber] = Field(default_factory=dict)
    """Per dialled number (DNIS), another entry node; numbers not listed use ``entry``."""
    schedules: dict[Ident, BusinessHours] = Field(default_factory=dict)
    nodes: dict[Ident, IvrNode] = Field(min_length=1)

    @field_validator("language_default")
    @classmethod
    def _default_listed(cls, value: str, info: ValidationInfo) -> str:
        langs = info.data.get("languages")
        if langs is not None and value not in langs:
            raise config_error(f"{value!r} is not one of languages ({', '.join(langs)})")
        return value

    def entry_for(self, dialled: str) -> tuple[str, str]:
        """The entry node and starting language for a call to ``dialled``."""
        number = self.numbers.get(dialled)
        if number is None:
            return self.entry, self.language_default
        return number.entry, number.language or self.language_default
