"""The routing service: one queue engine for every channel, driven from asyncio.

The engine (``acd``) is pure and private to this service. Everything else talks
to it through the typed commands and queries below, which read the clock and
pass it in; results travel one way: a command returns only what its caller must
know now (was the offer still live? why was the task refused?), and the
engine's outputs are applied, in order, by the ``Outbox``.

The service also wakes the engine at ``next_deadline()`` (offer timeouts,
escalations, wrap-up ends, position announcements) and at midnight in the
contact center's time zone, when the "contacts today" counters start again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import acd
from callcenter.bus import EventBus
from callcenter.routing.outbox import ChannelAdapter, Outbox
from callcenter.storage import Store

log = logging.getLogger(__name__)


def next_midnight(now: float, zone: ZoneInfo) -> float:
    """The next local midnight after ``now`` (epoch seconds), in ``zone``."""
    today = datetime.fromtimestamp(now, zone).date()
    return datetime.combine(today + timedelta(days=1), datetime.min.time(), zone).timestamp()


class RoutingService:
    def __init__(self, *, queues: Iterable[acd.Queue], store: Store, bus: EventBus,
                 clock: Callable[[], float] = time.time, timezone: str = "UTC",
                 rng: random.Random | None = None) -> None:
        queues = list(queues)
        self._engine = acd.Engine(queues=queues, rng=rng or random.Random())
        self._stats = acd.Stats(queues=queues)
        self._outbox = Outbox(stats=self._stats, store=store, bus=bus)
        self.clock = clock
        self._zone = ZoneInfo(timezone)
        self._midnight = next_midnight(clock(), self._zone)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # ---- wiring ------------------------------------------------------------------

    def attach(self, channel: str, adapter: ChannelAdapter) -> None:
        self._outbox.attach(channel, adapter)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._outbox.drain(lambda: not self._stopping),
                                           name="routing-outbox"),
                       asyncio.create_task(self._timer(), name="routing-timer")]

    async def stop(self, timeout: float = 5.0) -> None:
        """Apply what is pending (bounded), then stop; inputs after this are not applied."""
        if self._tasks and not self._tasks[0].done():
            try:
                async with asyncio.timeout(timeout):
                    await self.flush()
            except TimeoutError:
                log.error("routing.stop_unflushed", extra={"batches": self._outbox.pending})
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def flush(self) -> None:
        """Wait until every output so far has been applied (tests, shutdown)."""
        await self._outbox.flush()

    # ---- commands: tasks ------------------------------------------------------------

    def arrive(self, task: acd.Task) -> str | None:
        """Queue a task; the reason it was refused (full, nobody logged in...), or None."""
        self._outbox.task_channel[task.id] = task.channel
        outputs = self._run(lambda now: self._engine.task_arrived(task, now))
        refused = next((o for o in outputs
                        if isinstance(o, acd.RejectArrival) and o.task_id == task.id), None)
        return refused.reason if refused else None

    def cancel(self, task_id: str, reason: str = "abandon") -> None:
        """The customer left before being connected."""
        self._run(lambda now: self._engine.task_cancelled(task_id, now, reason))

    def end(self, task_id: str, by: str) -> None:
        """The conversation is over (``by`` "agent" or "caller"); wrap-up starts."""
        self._run(lambda now: self._engine.task_ended(task_id, now, by))

    def transfer(self, task_id: str, *, queue: str | None = None,
                 agent_id: str | None = None) -> str | None:
        """Blind transfer: a new queue visit; the reason it cannot be done, or None."""
        outputs = self._run(lambda now: self._engine.transfer(task_id, now, queue=queue,
                                                              agent_id=agent_id))
        ignored = next((o for o in outputs if isinstance(o, acd.Ignored)), None)
        return ignored.reason if ignored else None

    # ---- commands: offers -------------------------------------------------------------

    def accept(self, offer_id: str) -> bool:
        """The agent took the offer; False if it was no longer live (withdrawn, timed out)."""
        outputs = self._run(lambda now: self._engine.offer_accepted(offer_id, now))
        return not any(isinstance(o, acd.Ignored) for o in outputs)

    def reject(self, offer_id: str) -> None:
        self._run(lambda now: self._engine.offer_rejected(offer_id, now))

    # ---- commands: agents --------------------------------------------------------------

    def login(self, agent: acd.Agent, *, ready: bool,
              owed_wrapups: Iterable[acd.OwedWrapup] = ()) -> None:
        """Sign in (or, if signed in already, take the agent's new skills and capacity);
        ``owed_wrapups``: forms owed from before a restart (acd rule A6)."""
        view = self._engine.agent(agent.id)
        if view is None or view.presence == acd.Presence.LOGGED_OUT:
            self._run(lambda now: self._engine.agent_login(agent, now, ready=ready,
                                                           owed_wrapups=owed_wrapups))
        else:
            self.update_agent(agent)

    def logout(self, agent_id: str) -> None:
        self._run(lambda now: self._engine.agent_logout(agent_id, now))

    def set_state(self, agent_id: str, state: str, reason: str | None = None) -> None:
        self._run(lambda now: self._engine.agent_set_state(agent_id, state, now, reason))

    def update_agent(self, agent: acd.Agent) -> None:
        self._run(lambda now: self._engine.update_agent(agent, now))

    def finish_wrapup(self, agent_id: str, task_id: str | None = None) -> None:
        self._run(lambda now: self._engine.wrapup_done(agent_id, now, task_id))

    def extend_wrapup(self, agent_id: str, task_id: str, seconds: float) -> None:
        self._run(lambda now: self._engine.extend_wrapup(agent_id, task_id, seconds, now))

    def update_queues(self, queues: Iterable[acd.Queue]) -> None:
        """A configuration reload: waiting contacts keep their place."""
        queues = list(queues)
        self._stats.update_queues(queues)
        self._run(lambda now: self._engine.update_queues(queues, now))

    # ---- queries --------------------------------------------------------------------------

    def agent(self, agent_id: str) -> acd.AgentView | None:
        return self._engine.agent(agent_id)

    def agents(self) -> list[acd.AgentView]:
        return self._engine.agents()

    def waiting(self, queue: str | None = None) -> list[acd.WaitingTask]:
        return self._engine.waiting(queue)

    def task(self, task_id: str) -> acd.WaitingTask | None:
        return self._engine.task(task_id)

    def ready_agents(self, queue: str) -> int:
        """Ready agents who may take the queue's contacts (``acd`` rules A3, Q1)."""
        return self._engine.ready_agents(queue)

    def unserved(self, queue: str) -> int:
        """Waiting contacts no ready agent may take (see ``acd`` rule Q3)."""
        return self._engine.unserved(queue)

    def channel_of(self, task_id: str) -> str | None:
        return self._outbox.task_channel.get(task_id)

    def intervals(self, queue: str | None = None) -> list[tuple[str, float, acd.QueueCounters]]:
        return list(self._stats.intervals(queue))

    def realtime(self, queue: str, now: float) -> acd.QueueNow:
        return self._stats.realtime(queue, now)

    @property
    def interval_seconds(self) -> float:
        return self._stats.interval_seconds

    # ---- inside ---------------------------------------------------------------------------

    def _run(self, step: Callable[[float], list[acd.Output]]) -> list[acd.Output]:
        outputs = step(self.clock())
        self._outbox.put(outputs)
        self._wake.set()
        return outputs

    async def _timer(self) -> None:
        # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a
        # cancellation that arrives as the event fires, and this loop would outlive stop().
        while not self._stopping:
            self._wake.clear()
            deadline = self._engine.next_deadline()
            wake_at = self._midnight if deadline is None else min(deadline, self._midnight)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, wake_at - self.clock())):
                    await self._wake.wait()
            if self._stopping:
                return
            now = self.clock()
            if now >= self._midnight:
                self._midnight = next_midnight(now, self._zone)
                self._run(self._engine.reset_daily_counters)
                log.info("routing.new_day", extra={"next": self._midnight})
            if deadline is not None and now >= deadline:
                self._run(self._engine.advance)
