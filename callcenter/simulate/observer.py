"""An AMI observer independent of the engine: what happened to every caller, by Asterisk.

It logs in on its own AMI session and reads events only (it never sends an
action that changes anything), and keeps for each caller channel of the carrier
trunk: when it arrived, when it first waited on hold, when it was first dialled
to an agent, which agents' legs shared a bridge with it, and when and how it ended. From that,
``Tally`` counts what a call center cares about: callers dropped unserved,
callers served twice, channels left behind, and callers served out of order.

A minimal AMI reader (not panoramisk, not the engine's ``AmiLink``) so that a
bug in the engine's AMI handling cannot hide itself from the observer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

CALLER_PREFIX = "PJSIP/carrier-"


@dataclass
class Caller:
    uid: str
    arrived: float
    queue: str | None = None
    task: str | None = None  # the engine's interaction id (CC_TASK), to find it in its log
    held: float | None = None  # first CallCenterWaiting
    standby_at: float | None = None  # first waited for an absent engine (its IVR failed)
    first_dial: float | None = None
    agents: set[str] = field(default_factory=set)  # agent legs bridged with this caller
    ended: float | None = None
    cause: str = ""
    lost_with_asterisk: bool = False  # alive when Asterisk itself restarted

    @property
    def standby(self) -> bool:
        return self.standby_at is not None

    @property
    def served(self) -> bool:
        return bool(self.agents)


@dataclass
class Tally:
    callers: int
    served: int
    dropped: int  # ended without meeting an agent (Asterisk restarts excluded)
    served_twice: int
    lost_with_asterisk: int
    leaked: int
    order_violations: int
    still_waiting: int
    resume_s: float | None
    agents_after_resume: int  # agents' phones rung after service resumed
    outage_callers: int  # arrived while the engine (or link, or Asterisk) was away
    outage_served: int


class AmiObserver:
    """``tape``: every byte the observer reads is also written there (``bench/ami.py``
    replays it: logged in as the engine's AMI user, it is the engine's event stream)."""

    def __init__(self, *, host: str, port: int, username: str, secret: str,
                 tape: Path | None = None) -> None:
        self._login = (host, port, username, secret)
        self._tape = tape.open("ab") if tape is not None else None
        self.callers: dict[str, Caller] = {}
        self._bridges: dict[str, set[str]] = defaultdict(set)
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.dials: list[tuple[float, str]] = []  # (time, agent device) of every DialBegin
        self.reconnected_at: list[float] = []
        self._closing = False
        self._listing: list[dict[str, str]] = []
        self._listed = asyncio.Event()

    async def start(self, timeout: float = 10.0) -> None:
        self._task = asyncio.create_task(self._run(), name="ami-observer")
        async with asyncio.timeout(timeout):
            await self.connected.wait()

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()
        if self._tape is not None:
            self._tape.close()

    async def _run(self) -> None:
        host, port, username, secret = self._login
        first = True
        while not self._closing:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            self._writer = writer
            writer.write(f"Action: Login\r\nUsername: {username}\r\nSecret: {secret}\r\n"
                         f"Events: call,user,system\r\n\r\n".encode())
            await writer.drain()
            with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError):
                await self._read(reader, first)
            first = False
            self.connected.clear()
            now = time.time()
            for caller in self.callers.values():  # Asterisk went away: its calls with it
                if caller.ended is None:
                    caller.lost_with_asterisk = True
                    caller.ended = now
            self._bridges.clear()
            await asyncio.sleep(0.2)

    async def _read(self, reader: asyncio.StreamReader, first: bool) -> None:
        await reader.readline()  # the banner
        message: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError("AMI closed")
            if self._tape is not None:
                self._tape.write(line)
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text:
                key, _, value = text.partition(": ")
                message[key] = value
                continue
            if message.get("Event") == "FullyBooted" and not self.connected.is_set():
                self.connected.set()
                if not first:
                    self.reconnected_at.append(time.time())
            if "Event" in message:
                self._on_event(message)
            message = {}

    def restarted_since(self, since: float) -> None:
        """Asterisk was told to restart at ``since``: it hangs up every channel before its
        AMI goes away, so callers who ended unserved from then on went with it."""
        for caller in self.callers.values():
            if caller.ended is not None and caller.ended >= since and not caller.served:
                caller.lost_with_asterisk = True

    def _on_event(self, event: dict[str, str]) -> None:
        name = event.get("Event")
        if event.get("ActionID") == "observer-list":
            if name == "CoreShowChannel":
                self._listing.append(event)
            elif name == "CoreShowChannelsComplete":
                self._listed.set()
            return
        at = float(event.get("Timestamp") or time.time())
        uid = event.get("Uniqueid", "")
        if name == "Newchannel" and event.get("Channel", "").startswith(CALLER_PREFIX):
            self.callers[uid] = Caller(uid=uid, arrived=at)
            return
        caller = self.callers.get(uid)
        if name == "UserEvent" and caller is not None:
            kind = event.get("UserEvent")
            if kind == "CallCenterWaiting":
                caller.queue = caller.queue or event.get("Queue")
                caller.task = caller.task or event.get("Task")
                caller.held = caller.held or at
            elif kind == "CallCenterStandby":
                caller.standby_at = caller.standby_at or at
        elif name == "DialBegin":
            device = event.get("DestChannel", "").partition("/")[2].rpartition("-")[0]
            self.dials.append((at, device))
            if caller is not None and caller.first_dial is None:
                caller.first_dial = at
        elif name == "BridgeEnter":
            members = self._bridges[event.get("BridgeUniqueid", "")]
            members.add(uid)
            self._pair(members)
        elif name == "BridgeLeave":
            self._bridges[event.get("BridgeUniqueid", "")].discard(uid)
        elif name == "Hangup" and caller is not None:
            caller.ended, caller.cause = at, event.get("Cause", "")

    def _pair(self, members: set[str]) -> None:
        in_bridge = [self.callers[m] for m in members if m in self.callers]
        agents = [m for m in members if m not in self.callers]
        for caller in in_bridge:
            caller.agents.update(agents)

    async def live_channels(self) -> list[str]:
        """The channels Asterisk holds now (CoreShowChannels), for leaks at the end."""
        if self._writer is None:
            raise ConnectionError("observer not connected")
        self._listing = []
        self._listed = asyncio.Event()
        self._writer.write(b"Action: CoreShowChannels\r\nActionID: observer-list\r\n\r\n")
        await self._writer.drain()
        async with asyncio.timeout(10):
            await self._listed.wait()
        return [f"{c.get('Channel')} {c.get('Context')},{c.get('Exten')} "
                f"{c.get('Application')} {c.get('ChannelStateDesc')}" for c in self._listing]

    def tally(self, *, leaked: int, outage: tuple[float, float] | None,
              resumed_at: float | None, order_tolerance: float = 0.5) -> Tally:
        callers = list(self.callers.values())
        ended = [c for c in callers if c.ended is not None and not c.lost_with_asterisk]
        dropped = [c for c in ended if not c.served]
        waiting = [c for c in callers if c.ended is None]
        outage_callers = ([c for c in callers if outage[0] <= c.arrived <= outage[1]]
                          if outage else [])
        resume, agents_after = None, 0
        if resumed_at is not None:
            after = [(t, device) for t, device in self.dials if t >= resumed_at]
            resume = (min(after)[0] - resumed_at) if after else float("inf")
            agents_after = len({device for _, device in after})
        return Tally(
            callers=len(callers), served=sum(c.served for c in callers),
            dropped=len(dropped), served_twice=sum(len(c.agents) > 1 for c in callers),
            lost_with_asterisk=sum(c.lost_with_asterisk for c in callers), leaked=leaked,
            order_violations=len(out_of_order(callers, order_tolerance)),
            still_waiting=len(waiting), resume_s=resume, agents_after_resume=agents_after,
            outage_callers=len(outage_callers),
            outage_served=sum(c.served for c in outage_callers))


def out_of_order(callers: list[Caller], tolerance: float = 0.5,
                 same_moment: float = 0.25, hold_lag: float = 1.5) -> list[str]:
    """Callers dialled clearly before someone who joined their queue clearly earlier and
    was on hold by then, one line each (queue, uid, arrived/joined/dialled, and the
    earlier joiner's dial), in seconds from the first arrival.

    A caller joins the queue when the IVR is done (their first hold), as with any ACD:
    a quicker IVR gets ahead of a slower one who dialled in a moment earlier. A caller
    who had to wait for an absent engine joins with the time they called, and is overtaken
    only by someone dialled after their wait began (an engine that died during their IVR
    may have dialled others first). Joins less than ``same_moment`` apart may be in either
    order. And a hold is seen here only after the engine queued the caller (when FastAGI
    ended) and set the ~22 variables the holding loop reads, one AGI round trip each: under
    load that lags by up to ``hold_lag`` (measured at full size: p50 0.02 s, p99 1.1 s,
    max 1.31 s), so a caller whose join is a hold may have joined that much earlier than
    seen. Offers of one instant go out together and Asterisk runs each caller's Dial in
    its own thread, so a ``tolerance`` covers the order of their dials.
    """
    by_queue: dict[str, list[Caller]] = defaultdict(list)
    for caller in callers:
        if caller.queue and caller.first_dial is not None and not caller.lost_with_asterisk:
            by_queue[caller.queue].append(caller)
    start = min((c.arrived for c in callers), default=0.0)
    lines: list[str] = []
    for queue, members in by_queue.items():
        members.sort(key=_joined)
        for caller in members:
            dialled = _dialled(caller)
            seen_late = same_moment if caller.standby or caller.held is None else hold_lag
            overtaken = [e for e in members
                         if _joined(e) + seen_late < _joined(caller)
                         and dialled + tolerance < _dialled(e)
                         and _waiting_since(e) <= dialled]
            if overtaken:
                latest = max(overtaken, key=_dialled)
                lines.append(
                    f"{queue} {latest.uid} (task {latest.task}) joined "
                    f"{_joined(latest) - start:.2f} dialled "
                    f"{_dialled(latest) - start:.2f}, after {caller.uid} (arrived "
                    f"{caller.arrived - start:.2f} joined {_joined(caller) - start:.2f} "
                    f"standby={caller.standby} dialled {dialled - start:.2f})")
    return lines


def _waiting_since(caller: Caller) -> float:
    """Since when the caller could have been dialled: their hold, or their standby."""
    if caller.standby_at is not None:
        return caller.standby_at
    return caller.held if caller.held is not None else caller.arrived


def _dialled(caller: Caller) -> float:
    assert caller.first_dial is not None
    return caller.first_dial


def _joined(caller: Caller) -> float:
    if caller.standby or caller.held is None:
        return caller.arrived
    return caller.held
