"""What the supervisor's wallboard shows, computed from the engine and its statistics.

Per queue (today: since midnight in ``callcenter.yaml``'s ``timezone``): contacts
waiting now (and how many of them wait because no ready agent may take them: none
qualified and ready, or each declined it and the re-offer pause runs) and the longest
wait, service level, ASA and abandon rate (today's statistics intervals summed), and
contacts offered to the queue / answered per channel (counted here from
``queue.event``, seeded from the queue log at start). Per agent: state, since when,
the contacts in hand and their channel. Per interval: entered, answered, abandoned,
for the bar chart.

Definitions:

* service level = answered within the queue's ``service_level_seconds`` / answered;
* ASA = total wait of answered contacts / answered;
* abandon rate = abandoned (not counting short abandons) / (answered + those).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import acd
from acd import events as ev
from callcenter.agents.services import AgentError, AgentService
from callcenter.bus import BusEvent
from callcenter.config.models import Config
from callcenter.routing.services import RoutingService
from callcenter.storage import Store
from callcenter.webkit.principal import Principal, visible_agent_ids, visible_queue_ids

log = logging.getLogger(__name__)

_ENDED = frozenset({ev.K_WRAPUP, ev.K_ABANDON, ev.K_EXITEMPTY, ev.K_EXITWITHTIMEOUT,
                    ev.K_FULL, ev.K_JOINEMPTY, ev.K_REFUSED})
_MAX_TASKS = 50_000


def day_start(now: float, zone: ZoneInfo) -> float:
    """The midnight before ``now`` in ``zone``."""
    day = datetime.fromtimestamp(now, zone).date()
    return datetime.combine(day, datetime.min.time(), zone).timestamp()


def _sum(counters: list[acd.QueueCounters]) -> acd.QueueCounters:
    total = acd.QueueCounters()
    for c in counters:
        for f in fields(total):
            setattr(total, f.name, getattr(total, f.name) + getattr(c, f.name))
    return total


def _loc(text: Any) -> dict[str, str | None]:
    return {"zh": text.get("zh"), "en": text.get("en")}


class WallboardService:
    def __init__(self, *, store: Store, routing: RoutingService, agents: AgentService,
                 config: Callable[[], Config], clock: Callable[[], float]) -> None:
        self.store = store
        self.routing = routing
        self.agents = agents
        self.config = config
        self.clock = clock
        self._since: dict[str, tuple[str, float]] = {}
        self._tasks: dict[str, tuple[str, str]] = {}  # task -> (queue, channel)
        self._by_channel: dict[str, dict[str, dict[str, int]]] = {}
        self._day = self.day_start(clock())
        self.loaded = False
        self._figures: dict[str, Callable[[], dict[str, dict[str, Any]]]] = {}

    def add_figures(self, name: str, provider: Callable[[], dict[str, dict[str, Any]]]) -> None:
        """Another feature's figures per queue ({queue: {figure: number}}), shown on each
        queue's tile as ``extras[name]`` (speech: its backlog and today's flagged calls).
        Called for every snapshot, so it must be quick and must not wait."""
        self._figures[name] = provider

    def day_start(self, now: float) -> float:
        return day_start(now, ZoneInfo(self.config().callcenter.timezone))

    # ------------------------------------------------------------------ input

    async def load(self) -> None:
        """Seed from the store: each agent's last state, today's per-channel counts."""
        now = self.clock()
        for agent_id, change in (await self.store.latest_agent_states()).items():
            self._since.setdefault(agent_id, (change.state, change.at))
        self._day = self.day_start(now)
        self._by_channel.clear()
        for event in await self.store.events_between(self._day, now + 1):
            self._count(event.event, event.interaction_id, event.queue, event.data)
        self.loaded = True

    def observe(self, event: BusEvent) -> None:
        if event.topic == "agent.state" and event.agent_id:
            self._since[event.agent_id] = (str(event.data.get("state")), event.at)
        elif event.topic == "queue.event":
            self._roll(event.at)
            self._count(str(event.data.get("kind")), event.data.get("task"), event.queue,
                        event.data)

    def _roll(self, now: float) -> None:
        today = self.day_start(now)
        if today != self._day:
            self._day = today
            self._by_channel.clear()

    def _count(self, kind: str, task: str | None, queue: str | None,
               data: dict[str, Any]) -> None:
        if task is None or queue is None:
            return
        if kind == ev.K_ENTERQUEUE:
            channel = str(data.get("channel") or self.routing.channel_of(task) or "voice")
            if len(self._tasks) >= _MAX_TASKS:
                self._tasks.pop(next(iter(self._tasks)))
            self._tasks[task] = (queue, channel)
            self._bump(queue, channel, "offered")
        elif kind == ev.K_CONNECT:
            known = self._tasks.get(task)
            channel = known[1] if known else (self.routing.channel_of(task) or "voice")
            self._tasks[task] = (queue, channel)
            self._bump(queue, channel, "answered")
        elif kind in _ENDED:
            self._tasks.pop(task, None)

    def _bump(self, queue: str, channel: str, what: str) -> None:
        row = self._by_channel.setdefault(queue, {}).setdefault(
            channel, {"offered": 0, "answered": 0})
        row[what] += 1

    # ------------------------------------------------------------------ output

    def snapshot(self) -> dict[str, Any]:
        """Everything, for every queue and agent (``view`` cuts it per supervisor)."""
        now = self.clock()
        self._roll(now)
        config = self.config()
        extras = {}
        for name, provider in self._figures.items():
            try:
                extras[name] = provider()
            except Exception:
                log.exception("wallboard.figures_failed", extra={"figures": name})
        return {"now": now, "day_start": self._day, "timezone": config.callcenter.timezone,
                "interval_seconds": self.routing.interval_seconds,
                "queues": [self._queue(qid, now, extras) for qid in config.queues],
                "agents": [self.agent_row(a.id, config) for a in config.agents
                           if a.takes_voice or a.takes_chat],
                "intervals": [{"queue": q, "start": b, "entered": c.entered,
                               "answered": c.answered, "abandoned": c.abandoned}
                              for q, b, c in self.routing.intervals() if b >= self._day]}

    def _queue(self, queue_id: str, now: float,
               extras: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
        queue = self.config().queues[queue_id]
        today = _sum([c for _q, b, c in self.routing.intervals(queue_id) if b >= self._day])
        realtime = self.routing.realtime(queue_id, now)
        counted = today.answered + today.abandoned_excluding_short
        by_channel = {ch: dict(self._by_channel.get(queue_id, {}).get(
            ch, {"offered": 0, "answered": 0})) for ch in queue.channels}
        return {"id": queue_id, "name": _loc(queue.name), "channels": list(queue.channels),
                "teams": list(queue.teams), "waiting": realtime.waiting,
                "no_eligible": self.routing.unserved(queue_id),
                "ready_agents": self.routing.ready_agents(queue_id),
                "longest_wait": realtime.longest_wait,
                "service_level": today.service_level,
                "service_level_seconds": queue.service_level_seconds,
                "asa": today.asa,
                "abandon_rate": today.abandoned_excluding_short / counted if counted else None,
                "entered": today.entered, "answered": today.answered,
                "abandoned": today.abandoned, "by_channel": by_channel,
                "extras": {name: figures.get(queue_id, {}) for name, figures in extras.items()}}

    def agent_row(self, agent_id: str, config: Config | None = None) -> dict[str, Any]:
        config = config or self.config()
        agent = config.agent(agent_id)
        assert agent is not None
        view = self.routing.agent(agent_id)
        state = view.state.value if view else "logged_out"
        known = self._since.get(agent_id)
        since = known[1] if known is not None and known[0] == state else None
        tasks = []
        if view is not None:
            for offer_id in view.offers:
                offer = self.agents.offer(offer_id)
                if offer is not None:
                    tasks.append({"task_id": offer.task_id, "channel": offer.channel,
                                  "queue": offer.queue, "status": "offered"})
            for status, ids in (("connected", view.connected), ("wrap_up", view.wrapping)):
                for task_id in ids:
                    queue, channel = self._tasks.get(task_id) or (
                        None, self.routing.channel_of(task_id))
                    tasks.append({"task_id": task_id, "channel": channel, "queue": queue,
                                  "status": status})
        session = self.agents.sessions.get(agent_id)
        team = config.teams.get(agent.team or "")
        return {"id": agent.id, "name": agent.name, "team": agent.team,
                "team_name": team.name if team else None, "role": agent.role,
                "extension": agent.extension, "state": state,
                "reason": view.reason if view else None, "since": since, "tasks": tasks,
                "answered": view.answered if view else 0,
                "device": session.device if session else None,
                "device_ok": session.device_ok if session else None,
                "phone_registered": session.registered if session else None}

    def force_state(self, agent_id: str, state: str, reason: str | None) -> dict[str, Any]:
        """A supervisor sets an agent ready, not ready or logged out; the agent's row."""
        if state == "logged_out":
            if agent_id not in self.agents.sessions:
                raise AgentError(f"{agent_id} is not logged in")
            self.agents.logout(agent_id)
        else:
            self.agents.set_state(agent_id, state,
                                  None if state == "ready" else (reason or "supervisor"))
        return self.agent_row(agent_id)

    def view(self, snapshot: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """The part of a snapshot this supervisor may see (admins: all)."""
        config = self.config()
        queues = set(visible_queue_ids(principal, config))
        agents = set(visible_agent_ids(principal, config))
        return {**snapshot,
                "queues": [q for q in snapshot["queues"] if q["id"] in queues],
                "agents": [a for a in snapshot["agents"] if a["id"] in agents],
                "intervals": [r for r in snapshot["intervals"] if r["queue"] in queues]}
