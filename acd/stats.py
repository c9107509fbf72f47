"""Queue and agent statistics computed from the engine's own output stream.

Pure and separate from the engine: feed it the lists the engine returns (or
the same events replayed from storage) and it answers real-time and
per-interval questions. It needs the queue definitions only for their
thresholds (``service_level_seconds``, ``short_abandon_seconds``).

Definitions (per queue; counts attributed to the interval of the event time)
-------------------------------------------------------------------------------
* ``entered``: tasks that entered the queue (ENTERQUEUE) -- "offered to the
  queue" in contact-center wording; ``offers`` counts offers made to agents.
* ``answered``: CONNECT events; ``answered_in_sl``: those with wait <= SL
  threshold (app_queue's ``callscompletedinsl`` test, ``<=``).
* ``abandoned``: ABANDON events; ``abandoned_short``: wait < short-abandon
  threshold; ``abandoned_in_sl``: wait <= SL threshold.
* ``service_level`` (app_queue ``ServicelevelPerf``, queues.conf "SL"):
  answered_in_sl / answered.
* ``service_level_2`` (app_queue ``ServicelevelPerf2``, "SL2"):
  (answered_in_sl + abandoned_in_sl) / (answered + abandoned).
* ``service_level_offered``: answered_in_sl / (answered + abandoned -
  abandoned_short), a common WFM variant where abandons count against the
  level except short ones. (app_queue itself has no short-abandon notion.)
  All three are fractions in [0, 1] and ``None`` when the denominator is 0.
* ``asa``: total wait of answered tasks / answered.
* ``aht``: (talk + wrap-up) / handled, where a leg is handled when its WRAPUP
  arrives (talk comes from COMPLETE*/TRANSFER, wrap-up from WRAPUP).
* occupancy (all agents, per interval): time in busy + wrap_up divided by
  time in busy + wrap_up + ready + reserved (not_ready and logged_out are
  excluded), from AgentStateChanged; a state's time is split across interval
  boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ._state import AgentState
from .events import (
    K_ABANDON,
    K_COMPLETEAGENT,
    K_COMPLETECALLER,
    K_CONNECT,
    K_ENTERQUEUE,
    K_EXITEMPTY,
    K_EXITWITHKEY,
    K_EXITWITHTIMEOUT,
    K_FULL,
    K_JOINEMPTY,
    K_OFFER,
    K_REFUSED,
    K_REJECT,
    K_RINGNOANSWER,
    K_TRANSFER,
    K_UNREACHED,
    K_WRAPUP,
    AgentStateChanged,
    LogEvent,
    Output,
)
from .model import Queue

_OCCUPIED = (AgentState.BUSY, AgentState.WRAP_UP)
_AVAILABLE = (AgentState.READY, AgentState.RESERVED)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(slots=True)
class QueueCounters:
    """Counts for one queue over one interval (or in total)."""

    entered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    abandoned_short: int = 0
    abandoned_in_sl: int = 0
    timed_out: int = 0
    exited_empty: int = 0
    exited_with_key: int = 0  # asked to be called back (rule L2): the callback counts
    unreached: int = 0  # callback attempts whose customer did not answer (rule L2)

    refused: int = 0
    transferred: int = 0
    offers: int = 0
    ring_no_answer: int = 0
    rejected: int = 0
    answered_wait_total: float = 0.0
    handled: int = 0
    talk_total: float = 0.0
    wrapup_total: float = 0.0

    @property
    def service_level(self) -> float | None:
        return _ratio(self.answered_in_sl, self.answered)

    @property
    def service_level_2(self) -> float | None:
        return _ratio(self.answered_in_sl + self.abandoned_in_sl, self.answered + self.abandoned)

    @property
    def service_level_offered(self) -> float | None:
        return _ratio(self.answered_in_sl, self.answered + self.abandoned - self.abandoned_short)

    @property
    def abandoned_excluding_short(self) -> int:
        return self.abandoned - self.abandoned_short

    @property
    def asa(self) -> float | None:
        return _ratio(self.answered_wait_total, self.answered)

    @property
    def aht(self) -> float | None:
        return _ratio(self.talk_total + self.wrapup_total, self.handled)


@dataclass(frozen=True, slots=True)
class QueueNow:
    """Real-time view of one queue."""

    queue: str
    waiting: int
    longest_wait: float


@dataclass(slots=True)
class _AgentTrack:
    state: AgentState
    since: float


@dataclass(slots=True)
class _Leg:
    queue: str
    talk: float


@dataclass
class Stats:
    """Consumes engine outputs; answers real-time and interval questions."""

    queues: Iterable[Queue] = ()
    interval_seconds: float = 900.0
    _cfg: dict[str, Queue] = field(default_factory=dict, init=False)
    _totals: dict[str, QueueCounters] = field(default_factory=dict, init=False)
    _buckets: dict[tuple[str, float], QueueCounters] = field(default_factory=dict, init=False)
    _waiting: dict[str, dict[str, float]] = field(default_factory=dict, init=False)
    _agents: dict[str, _AgentTrack] = field(default_factory=dict, init=False)
    _agent_time: dict[float, dict[AgentState, float]] = field(default_factory=dict, init=False)
    _legs: dict[tuple[str, str], _Leg] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if self.interval_seconds <= 0:
            raise ValueError("interval_seconds must be > 0")
        self.update_queues(self.queues)

    def update_queues(self, queues: Iterable[Queue]) -> None:
        """Take new thresholds (old queues keep theirs)."""
        for q in queues:
            self._cfg[q.name] = q

    # ------------------------------------------------------------ input

    def feed(self, outputs: Iterable[Output]) -> None:
        for ev in outputs:
            if isinstance(ev, LogEvent):
                self._log(ev)
            elif isinstance(ev, AgentStateChanged):
                self._agent_state(ev)

    def bucket(self, t: float) -> float:
        """Start of the interval containing ``t``."""
        return math.floor(t / self.interval_seconds) * self.interval_seconds

    def _counters(self, queue: str, t: float) -> tuple[QueueCounters, QueueCounters]:
        tot = self._totals.get(queue)
        if tot is None:
            tot = self._totals[queue] = QueueCounters()
        key = (queue, self.bucket(t))
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = QueueCounters()
        return tot, b

    def _log(self, ev: LogEvent) -> None:
        k = ev.kind
        q = ev.queue
        if q is None:
            return
        cfg = self._cfg.get(q) or Queue(q)
        d = ev.data
        cs = self._counters(q, ev.time)
        waiting = self._waiting.setdefault(q, {})
        if k == K_ENTERQUEUE:
            assert ev.task_id is not None
            waiting[ev.task_id] = ev.time
            for c in cs:
                c.entered += 1
        elif k == K_CONNECT:
            waiting.pop(ev.task_id or "", None)
            w = float(d.get("wait", 0.0))
            for c in cs:
                c.answered += 1
                c.answered_wait_total += w
                if w <= cfg.service_level_seconds:
                    c.answered_in_sl += 1
        elif k == K_ABANDON:
            waiting.pop(ev.task_id or "", None)
            w = float(d.get("wait", 0.0))
            for c in cs:
                c.abandoned += 1
                if w < cfg.short_abandon_seconds:
                    c.abandoned_short += 1
                if w <= cfg.service_level_seconds:
                    c.abandoned_in_sl += 1
        elif k in (K_EXITWITHTIMEOUT, K_EXITEMPTY, K_EXITWITHKEY, K_UNREACHED):
            waiting.pop(ev.task_id or "", None)
            for c in cs:
                if k == K_EXITWITHTIMEOUT:
                    c.timed_out += 1
                elif k == K_EXITEMPTY:
                    c.exited_empty += 1
                elif k == K_EXITWITHKEY:
                    c.exited_with_key += 1
                else:
                    c.unreached += 1
        elif k in (K_FULL, K_JOINEMPTY, K_REFUSED):
            for c in cs:
                c.refused += 1
        elif k == K_OFFER:
            for c in cs:
                c.offers += 1
        elif k == K_RINGNOANSWER:
            for c in cs:
                c.ring_no_answer += 1
        elif k == K_REJECT:
            for c in cs:
                c.rejected += 1
        elif k in (K_COMPLETEAGENT, K_COMPLETECALLER, K_TRANSFER):
            if ev.task_id is not None and ev.agent_id is not None:
                self._legs[(ev.task_id, ev.agent_id)] = _Leg(q, float(d.get("talk", 0.0)))
            if k == K_TRANSFER:
                for c in cs:
                    c.transferred += 1
        elif k == K_WRAPUP:
            leg = self._legs.pop((ev.task_id or "", ev.agent_id or ""), None)
            talk = leg.talk if leg is not None else float(d.get("talk", 0.0))
            wrap = float(d.get("seconds", 0.0))
            for c in cs:
                c.handled += 1
                c.talk_total += talk
                c.wrapup_total += wrap

    def _agent_state(self, ev: AgentStateChanged) -> None:
        tr = self._agents.get(ev.agent_id)
        if tr is not None:
            self._add_time(tr.state, tr.since, ev.time)
            tr.state, tr.since = ev.state, ev.time
        else:
            self._agents[ev.agent_id] = _AgentTrack(ev.state, ev.time)

    def _add_time(self, state: AgentState, start: float, end: float) -> None:
        if state is AgentState.LOGGED_OUT or end <= start:
            return
        t = start
        while t < end:
            b = self.bucket(t)
            stop = min(end, b + self.interval_seconds)
            slot = self._agent_time.setdefault(b, {})
            slot[state] = slot.get(state, 0.0) + (stop - t)
            t = stop

    # ------------------------------------------------------------ queries

    def totals(self, queue: str) -> QueueCounters:
        return self._totals.get(queue) or QueueCounters()

    def interval(self, queue: str, start: float) -> QueueCounters:
        return self._buckets.get((queue, self.bucket(start))) or QueueCounters()

    def intervals(self, queue: str | None = None) -> list[tuple[str, float, QueueCounters]]:
        return sorted(
            (q, b, c) for (q, b), c in self._buckets.items() if queue is None or q == queue
        )

    def realtime(self, queue: str, now: float) -> QueueNow:
        w = self._waiting.get(queue) or {}
        first = next(iter(w.values()), None)  # insertion order = entry order
        return QueueNow(queue, len(w), (now - first) if first is not None else 0.0)

    def agents_by_state(self) -> Mapping[AgentState, int]:
        out: dict[AgentState, int] = {}
        for tr in self._agents.values():
            out[tr.state] = out.get(tr.state, 0) + 1
        return out

    def agent_time(self, start: float, now: float | None = None) -> Mapping[AgentState, float]:
        """Agent-seconds per state in the interval starting at ``start``.

        With ``now``, states still running are counted up to ``now``.
        """
        b = self.bucket(start)
        res = dict(self._agent_time.get(b, {}))
        if now is not None:
            end = min(now, b + self.interval_seconds)
            for tr in self._agents.values():
                s = max(tr.since, b)
                if tr.state is not AgentState.LOGGED_OUT and end > s:
                    res[tr.state] = res.get(tr.state, 0.0) + (end - s)
        return res

    def occupancy(self, start: float, now: float | None = None) -> float | None:
        t = self.agent_time(start, now)
        busy = sum(t.get(s, 0.0) for s in _OCCUPIED)
        avail = sum(t.get(s, 0.0) for s in _AVAILABLE)
        return _ratio(busy, busy + avail)
