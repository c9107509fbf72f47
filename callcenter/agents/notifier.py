"""What the agent console receives, and helpers adapters use to send it.

Topics an agent's WebSocket forwards (only events whose ``agent_id`` is theirs):

* ``agent.offer`` ``{offer_id, task_id, channel, queue, deadline, pop}`` — ``pop`` is
  ``CustomerService.screen_pop(task_id)``;
* ``agent.offer_withdrawn`` ``{offer_id, task_id, reason}``;
* ``agent.state`` ``{state, reason}`` (from the routing service);
* ``agent.ringing`` ``{task_id, offer_id}`` (the agent's phone rings);
* ``agent.connected`` ``{task_id, channel}``;
* ``agent.wrapup`` ``{task_id, queue, dispositions, require_disposition, seconds}``;
* ``agent.phone`` ``{registered}`` — the agent's phone registered or dropped;
* ``interaction.summary`` ``{task_id, text}`` — also without ``agent_id``, when the task
  is one the agent holds (see ``callcenter.web.hub``).

``OfferNotifier`` is the one writer of these payloads for every channel adapter. It
remembers the offer in ``AgentService`` (so the console can accept or reject it)
before publishing, and publishes the withdrawal after forgetting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import acd
from callcenter.agents.services import AgentService
from callcenter.bus import EventBus
from callcenter.config.models import Config

AGENT_TOPICS = frozenset({"agent.offer", "agent.offer_withdrawn", "agent.state",
                          "agent.ringing", "agent.connected", "agent.wrapup", "agent.phone"})


def wrapup_data(config: Config, task_id: str, queue_id: str | None) -> dict[str, Any]:
    """The ``agent.wrapup`` payload for a task of ``queue_id`` (as the voice adapter sends)."""
    queue = config.queues.get(queue_id or "")
    return {"task_id": task_id, "queue": queue_id,
            "dispositions": [d.model_dump() for d in queue.dispositions] if queue else [],
            "require_disposition": bool(queue and queue.require_disposition),
            "seconds": queue.wrapup_seconds if queue else 0}


class OfferNotifier:
    def __init__(self, *, bus: EventBus, agents: AgentService,
                 screen_pop: Callable[[str], Awaitable[dict[str, Any]]],
                 clock: Callable[[], float], config: Callable[[], Config]) -> None:
        self.bus = bus
        self.agents = agents
        self.screen_pop = screen_pop
        self.clock = clock
        self.config = config

    async def offered(self, offer: acd.Offer) -> None:
        self.agents.remember_offer(offer)
        pop = await self.screen_pop(offer.task_id)
        self.bus.publish("agent.offer", {"offer_id": offer.offer_id, "task_id": offer.task_id,
                                         "channel": offer.channel, "queue": offer.queue,
                                         "deadline": offer.deadline, "pop": pop},
                         at=self.clock(), agent_id=offer.agent_id, queue=offer.queue)

    def withdrawn(self, withdraw: acd.WithdrawOffer) -> None:
        self.agents.forget_offer(withdraw.offer_id)
        self.bus.publish("agent.offer_withdrawn", {"offer_id": withdraw.offer_id,
                                                   "task_id": withdraw.task_id,
                                                   "reason": withdraw.reason},
                         at=self.clock(), agent_id=withdraw.agent_id)

    def ringing(self, agent_id: str, task_id: str, offer_id: str) -> None:
        self.bus.publish("agent.ringing", {"task_id": task_id, "offer_id": offer_id},
                         at=self.clock(), agent_id=agent_id)

    def phone(self, agent_id: str, registered: bool) -> None:
        self.bus.publish("agent.phone", {"registered": registered}, at=self.clock(),
                         agent_id=agent_id)

    def connected(self, agent_id: str, task_id: str, channel: str) -> None:
        self.bus.publish("agent.connected", {"task_id": task_id, "channel": channel},
                         at=self.clock(), agent_id=agent_id)

    def wrapup(self, agent_id: str, task_id: str, queue_id: str | None) -> None:
        self.bus.publish("agent.wrapup", wrapup_data(self.config(), task_id, queue_id),
                         at=self.clock(), agent_id=agent_id, queue=queue_id)
