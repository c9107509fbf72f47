"""Durable storage of the contact center: one SQLite file (WAL) behind an async ``Store``.

What must never be lost lives here: customers and their identities, every interaction
(call, chat) with its queue, agent, times and outcome, chat messages, recordings,
transcripts and summaries; plus the queue event log, agent states, console users and
sessions, the configuration audit trail and callback requests. ``store.py`` says which
module holds which kind of record.
"""

from .errors import MigrationError, NotFound, StorageError
from .masking import mask_email, mask_identity, mask_number
from .models import (
    IDENTITY_KINDS,
    USER_ROLES,
    AgentPresence,
    Callback,
    ConfigChange,
    Customer,
    CustomerIdentity,
    HistoryEntry,
    Interaction,
    Message,
    QueueLogEvent,
    Recording,
    Session,
    StateChange,
    Summary,
    TranscriptSegment,
    User,
)
from .store import DEFAULT_SESSION_TTL, Store, hash_session_token, normalize_identity

__all__ = [
    "DEFAULT_SESSION_TTL",
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
    "MigrationError",
    "NotFound",
    "QueueLogEvent",
    "Recording",
    "Session",
    "StateChange",
    "StorageError",
    "Store",
    "Summary",
    "TranscriptSegment",
    "User",
    "hash_session_token",
    "mask_email",
    "mask_identity",
    "mask_number",
    "normalize_identity",
]
