"""What the agent console receives, and helpers adapters use to send it.

Topics an agent's WebSocket forwards (only events whose ``agent_id`` is theirs):

* ``agent.offer`` ``{offer_id, task_id, channel, queue, deadline, pop}`` — ``pop`` is
  ``CustomerService.screen_pop(task_id)``;
* ``agent.offer_withdrawn`` ``{offer_id, task_id, reason}``;
* ``agent.state`` ``{state, reason}`` (from the routing service);
* ``agent.ringing`` ``{task_id, offer_id}`` (the agent's phone rings);
* ``agent.connected`` ``{task_id, channel}``;
* ``agent.phone`` ``{registered, replaced_by?}`` (``replaced_by``: the address of a second
  device that took over the agent's phone registration);
* ``agent.wrapup`` ``{task_id, queue, dispositions, require_disposition, seconds}``
  (``seconds`` null: the wrap-up lasts until its form is sent);
* ``interaction.summary`` ``{task_id, text}`` — also without ``agent_id``, when the task
  is one the agent holds (see ``callcenter.web.hub``).

``OfferNotifier`` is the one writer of these payloads for every channel adapter. It
remembers the offer in ``AgentService`` (so the console can accept or reject it)
before publishing, and publishes the withdrawal after forgetting.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import acd
from callcenter.agents.services import AgentService
from callcenter.bus import EventBus
from callcenter.config.models import Config

log = logging.getLogger(__name__)

AGENT_TOPICS = frozenset({"agent.offer", "agent.offer_withdrawn", "agent.state",
                          "agent.ringing", "agent.connected", "agent.wrapup", "agent.phone"})


def wrapup_data(config: Config, task_id: str, queue_id: str | None) -> dict[str, Any]:
    """The ``agent.wrapup`` payload for a task of ``queue_id`` (as the voice adapter sends)."""
    queue = config.queues.get(queue_id or "")
    return {"task_id": task_id, "queue": queue_id,
            "dispositions": [d.model_dump() for d in queue.dispositions] if queue else [],
            "require_disposition": bool(queue and queue.require_disposition),
            "seconds": (None if queue and queue.require_disposition  # until the form is in
                        else queue.wrapup_seconds if queue else 0)}


class OfferNotifier:
    def __init__(self, *, bus: EventBus, agents: AgentService,
                 screen_pop: Callable[[str], Awaitable[dict[str, Any]]],
                 clock: Callable[[], float], config: Callable[[], Config]) -> None:
        self.bus = bus
        self.agents = agents
        self.screen_pop = screen_pop
        self.clock = clock
        self.config = config
        self._pops: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def offered(self, offer: acd.Offer) -> None:
        """Remember the offer now; fetch its screen pop (several reads from the store) and
        publish ``agent.offer`` off the caller's path: the routing outbox applies the next
        decision meanwhile (measured at load: a pop waiting for the store held every later
        decision). What this notifier publishes next for the same agent and task waits
        for it, so the console still sees the offer first."""
        self.agents.remember_offer(offer)
        key = (offer.agent_id, offer.task_id)
        task = asyncio.get_running_loop().create_task(self._publish_offer(offer))
        self._pops[key] = task
        task.add_done_callback(functools.partial(self._popped, key))

    async def _publish_offer(self, offer: acd.Offer) -> None:
        try:
            pop: dict[str, Any] | None = await self.screen_pop(offer.task_id)
        except Exception:
            log.exception("agents.screen_pop_failed", extra={"task": offer.task_id})
            pop = None
        self.bus.publish("agent.offer", {"offer_id": offer.offer_id, "task_id": offer.task_id,
                                         "channel": offer.channel, "queue": offer.queue,
                                         "deadline": offer.deadline, "pop": pop},
                         at=self.clock(), agent_id=offer.agent_id, queue=offer.queue)

    def _popped(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._pops.get(key) is task:
            del self._pops[key]

    def _after_offer(self, agent_id: str | None, task_id: str,
                     publish: Callable[[], None]) -> None:
        pending = self._pops.get((agent_id or "", task_id))
        if pending is None or pending.done():
            publish()
        else:
            pending.add_done_callback(lambda _: publish())

    def withdrawn(self, withdraw: acd.WithdrawOffer) -> None:
        self.agents.forget_offer(withdraw.offer_id)
        at = self.clock()
        self._after_offer(withdraw.agent_id, withdraw.task_id, lambda: self.bus.publish(
            "agent.offer_withdrawn", {"offer_id": withdraw.offer_id,
                                      "task_id": withdraw.task_id, "reason": withdraw.reason},
            at=at, agent_id=withdraw.agent_id))

    def ringing(self, agent_id: str, task_id: str, offer_id: str) -> None:
        at = self.clock()
        self._after_offer(agent_id, task_id, lambda: self.bus.publish(
            "agent.ringing", {"task_id": task_id, "offer_id": offer_id}, at=at,
            agent_id=agent_id))

    def phone(self, agent_id: str, registered: bool, replaced_by: str | None = None) -> None:
        """``replaced_by``: a second device registered as this agent's phone and took
        over (the address it registered from); the first one gets no more calls."""
        data: dict[str, Any] = {"registered": registered}
        if replaced_by is not None:
            data["replaced_by"] = replaced_by
        self.bus.publish("agent.phone", data, at=self.clock(), agent_id=agent_id)

    def connected(self, agent_id: str, task_id: str, channel: str) -> None:
        at = self.clock()
        self._after_offer(agent_id, task_id, lambda: self.bus.publish(
            "agent.connected", {"task_id": task_id, "channel": channel}, at=at,
            agent_id=agent_id))

    def wrapup(self, agent_id: str, task_id: str, queue_id: str | None) -> None:
        self.bus.publish("agent.wrapup", wrapup_data(self.config(), task_id, queue_id),
                         at=self.clock(), agent_id=agent_id, queue=queue_id)
