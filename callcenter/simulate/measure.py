"""What a load run is judged by, measured the same way whatever routes the calls.

* **At the agents' phones** (SIPp's message trace, ``-trace_msg``): when each agent
  sent a BYE (the agent is free), when each agent was offered a call (a new INVITE),
  and when each answered. Dispatch latency pairs, per queue and in order, each INVITE
  with the oldest BYE of that queue still unpaired: the time a freed agent of the queue
  waited until the next call was put through to one of its agents. INVITEs with no
  earlier unpaired BYE (the first fill of idle agents) are not dispatches.
* **From /proc**: CPU seconds of a process and its children, sampled at the start and
  the end of the measuring window, as % of one core.

Pure apart from reading files; the bench and the tests share it.
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

_HEADER = re.compile(r"^-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$", re.M)
_USER = re.compile(r"sip:([^@;>]+)@")


@dataclass(frozen=True, slots=True)
class PhoneEvent:
    """One thing a phone did, at ``at`` (epoch seconds). An agent's phone (``extension``):
    ``invite`` (a new call rang it; ``peer`` is who it shows as calling), ``answer``, or
    ``bye`` (it hung up). A caller's phone: ``in`` (Asterisk answered its call: it is in
    the system; ``extension`` is the caller's number, ``peer`` the number dialled)."""

    at: float
    kind: str
    extension: str
    call_id: str
    peer: str = ""


def read_trace(path: Path) -> list[PhoneEvent]:
    """The agents' phone events in a SIPp ``-trace_msg`` file, in time order; each SIP
    transaction once (retransmissions are the same Call-ID and kind)."""
    text = path.read_text(errors="replace") if path.exists() else ""
    return parse_trace(text)


def parse_trace(text: str) -> list[PhoneEvent]:
    events: list[PhoneEvent] = []
    seen: set[tuple[str, str]] = set()
    for at, sent, message in _messages(text):
        lines = message.split("\n")
        first = lines[0].strip()
        headers = _headers(lines[1:])
        call_id = headers.get("call-id", "")
        kind, extension = "", ""
        peer = ""
        if not sent and first.startswith("INVITE ") and ";tag=" not in headers.get("to", ""):
            kind, extension, peer = "invite", _user(first), _display(headers.get("from", ""))
        elif not sent and first.startswith("SIP/2.0 200") and headers.get("cseq", "").endswith(
                "INVITE") and _user(headers.get("from", "")).isdigit():
            kind, extension, peer = "in", _user(headers.get("from", "")), _user(
                headers.get("to", ""))
        elif sent and first.startswith("BYE "):
            kind, extension = "bye", _user(headers.get("from", ""))
        elif sent and first.startswith("SIP/2.0 200") and headers.get("cseq", "").endswith(
                "INVITE"):
            kind, extension = "answer", _user(headers.get("to", ""))
        if kind and (call_id, kind) not in seen:
            seen.add((call_id, kind))
            events.append(PhoneEvent(at, kind, extension, call_id, peer))
    events.sort(key=lambda e: e.at)
    return events


