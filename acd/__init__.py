"""ACD core: a sans-I/O queue engine for voice and text tasks.

Adapters feed inputs (with ``now``) to :class:`Engine` and act on the returned
decisions; :class:`Stats` turns the same outputs into queue statistics.
See ``acd/README.md`` for the API and ``acd/_state.py`` for the rules.
"""

from ._state import AgentState, Presence, TaskState, qualifies
from .engine import AcdError, Engine
from .events import (
    CANCEL_CALLBACK,
    CANCEL_UNREACHED,
    CANCEL_VOICEMAIL,
    TERMINAL_KINDS,
    AgentStateChanged,
    AnnouncePosition,
    Decision,
    EscalationAction,
    Ignored,
    LeaveQueue,
    LogEvent,
    Offer,
    Output,
    RejectArrival,
    WithdrawOffer,
)
from .model import (
    VOICE,
    Agent,
    BlendRule,
    EmptyPolicy,
    EscalationActionKind,
    EscalationStep,
    Membership,
    OwedWrapup,
    Queue,
    Strategy,
    Task,
)
from .stats import QueueCounters, QueueNow, Stats
from .views import AgentView, WaitingTask

__all__ = [
    "CANCEL_CALLBACK",
    "CANCEL_UNREACHED",
    "CANCEL_VOICEMAIL",
    "TERMINAL_KINDS",
    "VOICE",
    "AcdError",
    "Agent",
    "AgentState",
    "AgentStateChanged",
    "AgentView",
    "AnnouncePosition",
    "BlendRule",
    "Decision",
    "EmptyPolicy",
    "Engine",
    "EscalationAction",
    "EscalationActionKind",
    "EscalationStep",
    "Ignored",
    "LeaveQueue",
    "LogEvent",
    "Membership",
    "Offer",
    "Output",
    "OwedWrapup",
    "Presence",
    "Queue",
    "QueueCounters",
    "QueueNow",
    "RejectArrival",
    "Stats",
    "Strategy",
    "Task",
    "TaskState",
    "WaitingTask",
    "WithdrawOffer",
    "qualifies",
]
