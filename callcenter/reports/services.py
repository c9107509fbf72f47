"""Reports for supervisors (their teams' queues and agents) and admins: interval
statistics recomputed from the event log for any period, as figures for the page's
charts and as the text table the page, the CSV and the Excel file share.

What a supervisor may see is decided here, once, for every format: the queues their
teams watch and the agents of their teams (``callcenter.webkit.principal``); asking for
another's is refused (403), never silently cut.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.config.models import Config
from callcenter.errors import FieldError
from callcenter.storage import Store
from callcenter.webkit.principal import Principal, visible_agent_ids, visible_queue_ids

from . import table as text
from .figures import TOTAL, Inputs, Scope, Table, Thresholds, compute, customer_contacts
from .periods import INTERVALS, Buckets, parse_day
from .queue_log import QueueLogWriter

log = logging.getLogger(__name__)

MAX_BUCKETS = 3000
"""More intervals than this in one report is refused: 31 days of 15 minutes is 2976."""
MAX_DAYS = 400
READ_SECONDS = 6 * 3600.0
"""The queue log is read this much at a time (a busy day is tens of thousands of rows,
and turning them into events holds the event loop)."""
LOOK_BACK = 12 * 3600
"""Holds that began this long before a period are still found (a call on hold across
the start of the period: its hold counts in the handle time of its wrap-up)."""


class NotYours(Exception):
    """The report asks for a queue or agent the reader does not supervise (403)."""


@dataclass(frozen=True)
class Request:
    """One report: the period ``[start, end)``, its interval, rows and filters."""

    start: float
    end: float
    interval: str = "60m"
    by: str = "queue"
    queues: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    channel: str | None = None


class ReportService:
    def __init__(self, *, store: Store, config: Callable[[], Config],
                 clock: Callable[[], float]) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config().callcenter.timezone)

    # ------------------------------------------------------------------ the request

    def request(self, *, start: str | None, end: str | None, interval: str, by: str,
                queues: str | None = None, agents: str | None = None,
                channel: str | None = None) -> Request:
        """A report request from the page's parameters: dates are local to the contact
        center (``end`` is the last day included); today when none is given."""
        zone = self.zone()
        today = text_day(self.clock(), zone)
        try:
            t0 = parse_day(start or today, zone)
        except ValueError as exc:
            raise FieldError("from", str(exc)) from None
        try:
            last = parse_day(end or start or today, zone)
        except ValueError as exc:
            raise FieldError("to", str(exc)) from None
        t1 = Buckets(last, last + 1, "day", zone).ends[0] if "T" not in (end or "") else last
        if t1 <= t0:
            raise FieldError("to", "the period ends before it starts")
        if t1 - t0 > MAX_DAYS * 86400:
            raise FieldError("to", f"a report covers at most {MAX_DAYS} days")
        if interval not in INTERVALS:
            raise FieldError("interval", f"one of {', '.join(INTERVALS)}")
        buckets = Buckets(t0, t1, interval, zone)
        if len(buckets.starts) > MAX_BUCKETS:
            raise FieldError("interval", f"{len(buckets.starts)} intervals is more than "
                             f"{MAX_BUCKETS}: choose a longer interval or a shorter period")
        config = self.config()
        picked_queues = _split(queues)
        for q in picked_queues:
            if q not in config.queues:
                raise FieldError("queues", f"no queue {q}")
        picked_agents = _split(agents)
        for a in picked_agents:
            if config.agent(a) is None:
                raise FieldError("agents", f"no agent {a}")
        return Request(t0, t1, interval, by, picked_queues, picked_agents, channel)

    def scope(self, principal: Principal, request: Request) -> Scope:
        """What this reader may see of the request (403 for anything else)."""
        config = self.config()
        visible_q = visible_queue_ids(principal, config)
        visible_a = visible_agent_ids(principal, config)
        for q in request.queues:
            if q not in visible_q:
                raise NotYours(f"queue {q} is not one your teams watch")
        for a in request.agents:
            if a not in visible_a:
                raise NotYours(f"{a} is not in a team you supervise")
        queues = frozenset(request.queues or visible_q)
        agents = frozenset(request.agents or visible_a)
        return Scope(
            by=request.by, queues=queues, agents=agents, channel=request.channel,
            thresholds={qid: Thresholds(q.service_level_seconds, q.short_abandon_seconds)
                        for qid, q in config.queues.items()},
            agent_queues=agent_queues(config),
            agent_channels={a.id: frozenset(ch for ch, takes in (("voice", a.takes_voice),
                                                                 ("chat", a.takes_chat))
                                            if takes) for a in config.agents},
            fcr_days=config.callcenter.reports.first_contact_days,
            satisfied_from=config.callcenter.reports.satisfied_from,
            now=self.clock())

    # ------------------------------------------------------------------ computing

    async def inputs(self, t0: float, t1: float, fcr_days: float) -> Inputs:
        """Everything the store holds for ``[t0, t1)``; the queue log a day at a time, so
        the event loop serves calls between the pieces of a long period."""
        store = self.store
        events = await store.queue_events_of(("HOLD", "UNHOLD"), t0 - LOOK_BACK, t0)
        t = t0
        while t < t1:
            events += await store.events_between(t, min(t1, t + READ_SECONDS))
            t += READ_SECONDS
        tasks = {e.interaction_id for e in events if e.interaction_id}
        contacts = await store.contacts(tasks)
        answered = [contacts[e.interaction_id] for e in events
                    if e.event == "CONNECT" and e.interaction_id in contacts]
        arrivals = [c.arrived_at for c in answered
                    if c.customer_id is not None and c.arrived_at is not None]
        later = (await store.contacts_arrived_between(min(arrivals), t1 + fcr_days * 86400)
                 if arrivals else [])
        return Inputs(events=events, states=await store.agent_states_for(t0, t1),
                      contacts=contacts, customer_contacts=customer_contacts(later),
                      callbacks=await store.callbacks_requested_between(t0, t1),
                      csat=await store.csat_between(t0, t1))

    async def table(self, principal: Principal, request: Request) -> Table:
        scope = self.scope(principal, request)
        buckets = Buckets(request.start, request.end, request.interval, self.zone())
        inputs = await self.inputs(request.start, request.end, scope.fcr_days)
        # A month of a busy center is seconds of Python: off the event loop that serves calls
        return await asyncio.to_thread(compute, buckets, scope, inputs)

    def labeller(self, by: str, lang: str) -> Callable[[str], str]:
        config = self.config()

        def label(key: str) -> str:
            if by == "queue":
                queue = config.queues.get(key)
                if queue is None:
                    return key
                return getattr(queue.name, lang, None) or queue.name.zh or queue.name.en or key
            if by == "agent":
                agent = config.agent(key)
                return agent.name if agent else key
            if by == "medium":
                return text.medium_label(key, lang)
            return text.channel_label(key, lang)

        return label

    async def report(self, principal: Principal, request: Request,
                     lang: str = "zh") -> dict[str, Any]:
        """The page's data: figures per row and interval (charts), and the text tables."""
        started = self.clock()
        table = await self.table(principal, request)
        out = await asyncio.to_thread(self._assemble, table, request, lang)
        log.info("reports.computed", extra={"user": principal.username, "by": request.by,
                                            "interval": request.interval,
                                            "buckets": len(out["buckets"]),
                                            "rows": len(out["rows"]),
                                            "ms": round((self.clock() - started) * 1000)})
        return out

    def _assemble(self, table: Table, request: Request, lang: str) -> dict[str, Any]:
        label = self.labeller(request.by, lang)
        b = table.buckets

        def series(key: str) -> list[dict[str, Any] | None]:
            return [table.cells[(key, i)].figures() if (key, i) in table.cells else None
                    for i in range(len(b.starts))]

        rows = [{"key": k, "label": label(k), "period": table.period(k).figures(),
                 "buckets": series(k)} for k in text.ordered(table.keys(), request.by, label)]
        out = {"start": request.start, "end": request.end, "interval": request.interval,
               "by": request.by, "timezone": self.config().callcenter.timezone,
               "buckets": [{"start": s, "end": e, "label": b.label(i)}
                           for i, (s, e) in enumerate(zip(b.starts, b.ends, strict=True))],
               "rows": rows,
               "total": {"key": TOTAL, "label": text._HEAD[lang]["total"],
                         "period": table.period(TOTAL).figures(), "buckets": series(TOTAL)},
               "columns": text.columns(request.by, lang),
               "reasons": text.reasons(table),
               "tables": text.text_tables(table, lang, label)}
        return out

    async def text_table(self, principal: Principal, request: Request, lang: str,
                         which: str) -> dict[str, list[Any]]:
        table = await self.table(principal, request)
        return (await asyncio.to_thread(text.text_tables, table, lang,
                                        self.labeller(request.by, lang)))[which]

    # ------------------------------------------------------------------ queue_log

    async def export_queue_log(self, since: float, until: float,
                               write: Callable[[str], object], *,
                               chunk_seconds: float = 86400.0) -> int:
        """Write the event log of ``[since, until)`` as queue_log lines, a day at a time
        (constant memory, whatever the length); returns the number of lines."""
        config = self.config()
        writer = QueueLogWriter(
            agent_queues=agent_queues(config),
            channels={a.id: f"PJSIP/{a.extension}" for a in config.agents if a.extension},
            callback_keys={qid: q.callback.key for qid, q in config.queues.items()
                           if q.callback.enabled})
        written = 0
        t = since
        while t < until:
            end = min(until, t + chunk_seconds)
            events = await self.store.events_between(t, end)
            contacts = await self.store.contacts(
                e.interaction_id for e in events
                if e.event == "ENTERQUEUE" and e.interaction_id)
            writer.caller = lambda task, known=contacts: (
                known[task].caller_masked or "" if task in known else "")
            for line in writer.lines(events):
                write(line + "\n")
                written += 1
            t = end
        log.info("reports.queue_log_exported", extra={"lines": written, "since": since,
                                                      "until": until})
        return written

    # ------------------------------------------------------------------ files

    @staticmethod
    def csv_bytes(rows: dict[str, list[Any]]) -> bytes:
        """UTF-8 with a byte-order mark, so Excel opens Chinese headers as text."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(rows["header"])
        writer.writerows(rows["rows"])
        return out.getvalue().encode("utf-8-sig")

    @staticmethod
    def xlsx_bytes(rows: dict[str, list[Any]], title: str) -> bytes:
        """The same cells as the CSV; numbers as numbers, so a spreadsheet can sum them."""
        from openpyxl import Workbook  # only the download needs it

        book = Workbook(write_only=True)
        sheet = book.create_sheet(title[:31])
        sheet.append(rows["header"])
        for row in rows["rows"]:
            sheet.append([_number(v) for v in row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


def _number(value: Any) -> Any:
    if isinstance(value, str) and value and value[0] in "0123456789-":
        try:
            return int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            return value
    return value


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in (value or "").split(",") if v.strip()))


def agent_queues(config: Config) -> dict[str, frozenset[str]]:
    """Per agent, the queues they serve (their skills meet the queue's)."""
    out: dict[str, set[str]] = {a.id: set() for a in config.agents}
    for qid in config.queues:
        for agent in config.eligible_agents(qid):
            out.setdefault(agent.id, set()).add(qid)
    return {a: frozenset(qs) for a, qs in out.items()}


def text_day(t: float, zone: ZoneInfo) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(t, zone).date().isoformat()
