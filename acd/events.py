"""Everything the engine returns: decisions for adapters and log events.

Every engine input returns a ``list[Output]`` in the order things happened.
*Decisions* ask an adapter to do something (ring an agent, stop ringing, play
a position announcement, send a caller out of the queue). *Log events*
(:class:`LogEvent`, queue_log style) record each change for storage and for
:mod:`acd.stats`. Both are plain slotted dataclasses (comparable, cheap to
build: a frozen dataclass costs 5x more to construct, and these are made on
every routing decision); treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._state import AgentState


@dataclass(slots=True)
class Offer:
    """Reserve ``task_id`` for ``agent_id`` (ring the phone / show the chat).

    The agent answers with ``offer_accepted``/``offer_rejected``; with no
    answer by ``deadline`` (``None``: no deadline) the engine times it out on
    the next input at or after that time.
    """

    offer_id: str
    task_id: str
    agent_id: str
    channel: str
    queue: str
    deadline: float | None


@dataclass(slots=True)
class WithdrawOffer:
    """Stop offering: the offer is void (reason: one of ``WITHDRAW_*``)."""

    offer_id: str
    task_id: str
    agent_id: str
    reason: str
    channel: str


WITHDRAW_ANSWERED_ELSEWHERE = "answered_elsewhere"  # ring_all: another agent accepted
WITHDRAW_CANCELLED = "cancelled"  # the customer left
WITHDRAW_TIMEOUT = "timeout"  # nobody answered before the deadline
WITHDRAW_AGENT_LOGGED_OUT = "agent_logged_out"


@dataclass(slots=True)
class AnnouncePosition:
    """Tell a waiting voice caller its position (1 = next) and expected wait.

    ``expected_wait`` is ``None`` until the queue has a handle-time sample or
    while nobody is staffed.
    """

    task_id: str
    queue: str
    position: int
    expected_wait: float | None
    channel: str = "voice"  # only voice callers hear their place


@dataclass(slots=True)
class RejectArrival:
    """The task was not queued (reason: one of ``REFUSE_*``)."""

    task_id: str
    queue: str
    reason: str
    channel: str


REFUSE_FULL = "full"
REFUSE_EMPTY = "empty"
REFUSE_UNKNOWN_QUEUE = "unknown_queue"
REFUSE_CHANNEL = "channel_not_accepted"


@dataclass(slots=True)
class LeaveQueue:
    """Take the task out of the queue and run the queue's exit action.

    ``reason`` is ``"timeout"`` (max_wait_seconds) or ``"empty"``
    (leave_when_empty); the adapter applies the action configured for it
    (e.g. the dialplan continues after Queue(), like app_queue).
    """

    task_id: str
    queue: str
    reason: str
    channel: str


LEAVE_TIMEOUT = "timeout"
LEAVE_EMPTY = "empty"
CANCEL_CALLBACK = "callback"
"""``task_cancelled`` reason of a customer who asked to be called back (rule L2)."""
CANCEL_UNREACHED = "unreached"
"""``task_cancelled`` reason of a callback whose customer did not answer (rule L2)."""
CANCEL_VOICEMAIL = "voicemail"
"""``task_cancelled`` reason of a caller an escalation step sent to leave a message: they
waited out the queue's time, so EXITWITHTIMEOUT, not an abandon (rule L2)."""


@dataclass(slots=True)
class EscalationAction:
    """An escalation step's ``action`` for the adapter (callback, voicemail...).

    The task stays queued; the adapter cancels or transfers it if the
    customer takes the option. ``target`` is the step's overflow queue, if any.
    """

    task_id: str
    queue: str
    action: str
    target: str | None
    step: int
    channel: str


@dataclass(slots=True)
class AgentStateChanged:
    """The agent's summary state changed (see ``acd/_state.py`` rule A)."""

    time: float
    agent_id: str
    state: AgentState
    reason: str | None = None


@dataclass(slots=True)
class Ignored:
    """An input that no longer applies (late accept, unknown id...).

    Adapters race with the engine (an agent clicks accept as the offer times
    out), so these are normal, not errors; ``input`` names the method.
    """

    input: str
    ref: str
    reason: str


@dataclass(slots=True)
class LogEvent:
    """One queue_log-style record: ``kind`` is one of the ``K_*`` names.

    ``data`` holds kind-specific numbers, e.g. ``wait`` (seconds since the task
    entered this queue) on CONNECT/ABANDON/EXIT*, ``talk`` on COMPLETE*/TRANSFER,
    ``seconds`` on WRAPUP, ``reason`` on PAUSE.
    """

    time: float
    kind: str
    task_id: str | None = None
    queue: str | None = None
    agent_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


# Log event kinds. Terminal kinds (TERMINAL_KINDS) end a task: exactly one per task.
K_ENTERQUEUE = "ENTERQUEUE"
K_OFFER = "OFFER"
K_CONNECT = "CONNECT"
K_RINGNOANSWER = "RINGNOANSWER"
K_REJECT = "REJECT"
K_RINGCANCELED = "RINGCANCELED"
K_ABANDON = "ABANDON"
K_EXITEMPTY = "EXITEMPTY"
K_EXITWITHTIMEOUT = "EXITWITHTIMEOUT"
K_EXITWITHKEY = "EXITWITHKEY"
K_UNREACHED = "UNREACHED"
K_FULL = "FULL"
K_JOINEMPTY = "JOINEMPTY"
K_REFUSED = "REFUSED"
K_COMPLETEAGENT = "COMPLETEAGENT"
K_COMPLETECALLER = "COMPLETECALLER"
K_TRANSFER = "TRANSFER"
K_ESCALATE = "ESCALATE"
K_WRAPUP = "WRAPUP"
K_PAUSE = "PAUSE"
K_UNPAUSE = "UNPAUSE"
K_AGENTLOGIN = "AGENTLOGIN"
K_AGENTLOGOFF = "AGENTLOGOFF"
K_CONFIGRELOAD = "CONFIGRELOAD"

TERMINAL_KINDS = frozenset(
    {
        K_ABANDON,
        K_EXITEMPTY,
        K_EXITWITHTIMEOUT,
        K_EXITWITHKEY,
        K_UNREACHED,
        K_FULL,
        K_JOINEMPTY,
        K_REFUSED,
        K_COMPLETEAGENT,
        K_COMPLETECALLER,
    }
)

_CANCEL_KINDS = {CANCEL_CALLBACK: K_EXITWITHKEY, CANCEL_UNREACHED: K_UNREACHED,
                 CANCEL_VOICEMAIL: K_EXITWITHTIMEOUT}


def cancel_kind(reason: str) -> str:
    """Rule L2: the log kind of a task that left before being connected."""
    return _CANCEL_KINDS.get(reason, K_ABANDON)

Decision = (
    Offer
    | WithdrawOffer
    | AnnouncePosition
    | RejectArrival
    | LeaveQueue
    | EscalationAction
    | AgentStateChanged
    | Ignored
)
Output = Decision | LogEvent
