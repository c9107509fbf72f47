"""Builds the reports feature: interval statistics for supervisors and admins, and
``/metrics`` for Prometheus."""

from __future__ import annotations

from callcenter.features import Dependencies

from . import http
from .metrics import MetricsService
from .services import ReportService


def load(deps: Dependencies) -> None:
    reports = deps.provide(ReportService(store=deps.store, config=deps.config,
                                         clock=deps.clock))
    metrics = deps.provide(MetricsService(
        store=deps.store, bus=deps.bus, routing=deps.routing, config=deps.config,
        clock=deps.clock, link=deps.asterisk.link if deps.asterisk else None,
        sockets=deps.web.sockets))
    deps.web.add_api(http.api, reports)
    deps.web.add_api(http.metrics_api, metrics)
    deps.on_start(metrics.start)
    deps.on_stop(metrics.stop)
