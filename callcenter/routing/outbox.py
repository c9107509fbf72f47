"""Applying the engine's outputs, in the order the engine produced them.

Decisions go to the channel adapter of their task's channel (voice, chat); log
events go to the store's queue log, keep the interaction record in step and
feed the live statistics; agent state changes are stored (with the agent's
presence, for a restart) and published.

Ordering matters: an Offer and the WithdrawOffer that follows it must reach
Asterisk in that order, or an agent would be rung for a caller already gone.

Two ordered paths, so that a slow disk never holds up a caller: decisions are
applied as soon as the engine makes them, and what is recorded (queue log,
interaction records, agent states) is written behind them by a writer that
takes every batch waiting and stores them in one transaction (measured at
~25 calls/s: one transaction per write made decisions wait seconds behind
the store). Each record is published once it is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
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
        self._records: asyncio.Queue[list[acd.Output]] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stored = asyncio.Event()
        self._stored.set()

    def attach(self, channel: str, adapter: ChannelAdapter) -> None:
        self._adapters[channel] = adapter

    def put(self, outputs: list[acd.Output]) -> None:
        if outputs:
            self._idle.clear()
            self._batches.put_nowait(outputs)

    @property
    def pending(self) -> int:
        return self._batches.qsize() + self._records.qsize()

    async def flush(self) -> None:
        """Wait until every output so far has been applied and stored (tests, shutdown)."""
        while not (self._batches.empty() and self._idle.is_set()
                   and self._records.empty() and self._stored.is_set()):
            await self._idle.wait()
            await self._stored.wait()
            await asyncio.sleep(0)

    async def drain(self, running: Any) -> None:
        """Apply batches until ``running()`` turns false (the routing service's loop);
        the writer stores what they record meanwhile."""
        writer = asyncio.create_task(self._write(running), name="routing-records")
        try:
            while running():
                outputs = await self._batches.get()
                try:
                    await self._apply_all(outputs)
                except Exception:
                    log.exception("routing.apply_failed")
                if self._batches.empty():
                    self._idle.set()
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _apply_all(self, outputs: list[acd.Output]) -> None:
        self._stats.feed(outputs)
        records = [o for o in outputs if isinstance(o, acd.LogEvent | acd.AgentStateChanged)]
        if records:
            self._stored.clear()
            self._records.put_nowait(records)
        touched: list[ChannelAdapter] = []
        for output in outputs:
            if isinstance(output, acd.Ignored):
                log.debug("routing.ignored", extra={"input": output.input,
                                                    "reason": output.reason})
            elif not isinstance(output, acd.LogEvent | acd.AgentStateChanged):
                adapter = await self._to_adapter(output)
                if adapter is not None and adapter not in touched:
                    touched.append(adapter)
        for adapter in touched:
            try:
                await adapter.after_batch()
            except Exception:
                log.exception("routing.adapter_failed", extra={"decision": "after_batch"})
        # Forget the channel of tasks that ended (the wallboard asks for live ones only).
        for event in records:
            if isinstance(event, acd.LogEvent) and event.kind in OUTCOMES and event.task_id:
                self.task_channel.pop(event.task_id, None)

    # ---- the writer ---------------------------------------------------------------

    async def _write(self, running: Any, most: int = 64) -> None:
        """Store records in order: every batch waiting (up to ``most``) in one transaction,
        then publish them. A group that fails is stored again batch by batch, so one bad
        record loses nothing else."""
        while running():
            groups = [await self._records.get()]
            while len(groups) < most and not self._records.empty():
                groups.append(self._records.get_nowait())
            published: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
            try:
                async with self._store.transaction():
                    for records in groups:
                        await self._store_records(records, published)
            except Exception:
                log.exception("routing.store_group_failed", extra={"batches": len(groups)})
                published = []
                for records in groups:
                    try:
                        await self._store_records(records, published)
                    except Exception:
                        log.exception("routing.store_failed")
            for topic, payload, labels in published:
                self._bus.publish(topic, payload, **labels)
            if self._records.empty():
                self._stored.set()

    async def _store_records(self, records: list[acd.Output],
                             published: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
        logs = [o for o in records if isinstance(o, acd.LogEvent)]
        if logs:
            await self._store.log_events([
                {"event": e.kind, "at": e.time, "interaction_id": e.task_id, "queue": e.queue,
                 "agent": e.agent_id, "data": dict(e.data)} for e in logs])
        for record in records:
            if isinstance(record, acd.LogEvent):
                await self._record(record, published)
            elif isinstance(record, acd.AgentStateChanged):
                await self._agent_state(record, published)

    async def _agent_state(self, change: acd.AgentStateChanged,
                           published: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
        await self._store.record_agent_state(change.agent_id, change.state.value,
                                             change.reason, at=change.time)
        if change.state.value in PRESENCES:  # idle: the summary state is the presence
            await self._store.save_presence(change.agent_id, change.state.value,
                                            reason=change.reason, at=change.time)
        published.append(("agent.state", {"state": change.state.value, "reason": change.reason},
                          {"at": change.time, "agent_id": change.agent_id}))

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

    async def _record(self, event: acd.LogEvent,
                      published: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
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
        published.append(("queue.event", {"kind": event.kind, "task": task_id,
                                          **{k: v for k, v in event.data.items()}},
                          {"at": event.time, "agent_id": event.agent_id, "queue": event.queue}))
