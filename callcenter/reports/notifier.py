"""The reports feature publishes no event: reports are read on request, recomputed from
the event log. It consumes ``queue.event`` through a bus tap (``metrics.py``: offers,
answers, abandons and each offer's dispatch latency), so this room only says so."""

from __future__ import annotations

PUBLISHES: tuple[str, ...] = ()
CONSUMES = frozenset({"queue.event"})
