"""``GET /metrics``: the engine's live state in Prometheus's text format, through
``prometheus_client`` and a registry of this engine's own (never the process-global one,
so two engines in one process, as in tests, do not mix their figures).

Families (all prefixed ``callcenter_``):

* ``queue_waiting{queue}``, ``queue_longest_wait_seconds{queue}``: now;
* ``agents{state,channel}``: agents in each state, counted once per channel they take;
* ``offers_total``, ``answers_total``, ``abandons_total`` ``{queue,channel}``: since start;
* ``dispatch_latency_seconds``: histogram, from the engine's decision to offer a contact
  to the moment the offer reached its channel (ringing the phone, the agent's card);
* ``ami_up``, ``ami_reconnects_total``: the AMI link (down and 0 without Asterisk);
* ``event_loop_lag_seconds``: histogram of how late a 0.5 s sleep wakes (a busy loop);
* ``transcription_backlog``: recorded calls waiting for speech to text (queued + running);
* ``websocket_sessions{kind}``: open sockets, ``console`` and ``widget``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from callcenter.ami import AmiLink
from callcenter.bus import BusEvent, EventBus
from callcenter.config.models import Config
from callcenter.routing.services import RoutingService
from callcenter.storage import Store

log = logging.getLogger(__name__)

LAG_PERIOD = 0.5
_CHANNEL_MEMORY = 50_000  # tasks whose channel is remembered for the counters' labels
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5)
_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class NotAllowed(Exception):
    """A scrape without the token, or from beyond loopback when no token is set (403)."""


class MetricsService:
    def __init__(self, *, store: Store, bus: EventBus, routing: RoutingService,
                 config: Callable[[], Config], clock: Callable[[], float],
                 link: AmiLink | None, sockets: dict[str, Callable[[], int]]) -> None:
        self.store = store
        self.routing = routing
        self.config = config
        self.clock = clock
        self.link = link
        self.sockets = sockets
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["queue", "channel"]
        self.offers = Counter("callcenter_offers", "Offers of a contact to an agent",
                              labels, registry=self.registry)
        self.answers = Counter("callcenter_answers", "Contacts answered by an agent",
                               labels, registry=self.registry)
        self.abandons = Counter("callcenter_abandons",
                                "Contacts that left the queue before an answer", labels,
                                registry=self.registry)
        self.dispatch = Histogram(
            "callcenter_dispatch_latency_seconds", "From the engine's decision to offer a "
            "contact to the offer reaching its channel", buckets=_LATENCY_BUCKETS,
            registry=self.registry)
        self.lag = Histogram("callcenter_event_loop_lag_seconds",
                             f"How late a {LAG_PERIOD} s sleep of the event loop wakes",
                             buckets=_LAG_BUCKETS, registry=self.registry)
        self.registry.register(_Live(self))
        self._channels: dict[str, str] = {}
        self._backlog = 0
        self._lag_task: asyncio.Task[None] | None = None
        bus.tap(self.observe)

    # ------------------------------------------------------------------ who may scrape

    def check(self, remote: str | None, authorization: str | None) -> None:
        token = self.config().callcenter.metrics.token
        if token is not None:
            given = (authorization or "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
                raise NotAllowed("send Authorization: Bearer <metrics.token>")
            return
        if not _loopback(remote):
            raise NotAllowed("no metrics.token is set, so only this machine may scrape "
                             "(set metrics.token in callcenter.yaml to allow others)")

    # ------------------------------------------------------------------ inputs

    def observe(self, event: BusEvent) -> None:
        """A bus tap: counts offers, answers and abandons, times each offer's dispatch."""
        if event.topic != "queue.event":
            return
        kind = event.data.get("kind")
        task = event.data.get("task")
        if kind == "ENTERQUEUE" and task:
            if len(self._channels) >= _CHANNEL_MEMORY:
                self._channels.pop(next(iter(self._channels)))
            self._channels[task] = str(event.data.get("channel") or "voice")
            return
        if kind not in ("OFFER", "CONNECT", "ABANDON"):
            return
        channel = self._channels.get(task or "") or self.routing.channel_of(task or "") \
            or "voice"
        labels = (event.queue or "", channel)
        if kind == "OFFER":
            self.offers.labels(*labels).inc()
            self.dispatch.observe(max(0.0, self.clock() - event.at))
        elif kind == "CONNECT":
            self.answers.labels(*labels).inc()
        else:
            self.abandons.labels(*labels).inc()
            self._channels.pop(task or "", None)

    async def start(self) -> None:
        self._lag_task = asyncio.create_task(self._measure_lag(), name="metrics-loop-lag")

    async def stop(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task

    async def _measure_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            await asyncio.sleep(LAG_PERIOD)
            self.lag.observe(max(0.0, loop.time() - began - LAG_PERIOD))

    # ------------------------------------------------------------------ output

    async def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition the scraper asks for in ``Accept`` (Prometheus's text format
        0.0.4 by default, OpenMetrics on request); what the store knows is read first."""
        try:
            backlog = await self.store.speech_backlog(failed_since=self.clock())
            self._backlog = sum(c.get("queued", 0) + c.get("running", 0)
                                for c in backlog.values())
        except Exception:
            log.exception("metrics.backlog_failed")
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    def live(self) -> Iterator[Metric]:
        """The families read at scrape time from the engine, the link and the sockets."""
        now = self.clock()
        config = self.config()
        waiting = GaugeMetricFamily("callcenter_queue_waiting", "Contacts waiting now",
                                    labels=["queue"])
        longest = GaugeMetricFamily("callcenter_queue_longest_wait_seconds",
                                    "How long the longest-waiting contact has waited",
                                    labels=["queue"])
        for qid in config.queues:
            now_q = self.routing.realtime(qid, now)
            waiting.add_metric([qid], now_q.waiting)
            longest.add_metric([qid], now_q.longest_wait)
        yield waiting
        yield longest
        agents = GaugeMetricFamily("callcenter_agents", "Agents in each state, once per "
                                   "channel they take", labels=["state", "channel"])
        counts: dict[tuple[str, str], int] = {}
        for agent in config.agents:
            view = self.routing.agent(agent.id)
            state = view.state.value if view is not None else "logged_out"
            for channel, takes in (("voice", agent.takes_voice), ("chat", agent.takes_chat)):
                if takes:
                    counts[(state, channel)] = counts.get((state, channel), 0) + 1
        for (state, channel), n in sorted(counts.items()):
            agents.add_metric([state, channel], n)
        yield agents
        yield GaugeMetricFamily("callcenter_ami_up", "1 while the AMI link to Asterisk is up",
                                value=1 if self.link is not None and self.link.is_up else 0)
        yield CounterMetricFamily(
            "callcenter_ami_reconnects", "Times the AMI link connected again after the first",
            value=max(0, self.link.connects - 1) if self.link is not None else 0)
        yield GaugeMetricFamily("callcenter_transcription_backlog",
                                "Recorded calls waiting for speech to text", value=self._backlog)
        sessions = GaugeMetricFamily("callcenter_websocket_sessions", "Open WebSockets",
                                     labels=["kind"])
        for kind in ("console", "widget"):
            count = self.sockets.get(kind)
            sessions.add_metric([kind], count() if count is not None else 0)
        yield sessions


class _Live:
    def __init__(self, service: MetricsService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        return self.service.live()

    def describe(self) -> list[Any]:
        return []  # read at scrape time: nothing to check against at registration


def _loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False
