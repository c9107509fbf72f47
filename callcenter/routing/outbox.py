"""Applying the engine's outputs, in the order the engine produced them.

Decisions go to the channel adapter of their task's channel (voice, chat); log
events go to the store's queue log, keep the interaction record in step and
feed the live statistics; agent state changes are stored (with the agent's
presence, for a restart) and published.

Ordering matters: an Offer and the WithdrawOffer that follows it must reach
Asterisk in that order, or an agent would be rung for a caller already gone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import acd
from acd import events as ev
from callcenter.bus import EventBus
from callcenter.storage import Store

log = logging.getLogger(__name__)

OUTCOMES = {
    ev.K_ABANDON: "abandoned",
    ev.K_EXITWITHTIMEOUT: "timeout",
    ev.K_EXITWITHKEY: "callback",
    ev.K_UNREACHED: "unreached",
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


class Outbox:
    def __init__(self, *, stats: acd.Stats, store: Store, bus: EventBus) -> None:
        self._stats = stats
        self._store = store
        self._bus = bus
        self._adapters: dict[str, ChannelAdapter] = {}
        self.task_channel: dict[str, str] = {}
        self._offered: set[str] = set()
        self._batches: asyncio.Queue[list[acd.Output]] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()

    def attach(self, channel: str, adapter: ChannelAdapter) -> None:
        self._adapters[channel] = adapter

    def put(self, outputs: list[acd.Output]) -> None:
        if outputs:
            self._idle.clear()
            self._batches.put_nowait(outputs)

    @property
    def pending(self) -> int:
        return self._batches.qsize()

    async def flush(self) -> None:
        """Wait until every output so far has been applied (tests, shutdown)."""
        while not self._batches.empty() or not self._idle.is_set():
            await self._idle.wait()
            await asyncio.sleep(0)

    async def drain(self, running: Any) -> None:
        """Apply batches until ``running()`` turns false (the routing service's loop)."""
        while running():
            outputs = await self._batches.get()
            try:
                await self._apply_all(outputs)
            except Exception:
                log.exception("routing.apply_failed")
            if self._batches.empty():
                self._idle.set()

    async def _apply_all(self, outputs: list[acd.Output]) -> None:
        logs = [o for o in outputs if isinstance(o, acd.LogEvent)]
        self._stats.feed(outputs)
        touched: list[ChannelAdapter] = []
        if logs:
            await self._store.log_events([
                {"event": e.kind, "at": e.time, "interaction_id": e.task_id, "queue": e.queue,
                 "agent": e.agent_id, "data": dict(e.data)} for e in logs])
        for output in outputs:
            if isinstance(output, acd.LogEvent):
                await self._record(output)
            elif isinstance(output, acd.AgentStateChanged):
                await self._agent_state(output)
            elif isinstance(output, acd.Ignored):
                log.debug("routing.ignored", extra={"input": output.input,
                                                    "reason": output.reason})
            else:
                adapter = await self._to_adapter(output)
                if adapter is not None and adapter not in touched:
                    touched.append(adapter)
        for adapter in touched:
            try:
                await adapter.after_batch()
            except Exception:
                log.exception("routing.adapter_failed", extra={"decision": "after_batch"})
        # Forget the channel of tasks that ended (the wallboard asks for live ones only).
        for event in logs:
            if event.kind in OUTCOMES and event.task_id:
                self.task_channel.pop(event.task_id, None)

    async def _agent_state(self, change: acd.AgentStateChanged) -> None:
        await self._store.record_agent_state(change.agent_id, change.state.value,
                                             change.reason, at=change.time)
        if change.state.value in PRESENCES:  # idle: the summary state is the presence
            await self._store.save_presence(change.agent_id, change.state.value,
                                            reason=change.reason, at=change.time)
        self._bus.publish("agent.state", {"state": change.state.value, "reason": change.reason},
                          at=change.time, agent_id=change.agent_id)

    async def _to_adapter(self, decision: acd.Decision) -> ChannelAdapter | None:
        channel = getattr(decision, "channel", "")  # every decision names its channel
        adapter = self._adapters.get(channel)
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
                await self._store.update_interaction(task_id, **fields)
            except LookupError:
                log.warning("routing.no_interaction", extra={"task": task_id})
        self._bus.publish("queue.event", {"kind": event.kind, "task": task_id,
                                          **{k: v for k, v in event.data.items()}},
                          at=event.time, agent_id=event.agent_id, queue=event.queue)