def _messages(text: str) -> Iterator[tuple[float, bool, str]]:
    marks = list(_HEADER.finditer(text))
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        body = text[mark.end():following.start() if following else len(text)].lstrip("\n")
        direction, _, message = body.partition("\n")
        at = datetime.strptime(mark.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        yield at, "sent" in direction, message.replace("\r", "").lstrip("\n")


def _headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            break
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return headers


def _user(text: str) -> str:
    found = _USER.search(text)
    return found.group(1) if found else ""


def _display(text: str) -> str:
    found = re.search(r'"([^"]*)"', text)
    return found.group(1) if found else ""


def caller_key(text: str) -> str | None:
    """The first three and last four digits of a number, masked (``140****0724``, as
    the engine shows callers to agents) or whole (as app_queue does); None if neither."""
    found = re.search(r"(\d{3})(?:\*+|\d+)(\d{4})\b", text)
    return f"{found.group(1)}-{found.group(2)}" if found else None


@dataclass(frozen=True)
class CallerWait:
    queue: str
    joined: float  # Asterisk answered the caller
    reached: float | None  # an agent's phone first rang for this caller


def caller_waits(callers: Iterable[PhoneEvent], agents: Iterable[PhoneEvent],
                 queue_of_number: Callable[[str], str | None]) -> list[CallerWait]:
    """Each caller from its answer until an agent's phone first rang for it (matched by
    the caller's number as the agent's phone shows it)."""
    rang: dict[str, deque[float]] = defaultdict(deque)
    for event in agents:
        key = caller_key(event.peer) if event.kind == "invite" else None
        if key:
            rang[key].append(event.at)
    waits = []
    for event in sorted((e for e in callers if e.kind == "in"), key=lambda e: e.at):
        queue, key = queue_of_number(event.peer), caller_key(event.extension)
        if queue is None or key is None:
            continue
        times = rang.get(key, deque())
        while times and times[0] < event.at:
            times.popleft()
        waits.append(CallerWait(queue, event.at, times.popleft() if times else None))
    return waits


@dataclass(frozen=True)
class Dispatch:
    """The figures of one run's window at the phones."""

    latencies_ms: list[float]  # freed agent -> next call rung in its queue
    answered: int  # calls agents answered in the window
    window_s: float
    waiting_latencies_ms: list[float] = field(default_factory=list)  # a caller was waiting
    waits_s: list[float] = field(default_factory=list)  # callers who joined in the window

    @property
    def mean_wait_s(self) -> float:
        return sum(self.waits_s) / len(self.waits_s) if self.waits_s else float("nan")

    @property
    def answered_per_s(self) -> float:
        return self.answered / self.window_s if self.window_s > 0 else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)


# Asterisk's Answer() waits up to 500 ms for a caller's first audio frame before the
# dialplan goes on (to Queue(), or to the engine's IVR); SIPp's callers send none. A
# caller answered less than this long ago may not be in any queue yet, under either router.
SETTLE_S = 0.6


def dispatch(events: Iterable[PhoneEvent], queue_of: Callable[[str], str | None],
             window: tuple[float, float], waits: list[CallerWait] | None = None,
             settle_s: float = SETTLE_S) -> Dispatch:
    """Dispatch latencies of the BYEs sent inside ``window`` and the answers in it; with
    ``waits``, also the latencies of the BYEs at which a caller of that queue was waiting
    (answered at least ``settle_s`` before, no agent rung for it yet), and the waits of
    callers who joined in it."""
    start, end = window
    freed: dict[str, deque[float]] = defaultdict(deque)
    latencies: list[float] = []
    waiting: list[float] = []
    answered = 0
    by_queue: dict[str, list[CallerWait]] = defaultdict(list)
    for wait in waits or []:
        by_queue[wait.queue].append(wait)
    for event in events:
        queue = queue_of(event.extension)
        if queue is None:
            continue
        if event.kind == "bye":
            freed[queue].append(event.at)
        elif event.kind == "invite" and freed[queue]:
            released = freed[queue].popleft()
            if start <= released <= end:
                latency = (event.at - released) * 1000.0
                latencies.append(latency)
                if any(w.joined + settle_s <= released
                       and (w.reached is None or w.reached > released)
                       for w in by_queue[queue]):
                    waiting.append(latency)
        elif event.kind == "answer" and start <= event.at <= end:
            answered += 1
    waits_s = [w.reached - w.joined for w in waits or []
               if start <= w.joined <= end and w.reached is not None]
    return Dispatch(latencies, answered, end - start, waiting, waits_s)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


# ---- CPU from /proc -----------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads) so far; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children[parent].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


class CpuMeter:
    """CPU % of one core used by a set of processes between ``begin()`` and ``end()``."""

    def __init__(self, pids: Callable[[], list[int]], clock: Callable[[], float]) -> None:
        self._pids = pids
        self._clock = clock
        self._start: tuple[float, dict[int, float]] | None = None
        self.percent: float | None = None

    def begin(self) -> None:
        self._start = (self._clock(), {pid: cpu_seconds(pid) for pid in self._pids()})

    def end(self) -> float:
        if self._start is None:
            raise RuntimeError("CpuMeter.end() before begin()")
        began, before = self._start
        elapsed = self._clock() - began
        used = sum(cpu_seconds(pid) - before.get(pid, 0.0) for pid in self._pids())
        self.percent = 100.0 * used / elapsed if elapsed > 0 else 0.0
        return self.percent
