"""Row dataclasses returned by :class:`callcenter.storage.Store`.

They are plain, immutable-by-convention snapshots of a row: changing one does not write
anything; use the store's ``update_*`` methods. Timestamps are float epoch seconds (UTC).
Anything holding a phone number masks it in ``repr`` so that logging a row is safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .masking import mask_identity, mask_number

__all__ = [
    "IDENTITY_KINDS",
    "USER_ROLES",
    "AgentPresence",
    "Callback",
    "ConfigChange",
    "Customer",
    "CustomerIdentity",
    "HistoryEntry",
    "Interaction",
    "Message",
    "QueueLogEvent",
    "Recording",
    "Session",
    "StateChange",
    "Summary",
    "TranscriptSegment",
    "User",
]

IDENTITY_KINDS: frozenset[str] = frozenset({"phone", "wechat_openid", "web_visitor", "email"})
USER_ROLES: frozenset[str] = frozenset({"agent", "supervisor", "admin"})


@dataclass(slots=True)
class CustomerIdentity:
    """One way of recognising a customer (a phone number, a WeChat openid...)."""

    id: int
    customer_id: int
    kind: str
    value: str
    created_at: float

    def __repr__(self) -> str:
        return (
            f"CustomerIdentity(id={self.id}, customer_id={self.customer_id}, kind={self.kind!r},"
            f" value={mask_identity(self.kind, self.value)!r})"
        )


@dataclass(slots=True)
class Customer:
    """A person, whatever channel they used. ``merged_into`` is set on merge losers."""

    id: int
    name: str | None
    attributes: dict[str, Any]
    created_at: float
    updated_at: float
    merged_into: int | None = None
    merged_at: float | None = None
    identities: list[CustomerIdentity] = field(default_factory=list)


@dataclass(slots=True)
class Interaction:
    """One call or one chat, from arrival to the end of wrap-up."""

    id: str
    channel: str
    medium: str | None
    direction: str
    customer_id: int | None
    queue: str | None
    agent_id: str | None
    ivr_choices: list[Any]
    arrived_at: float | None
    offered_at: float | None
    answered_at: float | None
    ended_at: float | None
    wrapup_ended_at: float | None
    outcome: str | None
    disposition: str | None
    notes: str | None
    caller_masked: str | None
    transfer_of: str | None
    attributes: dict[str, Any]


@dataclass(slots=True)
class Message:
    """A chat message in either direction.

    ``duplicate`` is not stored: it is True when ``add_message`` found an existing row
    with the same ``(source, external_id)`` and returned it instead of inserting.
    """

    id: int
    interaction_id: str | None
    customer_id: int | None
    direction: str
    sender: str
    body: str
    content_type: str
    source: str
    external_id: str | None
    created_at: float
    delivered_at: float | None
    delivery_status: str | None
    attempts: int
    last_error: str | None
    duplicate: bool = False


@dataclass(slots=True)
class Recording:
    """An audio file of (one leg of) an interaction."""

    id: int
    interaction_id: str
    path: str
    leg: str
    started_at: float | None
    ended_at: float | None
    duration: float | None
    size: int | None
    status: str
    created_at: float


@dataclass(slots=True)
class TranscriptSegment:
    """A piece of recognised speech; ``start``/``end`` are offsets in seconds."""

    id: int
    interaction_id: str
    recording_id: int | None
    speaker: str | None
    leg: str | None
    start: float
    end: float
    text: str
    engine: str | None
    confidence: float | None
    created_at: float


@dataclass(slots=True)
class Summary:
    """A (usually machine-written) summary of an interaction."""

    id: int
    interaction_id: str
    text: str
    engine: str | None
    created_at: float


@dataclass(slots=True)
class HistoryEntry:
    """One line of the agent's screen-pop: an interaction, its summary, its last messages."""

    interaction: Interaction
    summary: str | None
    last_messages: list[Message]


@dataclass(slots=True)
class StateChange:
    """An agent going ready / paused / logged out..., with the reason if any."""

    id: int
    agent_id: str
    state: str
    reason: str | None
    at: float


@dataclass(slots=True)
class QueueLogEvent:
    """An event of the queue log. ``id`` is None until stored."""

    event: str
    at: float
    interaction_id: str | None = None
    queue: str | None = None
    agent: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(slots=True)
class User:
    """A console account. The password hash is never carried outside the store."""

    id: int
    username: str
    display_name: str | None
    role: str
    teams: list[str]
    agent_id: str | None
    disabled: bool
    has_password: bool
    must_change_password: bool
    created_at: float
    updated_at: float


@dataclass(slots=True)
class Session:
    """A console login session; only the SHA-256 of its token is stored."""

    token_hash: str
    username: str
    created_at: float
    expires_at: float
    last_seen: float


@dataclass(slots=True)
class ConfigChange:
    """Audit record of a configuration file edited from the console."""

    id: int
    at: float
    actor: str
    filename: str
    summary: str | None
    old_text: str | None
    new_text: str | None


@dataclass(slots=True)
class Callback:
    """A request to be called back. ``number`` is masked in ``repr``."""

    id: int
    interaction_id: str | None
    customer_id: int | None
    number: str
    requested_at: float
    queue: str | None
    status: str
    attempts: int
    last_attempt_at: float | None
    next_attempt_at: float | None
    completed_at: float | None
    notes: str | None

    @property
    def number_masked(self) -> str:
        return mask_number(self.number)

    def __repr__(self) -> str:
        return (
            f"Callback(id={self.id}, number={self.number_masked!r}, queue={self.queue!r},"
            f" status={self.status!r}, attempts={self.attempts}, interaction_id="
            f"{self.interaction_id!r})"
        )


@dataclass(slots=True)
class AgentPresence:
    """An agent's saved presence: what a restarted engine signs them back in with."""

    agent_id: str
    presence: str  # ready | not_ready | logged_out
    reason: str | None
    device: str | None
    updated_at: float
