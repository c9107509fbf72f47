"""The routing service: one queue engine for every channel, driven from asyncio.

The engine (``acd``) is pure: it takes an input with ``now`` and returns
outputs. This service is everything around it:

* it reads the clock (wall time, seconds) and passes it in;
* it wakes the engine at ``next_deadline()`` (offer timeouts, escalations,
  wrap-up ends, position announcements);
* it applies outputs **in the order the engine produced them**, one at a
  time, through an outbox: a channel adapter (voice, chat) carries out the
  decisions for its channel; log events go to the store's queue log, update
  the interaction record and feed the live statistics; agent state changes
  are stored and published.

Ordering matters: an Offer and the WithdrawOffer that follows it must reach
Asterisk in that order, or an agent would be rung for a caller already gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import acd
from acd import events as ev
from callcenter.bus import EventBus
from callcenter.storage import Store

log = logging.getLogger(__name__)

OUTCOMES = {
    ev.K_ABANDON: "abandoned",
    ev.K_EXITWITHTIMEOUT: "timeout",
    ev.K_EXITEMPTY: "empty",
    ev.K_FULL: "refused",
    ev.K_JOINEMPTY: "refused",
    ev.K_REFUSED: "refused",
    ev.K_COMPLETEAGENT: "answered",
    ev.K_COMPLETECALLER: "answered",
}


PRESENCES = frozenset({"ready", "not_ready", "logged_out"})


class ChannelAdapter(Protocol):
    """Carries out the engine's decisions for one channel (voice, chat).

    ``after_batch`` runs once the decisions of one engine input are all applied,
    so an adapter can act on them together (ring every agent of a ring_all at once).
    """

    async def apply(self, decision: acd.Decision) -> None: ...

    async def after_batch(self) -> None: ...


class RoutingService:
    def __init__(self, *, engine: acd.Engine, stats: acd.Stats, store: Store, bus: EventBus,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.stats = stats
        self.store = store
        self.bus = bus
        self.clock = clock
        self._adapters: dict[str, ChannelAdapter] = {}
        self._task_channel: dict[str, str] = {}
        self._offered: set[str] = set()
        self._outbox: asyncio.Queue[list[acd.Output]] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False

    # ---- wiring -------------------------------------------------------------

    def attach(self, channel: str, adapter: ChannelAdapter) -> None:
        self._adapters[channel] = adapter

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._drain(), name="routing-outbox"),
                       asyncio.create_task(self._timer(), name="routing-timer")]

    async def stop(self, timeout: float = 5.0) -> None:
        """Apply what is pending (bounded), then stop; inputs after this are not applied."""
        if self._tasks and not self._tasks[0].done():
            try:
                async with asyncio.timeout(timeout):
                    await self.flush()
            except TimeoutError:
                log.error("routing.stop_unflushed", extra={"batches": self._outbox.qsize()})
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---- inputs -------------------------------------------------------------

    def submit(self, call: Callable[[float], list[acd.Output]]) -> list[acd.Output]:
        """Run one engine input now; its outputs are applied in order, later."""
        outputs = call(self.clock())
        if outputs:
            self._idle.clear()
            self._outbox.put_nowait(outputs)
        self._wake.set()
        return outputs

    def arrive(self, task: acd.Task) -> list[acd.Output]:
        self._task_channel[task.id] = task.channel
        return self.submit(lambda now: self.engine.task_arrived(task, now))

    def channel_of(self, task_id: str) -> str | None:
        return self._task_channel.get(task_id)

    async def flush(self) -> None:
        """Wait until every output so far has been applied (tests, shutdown)."""
        while not self._outbox.empty() or not self._idle.is_set():
            await self._idle.wait()
            await asyncio.sleep(0)

    # ---- inside -------------------------------------------------------------

    async def _timer(self) -> None:
        # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a
        # cancellation that arrives as the event fires, and this loop would outlive stop().
        while not self._stopping:
            self._wake.clear()
            deadline = self.engine.next_deadline()
            delay = None if deadline is None else max(0.0, deadline - self.clock())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            if deadline is not None and self.clock() >= deadline and not self._stopping:
                self.submit(self.engine.advance)

    async def _drain(self) -> None:
        while not self._stopping:
            outputs = await self._outbox.get()
            try:
                await self._apply_all(outputs)
            except Exception:
                log.exception("routing.apply_failed")
            if self._outbox.empty():
                self._idle.set()

    async def _apply_all(self, outputs: list[acd.Output]) -> None:
        logs = [o for o in outputs if isinstance(o, acd.LogEvent)]
        self.stats.feed(outputs)
        touched: set[ChannelAdapter | None] = set()
        if logs:
            await self.store.log_events([
                {"event": e.kind, "at": e.time, "interaction_id": e.task_id, "queue": e.queue,
                 "agent": e.agent_id, "data": dict(e.data)} for e in logs])
        for output in outputs:
            if isinstance(output, acd.LogEvent):
                await self._record(output)
            elif isinstance(output, acd.AgentStateChanged):
                await self.store.record_agent_state(output.agent_id, output.state.value,
                                                    output.reason, at=output.time)
                if output.state.value in PRESENCES:  # idle: the summary is the presence
                    await self.store.save_presence(output.agent_id, output.state.value,
                                                   reason=output.reason, at=output.time)
                self.bus.publish("agent.state", {"state": output.state.value,
                                                 "reason": output.reason},
                                 at=output.time, agent_id=output.agent_id)
            elif isinstance(output, acd.Ignored):
                log.debug("routing.ignored", extra={"input": output.input,
                                                    "reason": output.reason})
            else:
                touched.add(await self._to_adapter(output))
        for adapter in touched:
            if adapter is not None:
                try:
                    await adapter.after_batch()
                except Exception:
                    log.exception("routing.adapter_failed", extra={"decision": "after_batch"})
        # Decisions later in the batch (WithdrawOffer after ABANDON) still need the channel.
        for event in logs:
            if event.kind in OUTCOMES and event.task_id:
                self._task_channel.pop(event.task_id, None)

    async def _to_adapter(self, decision: acd.Decision) -> ChannelAdapter | None:
        task_id = getattr(decision, "task_id", None)
        channel = getattr(decision, "channel", None) or self._task_channel.get(task_id or "")
        adapter = self._adapters.get(channel or "")
        if adapter is None:
            log.error("routing.no_adapter", extra={"channel": channel,
                                                   "decision": type(decision).__name__})
            return None
        try:
            await adapter.apply(decision)
        except Exception:
            log.exception("routing.adapter_failed", extra={"decision": type(decision).__name__})
        return adapter

    async def _record(self, event: acd.LogEvent) -> None:
        """Keep the interaction record in step with the queue log."""
        fields: dict[str, Any] = {}
        task_id = event.task_id
        if task_id is None:
            return
        if event.kind == ev.K_ENTERQUEUE:
            fields["queue"] = event.queue
        elif event.kind == ev.K_OFFER and task_id not in self._offered:
            self._offered.add(task_id)
            fields["offered_at"] = event.time
        elif event.kind == ev.K_CONNECT:
            fields.update(answered_at=event.time, agent_id=event.agent_id, queue=event.queue)
        elif event.kind == ev.K_WRAPUP:
            fields["wrapup_ended_at"] = event.time
        elif event.kind == ev.K_TRANSFER:
            fields["outcome"] = "transferred"
        if event.kind in OUTCOMES:
            fields.update(ended_at=event.time, outcome=OUTCOMES[event.kind])
            self._offered.discard(task_id)
        if fields:
            try:
                await self.store.update_interaction(task_id, **fields)
            except LookupError:
                log.warning("routing.no_interaction", extra={"task": task_id})
        self.bus.publish("queue.event", {"kind": event.kind, "task": task_id,
                                         **{k: v for k, v in event.data.items()}},
                         at=event.time, agent_id=event.agent_id, queue=event.queue)
