"""The chat side of the queue engine: routing's channel adapter for ``"chat"``.

* ``apply``: the engine's decisions about chat tasks. An offer pops the agent's card
  (``OfferNotifier``), unless it is the agent a restart is giving the conversation
  back to: then it is accepted at once. A task that leaves the queue (max wait,
  refused, a ``voicemail``/``offer_callback`` escalation) becomes a message for later.
* ``follow``: the engine's log events for chat tasks, from the bus (``queue.event``):
  CONNECT makes the conversation the agent's; WRAPUP lets it go from the agent's screen.
* the background: messages left for later are queued again when their queue can take
  them; live web chats whose visitor is away longer than ``idle_end_minutes`` end (a
  message left for later waits for its answer); read marks are saved.
* ``recover`` (at start): every conversation a previous run left open is taken back.
  Queued ones enter the engine again with their first arrival time (their place in
  line); an agent's conversation is offered to that agent first and accepted for them
  (they get it back without a click), falling back to the queue if they are not there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import acd
from acd import events as ev
from callcenter.bus import BusEvent, EventBus, Subscription

from .conversation import Conversation
from .services import ChatService

__all__ = ["QueueSide"]

log = logging.getLogger("chatbridge")

_MESSAGE_ACTIONS = frozenset({"voicemail", "offer_callback"})


class QueueSide:
    def __init__(self, service: ChatService, bus: EventBus, *,
                 tick: float = 1.0, retry: Callable[[], float] | None = None) -> None:
        self.service = service
        self.bus = bus
        self.tick = tick
        self._retry = retry or (
            lambda: float(service.config().callcenter.chat.web.leave_message.retry_seconds))
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._offers: dict[str, str] = {}  # task -> its live offer (forgotten once taken)
        self._next_retry = 0.0

    # ------------------------------------------------------------------ decisions

    async def apply(self, decision: acd.Decision) -> None:
        service = self.service
        conv = service.convs.of_task(decision.task_id)
        if isinstance(decision, acd.Offer):
            if conv is not None and conv.reattach == decision.agent_id:
                service.routing.accept(decision.offer_id)  # given back after a restart
                return
            self._offers[decision.task_id] = decision.offer_id
            await service.offers.offered(decision)
        elif isinstance(decision, acd.WithdrawOffer):
            self._offers.pop(decision.task_id, None)
            service.offers.withdrawn(decision)
        elif conv is None:
            return
        elif isinstance(decision, acd.LeaveQueue | acd.RejectArrival):
            if conv.task_id == decision.task_id:
                await service.to_message(conv, decision.reason)
        elif isinstance(decision, acd.EscalationAction) and \
                decision.action in _MESSAGE_ACTIONS and conv.status == "queued":
            service.routing.cancel(decision.task_id, "message")
            await service.to_message(conv, str(decision.action))

    async def after_batch(self) -> None:
        pass

    @property
    def next_retry_at(self) -> float:
        """When messages left for later are next tried (0: at the first step after start,
        which takes back what a previous run left)."""
        return self._next_retry

    # ------------------------------------------------------------------ engine events

    def _ours(self, event: BusEvent) -> bool:
        return event.topic == "queue.event" and \
            event.data.get("task") in self.service.convs.by_task

    async def follow(self) -> None:
        while True:
            if self._sub is None:
                self._sub = self.bus.subscribe(self._ours)
                await self._resync()
            event = await self._sub.get()
            if event is None:  # fell behind: subscribe again and read the engine's state
                self._sub = None
                continue
            try:
                await self.on_event(event)
            except Exception:
                log.exception("chat.event_failed", extra={"kind": event.data.get("kind")})

    async def on_event(self, event: BusEvent) -> None:
        service = self.service
        kind = event.data.get("kind")
        conv = service.convs.of_task(str(event.data.get("task")))
        if conv is None:
            return
        if kind == ev.K_CONNECT and event.agent_id:
            if conv.status in ("queued", "active"):
                await service.connected(conv, event.agent_id,
                                        self._offers.pop(conv.task_id or "", None))
        elif kind == ev.K_WRAPUP and event.agent_id:
            await self._released(conv, event.agent_id)

    async def _released(self, conv: Conversation, agent_id: str) -> None:
        """The agent's part is over (wrap-up filed, or transferred on)."""
        service = self.service
        if conv.offer_id is not None and conv.task_id:  # its card leaves the agent's page
            service.offers.withdrawn(acd.WithdrawOffer(conv.offer_id, conv.task_id, agent_id,
                                                       "released", "chat"))
            conv.offer_id = None
        service.notifier.conversation(conv, {**service.summary(conv), "released": True},
                                      agent_id=agent_id)
        if conv.agent_id == agent_id and not conv.open:
            conv.agent_id = None
            service.convs.forget(conv)

    async def _resync(self) -> None:
        """After missing events: what the engine says now wins."""
        service = self.service
        for conv in service.convs:
            if conv.status != "queued" or not conv.task_id:
                continue
            for view in service.routing.agents():
                if conv.task_id in view.connected:
                    await service.connected(conv, view.agent_id,
                                            self._offers.pop(conv.task_id, None))

    # ------------------------------------------------------------------ start / stop

    async def recover(self) -> None:
        """Take back what a previous run left open (see the module docstring)."""
        service = self.service
        store = service.store
        taken = 0
        for rec in await store.open_conversations():
            if service.convs.get(rec.id) is not None:
                continue
            conv = service.convs.add(Conversation.from_record(
                rec, await store.count_chat_files(rec.id)))
            last = await store.last_conversation_messages(rec.id, 1)
            conv.last_id = last[0].id if last else 0
            if conv.status == "message":
                continue
            if conv.task_id is None:  # stored, then the engine died before it was queued
                await service.enqueue(conv, arrival=conv.created_at, leave_message=False)
                taken += 1
                continue
            record = await store.get_interaction(conv.task_id)
            arrival = (record.arrived_at if record and record.arrived_at else conv.created_at)
            agent = conv.agent_id if conv.status == "active" else None
            view = service.routing.agent(agent) if agent else None
            conv.reattach = agent if view is not None and \
                view.presence != acd.Presence.LOGGED_OUT else None
            await service.convs.save(conv, status="queued", agent_id=None)
            if record is None or record.ended_at is not None:
                await service.enqueue(conv, arrival=arrival, leave_message=False,
                                      reattach=conv.reattach)
            else:
                await service.arrive(conv, arrival, preferred=conv.reattach)
            taken += 1
        log.info("chat.recovered", extra={"conversations": len(service.convs),
                                          "requeued": taken})

    async def start(self) -> None:
        await self.recover()
        self._tasks = [asyncio.create_task(self.follow(), name="chat-follow"),
                       asyncio.create_task(self._background(), name="chat-background")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sub is not None:
            self.bus.unsubscribe(self._sub)
        await self.service.convs.writer.close()
        await self.service.convs.flush_watermarks()

    # ------------------------------------------------------------------ background

    async def _background(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                await self.step()
            except Exception:
                log.exception("chat.background_failed")

    async def step(self) -> None:
        """One round: retry messages left for later, end idle visitors, save marks."""
        service = self.service
        now = service.clock()
        await service.convs.flush_watermarks()
        if now >= self._next_retry:
            self._next_retry = now + self._retry()
            await self.retry_messages()
        idle = service.config().callcenter.chat.web.idle_end_minutes * 60.0
        for conv in service.convs:
            if conv.medium == "web" and conv.status in ("queued", "active") \
                    and conv.online == 0 and now - conv.last_seen_at > idle:
                await service.customer_left(conv, "idle")

    async def retry_messages(self) -> None:
        service = self.service
        now = service.clock()
        for conv in service.convs:
            if conv.status != "message":
                continue
            if service.queue_allows_live(conv.queue, now) is not None:
                continue
            if not await service.store.conversation_messages(conv.id, limit=1):
                continue  # nothing was written: nothing to answer
            conv.status = "queued"
            refused = await service.enqueue(conv, arrival=conv.created_at, leave_message=False)
            log.info("chat.message_requeued", extra={"conversation": conv.id,
                                                     "refused": refused})
