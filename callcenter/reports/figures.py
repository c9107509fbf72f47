"""Interval statistics computed from the event log: pure, so any past period can be
recomputed and a test can check every figure against a scenario worked out by hand.

Inputs are what the store keeps (the queue log, agent state changes, callbacks, CSAT
ratings, and who each contact's customer is); the output is one :class:`Counters` per
(row, bucket), a row being a queue, an agent, a channel (voice, chat) or a medium (the
way the customer came: ``pstn``, ``callback``, ``web``, ``wechat``), plus ``TOTAL``.

Definitions (the wallboard's, ``acd/stats.py``, and app_queue's where it has one)
--------------------------------------------------------------------------------------
Queue, channel and medium rows count what happened in the queue; agent rows what
happened to the agent. Each count goes to the bucket of its event's time.

* ``offered``: contacts that entered the queue (ENTERQUEUE; a transfer enters again);
  for an agent, offers made to them (OFFER).
* ``answered``: CONNECT. ``answered_in_sl``: with a wait <= the queue's
  ``service_level_seconds`` (app_queue's ``callscompletedinsl``).
* ``abandoned``: ABANDON; ``abandoned_short``: wait < the queue's ``short_abandon_seconds``;
  ``abandoned_in_sl``: wait <= the service-level threshold.
* ``timed_out`` (EXITWITHTIMEOUT: the queue's ``max_wait_seconds``, "expired"),
  ``exited_empty`` (EXITEMPTY), ``exited_with_key`` (EXITWITHKEY: left for a callback),
  ``refused`` (FULL, JOINEMPTY, REFUSED: never entered).
* service level ``SL`` = answered_in_sl / answered (app_queue ServicelevelPerf);
  ``SL2`` = (answered_in_sl + abandoned_in_sl) / (answered + abandoned) (ServicelevelPerf2).
* ``abandon_rate`` = (abandoned - abandoned_short) / (answered + abandoned - short), as
  the wallboard shows it.
* ``ASA`` = total wait of answered contacts / answered. ``avg_wait`` and ``max_wait``
  over every contact that left the queue (answered, abandoned, timed out, exited).
* ``AHT`` = (talk + hold + wrap-up) / handled, counted when the wrap-up ends (WRAPUP):
  talk from COMPLETE*/TRANSFER, hold from HOLD/UNHOLD events of the same contact and
  agent, wrap-up from WRAPUP.
* ``transfers``: TRANSFER (to a queue or an agent) and TRANSFEROUT (to a number through
  the trunk) by the row's agent / out of the row's queue.
* ``callbacks_*``: callback requests by the time they were asked for, and what became of
  them (served = done, ``failed``, ``expired``); voice, by queue.
* ``occupancy`` = (busy + wrap-up) / (busy + wrap-up + ready + ringing) agent time
  (not ready and logged out excluded), from agent state changes, split at bucket edges.
  Queue rows: the agents in scope who serve the queue; channel rows: who take it.
  Medium rows have none (an agent takes a channel, whichever medium it comes by): their
  agent time is only in ``TOTAL``.
* ``not_ready_by_reason``: agent seconds not ready, per reason.
* ``FCR`` (first-contact resolution) = answered contacts whose customer made no other
  inbound contact, on any channel, within ``fcr_days`` after it / answered contacts of
  known customers; counted at the contact's first CONNECT in the period. A window not
  yet over counts with what is known so far.
* ``CSAT``: ratings by the time they were given; ``csat_avg`` on a 1-5 scale,
  ``csat_pct`` = share of ratings at or above ``satisfied_from`` (of 5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from callcenter.storage import Callback, QueueLogEvent, StateChange
from callcenter.storage.reports import Contact, Csat

from .periods import Buckets

TOTAL = "*"
BY = ("queue", "agent", "channel", "medium")

_LEFT = frozenset({"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"})
_REFUSED = frozenset({"FULL", "JOINEMPTY", "REFUSED"})
_TALK_ENDS = frozenset({"COMPLETEAGENT", "COMPLETECALLER", "TRANSFER"})
_OCCUPIED = ("busy", "wrap_up")
_AVAILABLE = ("ready", "reserved")
_CALLBACK_END = {"done": "callbacks_served", "failed": "callbacks_failed",
                 "expired": "callbacks_expired"}


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(slots=True)
class Counters:
    """One row's figures in one bucket (or summed over the period)."""

    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    abandoned_short: int = 0
    abandoned_in_sl: int = 0
    timed_out: int = 0
    exited_empty: int = 0
    exited_with_key: int = 0
    refused: int = 0
    transfers: int = 0
    ring_no_answer: int = 0
    rejected: int = 0
    answered_wait: float = 0.0
    waits: int = 0
    wait_total: float = 0.0
    wait_max: float = 0.0
    handled: int = 0
    talk: float = 0.0
    hold: float = 0.0
    wrapup: float = 0.0
    callbacks_requested: int = 0
    callbacks_served: int = 0
    callbacks_expired: int = 0
    callbacks_failed: int = 0
    fcr_contacts: int = 0
    fcr_resolved: int = 0
    csat_count: int = 0
    csat_total: float = 0.0
    csat_satisfied: int = 0
    ready_time: float = 0.0
    reserved_time: float = 0.0
    busy_time: float = 0.0
    wrap_up_time: float = 0.0
    not_ready_time: float = 0.0
    not_ready_by_reason: dict[str, float] = field(default_factory=dict)

    def add(self, other: Counters) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "wait_max":
                self.wait_max = max(mine, theirs)
            elif f.name == "not_ready_by_reason":
                for reason, seconds in theirs.items():
                    mine[reason] = mine.get(reason, 0.0) + seconds
            else:
                setattr(self, f.name, mine + theirs)

    # ------------------------------------------------------------------ derived

    @property
    def service_level(self) -> float | None:
        return _ratio(self.answered_in_sl, self.answered)

    @property
    def service_level_2(self) -> float | None:
        return _ratio(self.answered_in_sl + self.abandoned_in_sl, self.answered + self.abandoned)

    @property
    def abandon_rate(self) -> float | None:
        counted = self.abandoned - self.abandoned_short
        return _ratio(counted, self.answered + counted)

    @property
    def asa(self) -> float | None:
        return _ratio(self.answered_wait, self.answered)

    @property
    def avg_wait(self) -> float | None:
        return _ratio(self.wait_total, self.waits)

    @property
    def aht(self) -> float | None:
        return _ratio(self.talk + self.hold + self.wrapup, self.handled)

    @property
    def occupancy(self) -> float | None:
        busy = self.busy_time + self.wrap_up_time
        return _ratio(busy, busy + self.ready_time + self.reserved_time)

    @property
    def fcr(self) -> float | None:
        return _ratio(self.fcr_resolved, self.fcr_contacts)

    @property
    def csat_avg(self) -> float | None:
        return _ratio(self.csat_total, self.csat_count)

    @property
    def csat_pct(self) -> float | None:
        return _ratio(self.csat_satisfied, self.csat_count)

    def figures(self) -> dict[str, Any]:
        """Every count and derived figure, by name (the API's shape)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["not_ready_by_reason"] = dict(sorted(self.not_ready_by_reason.items()))
        out["wait_max"] = self.wait_max if self.waits else None
        for name in DERIVED:
            out[name] = getattr(self, name)
        return out


DERIVED = ("service_level", "service_level_2", "abandon_rate", "asa", "avg_wait", "aht",
           "occupancy", "fcr", "csat_avg", "csat_pct")


@dataclass(frozen=True)
class Thresholds:
    service_level_seconds: float = 20.0
    short_abandon_seconds: float = 5.0


@dataclass(frozen=True)
class Scope:
    """What one report covers and how its rows are cut.

    ``queues`` / ``agents``: those in scope (a supervisor's teams, the filters chosen);
    ``agent_queues`` / ``agent_channels``: which queues each agent serves and which
    channels they take (for the agent time of queue and channel rows).
    """

    by: str
    queues: frozenset[str]
    agents: frozenset[str]
    channel: str | None = None
    thresholds: Mapping[str, Thresholds] = field(default_factory=dict)
    agent_queues: Mapping[str, frozenset[str]] = field(default_factory=dict)
    agent_channels: Mapping[str, frozenset[str]] = field(default_factory=dict)
    fcr_days: float = 7.0
    satisfied_from: int = 4
    now: float | None = None
    """Agent states still running are counted up to here (None: to the period's end)."""


@dataclass
class Inputs:
    """What the store gave for the period (see ``ReportService.inputs``)."""

    events: list[QueueLogEvent]
    states: list[StateChange] = field(default_factory=list)
    contacts: Mapping[str, Contact] = field(default_factory=dict)
    """The interactions of the tasks in ``events``: channel and customer."""
    customer_contacts: Mapping[int, list[tuple[float, str]]] = field(default_factory=dict)
    """Per customer, their inbound contacts (arrival, id) in arrival order (FCR)."""
    callbacks: list[Callback] = field(default_factory=list)
    csat: list[Csat] = field(default_factory=list)


@dataclass
class Table:
    """Figures per (row key, bucket index); ``TOTAL`` is the row of all in scope."""

    buckets: Buckets
    by: str
    cells: dict[tuple[str, int], Counters] = field(default_factory=dict)

    def cell(self, key: str, i: int) -> Counters:
        c = self.cells.get((key, i))
        if c is None:
            c = self.cells[(key, i)] = Counters()
        return c

    def keys(self) -> list[str]:
        return sorted({k for k, _i in self.cells if k != TOTAL})

    def period(self, key: str) -> Counters:
        """The row summed over every bucket of the period."""
        total = Counters()
        for (k, _i), c in self.cells.items():
            if k == key:
                total.add(c)
        return total


def compute(buckets: Buckets, scope: Scope, inputs: Inputs) -> Table:
    """Every figure of every row and bucket (see the module docstring)."""
    return _Run(buckets, scope, inputs).table


class _Run:
    def __init__(self, buckets: Buckets, scope: Scope, inputs: Inputs) -> None:
        self.b = buckets
        self.s = scope
        self.inputs = inputs
        self.table = Table(buckets, scope.by)
        self.channels: dict[str, str] = {}
        self.media: dict[str, str] = {}
        self.holds: dict[tuple[str, str], float] = {}  # (task, agent) -> hold seconds
        self.held: dict[tuple[str, str], float] = {}  # (task, agent) -> its hold began
        self.talk: dict[tuple[str, str], float] = {}  # (task, agent) -> talk of the leg
        self.first_connect: set[str] = set()
        for e in inputs.events:
            if e.event == "ENTERQUEUE" and e.interaction_id and e.data.get("channel"):
                self.channels.setdefault(e.interaction_id, str(e.data["channel"]))
        for e in inputs.events:
            self._event(e)
        self._states()
        self._callbacks()
        self._csat()

    # ------------------------------------------------------------------ where it counts

    def _channel(self, task: str | None) -> str:
        if task is None:
            return "voice"
        known = self.channels.get(task)
        if known is None:
            contact = self.inputs.contacts.get(task)
            known = self.channels[task] = contact.channel if contact else "voice"
        return known

    def _medium(self, task: str | None, channel: str) -> str:
        """How the contact came (the interaction's medium); voice without a record is
        a phone call."""
        known = self.media.get(task or "")
        if known is None:
            contact = self.inputs.contacts.get(task or "")
            known = (contact.medium if contact and contact.medium else
                     "pstn" if channel == "voice" else channel)
            if task:
                self.media[task] = known
        return known

    def _rows(self, queue: str | None, agent: str | None, channel: str,
              agent_only: bool = False, medium: str | None = None) -> list[str]:
        """The rows an event of (queue, agent, channel, medium) counts in, ``TOTAL``
        last; none when it is out of scope. ``agent_only``: a figure of the agent (an
        offer to them), which queue, channel and medium rows do not count."""
        s = self.s
        if queue is None or queue not in s.queues:
            return []
        if s.channel is not None and channel != s.channel:
            return []
        if s.by == "agent":
            return [agent, TOTAL] if agent is not None and agent in s.agents else []
        if agent_only:
            return []
        if s.by == "medium":
            return [medium or channel, TOTAL]
        return [queue if s.by == "queue" else channel, TOTAL]

    def _cells(self, rows: list[str], i: int) -> list[Counters]:
        return [self.table.cell(r, i) for r in rows]

    # ------------------------------------------------------------------ queue log

    def _event(self, e: QueueLogEvent) -> None:
        kind, task, data = e.event, e.interaction_id, e.data
        leg = (task or "", e.agent or "")
        if kind == "HOLD":
            self.held.setdefault(leg, e.at)
            return
        if kind == "UNHOLD":
            self._unhold(leg, e.at)
            return
        i = self.b.index(e.at)
        channel = self._channel(task)
        if kind in _TALK_ENDS:
            self._unhold(leg, e.at)
            self.talk[leg] = float(data.get("talk", 0.0))
        elif kind == "WRAPUP":  # the leg is over, whether it counts in this report or not
            talk = self.talk.pop(leg, float(data.get("talk", 0.0)))
            hold = self.holds.pop(leg, 0.0)
        if i is None:
            return
        thresholds = self.s.thresholds.get(e.queue or "") or Thresholds()
        wait = float(data.get("wait", 0.0) or 0.0)
        if kind == "OFFER":
            for c in self._cells(self._rows(e.queue, e.agent, channel, agent_only=True), i):
                c.offered += 1
            return
        rows = self._rows(e.queue, e.agent, channel,
                          medium=self._medium(task, channel) if self.s.by == "medium" else None)
        if not rows:
            return
        cells = self._cells(rows, i)
        if kind == "ENTERQUEUE":
            for c in cells:
                c.offered += 1
        elif kind == "CONNECT":
            in_sl = wait <= thresholds.service_level_seconds
            for c in cells:
                c.answered += 1
                c.answered_wait += wait
                c.answered_in_sl += in_sl
                self._waited(c, wait)
            if task and task not in self.first_connect:
                self.first_connect.add(task)
                self._fcr(task, cells)
        elif kind in _LEFT:
            for c in cells:
                self._waited(c, wait)
                if kind == "ABANDON":
                    c.abandoned += 1
                    c.abandoned_short += wait < thresholds.short_abandon_seconds
                    c.abandoned_in_sl += wait <= thresholds.service_level_seconds
                elif kind == "EXITWITHTIMEOUT":
                    c.timed_out += 1
                elif kind == "EXITEMPTY":
                    c.exited_empty += 1
                else:
                    c.exited_with_key += 1
        elif kind in _REFUSED:
            for c in cells:
                c.refused += 1
        elif kind in ("TRANSFER", "TRANSFEROUT"):
            for c in cells:
                c.transfers += 1
        elif kind == "RINGNOANSWER":
            for c in cells:
                c.ring_no_answer += 1
        elif kind == "REJECT":
            for c in cells:
                c.rejected += 1
        elif kind == "WRAPUP":
            wrap = float(data.get("seconds", 0.0))
            for c in cells:
                c.handled += 1
                c.talk += talk
                c.hold += hold
                c.wrapup += wrap

    @staticmethod
    def _waited(c: Counters, wait: float) -> None:
        c.waits += 1
        c.wait_total += wait
        c.wait_max = max(c.wait_max, wait)

    def _unhold(self, leg: tuple[str, str], at: float) -> None:
        began = self.held.pop(leg, None)
        if began is not None and at > began:
            self.holds[leg] = self.holds.get(leg, 0.0) + (at - began)

    def _fcr(self, task: str, cells: list[Counters]) -> None:
        contact = self.inputs.contacts.get(task)
        if contact is None or contact.customer_id is None or contact.arrived_at is None:
            return
        window_end = contact.arrived_at + self.s.fcr_days * 86400
        repeated = any(contact.arrived_at < at <= window_end and other != task
                       for at, other in self.inputs.customer_contacts.get(
                           contact.customer_id, ()))
        for c in cells:
            c.fcr_contacts += 1
            c.fcr_resolved += not repeated

    # ------------------------------------------------------------------ agent time

    def _agent_rows(self, agent: str) -> list[str]:
        s = self.s
        if agent not in s.agents:
            return []
        if s.by == "agent":
            return [agent, TOTAL]
        if s.by == "medium":
            return [TOTAL]
        if s.by == "queue":
            rows = sorted(s.agent_queues.get(agent, frozenset()) & s.queues)
        else:
            rows = sorted(ch for ch in s.agent_channels.get(agent, frozenset())
                          if s.channel is None or ch == s.channel)
        return [*rows, TOTAL]

    def _states(self) -> None:
        end = self.b.t1 if self.s.now is None else min(self.b.t1, self.s.now)
        running: dict[str, StateChange] = {}
        for change in self.inputs.states:
            last = running.get(change.agent_id)
            if last is not None:
                self._time(last, change.at)
            running[change.agent_id] = change
        for last in running.values():
            self._time(last, end)

    def _time(self, change: StateChange, until: float) -> None:
        state = change.state
        if state == "logged_out":
            return
        rows = self._agent_rows(change.agent_id)
        if not rows:
            return
        attr = f"{state}_time"
        for i, seconds in self.b.split(change.at, until):
            for c in self._cells(rows, i):
                if hasattr(c, attr):
                    setattr(c, attr, getattr(c, attr) + seconds)
                if state == "not_ready":
                    reason = change.reason or "not ready"
                    c.not_ready_by_reason[reason] = c.not_ready_by_reason.get(reason, 0.0) \
                        + seconds

    # ------------------------------------------------------------------ callbacks, CSAT

    def _callbacks(self) -> None:
        for cb in self.inputs.callbacks:
            i = self.b.index(cb.requested_at)
            rows = self._rows(cb.queue, None, "voice", medium="callback")
            if i is None or not rows:
                continue
            outcome = _CALLBACK_END.get(cb.status)
            for c in self._cells(rows, i):
                c.callbacks_requested += 1
                if outcome is not None:
                    setattr(c, outcome, getattr(c, outcome) + 1)

    def _csat(self) -> None:
        for rating in self.inputs.csat:
            i = self.b.index(rating.at)
            rows = self._rows(rating.queue, rating.agent_id, rating.channel,
                              medium=rating.medium or rating.channel)
            if i is None or not rows:
                continue
            score = rating.score * 5 / rating.scale
            for c in self._cells(rows, i):
                c.csat_count += 1
                c.csat_total += score
                c.csat_satisfied += score >= self.s.satisfied_from


def customer_contacts(contacts: Iterable[Contact]) -> dict[int, list[tuple[float, str]]]:
    """Per customer, (arrival, id) of their contacts in arrival order (FCR's input)."""
    out: dict[int, list[tuple[float, str]]] = {}
    for c in contacts:
        if c.customer_id is not None and c.arrived_at is not None:
            out.setdefault(c.customer_id, []).append((c.arrived_at, c.id))
    for items in out.values():
        items.sort()
    return out
