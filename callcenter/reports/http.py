"""The reports API (supervisors: their teams; admins: everything) and ``/metrics``.

Handlers parse the query string and call their service only: ``ReportService`` decides
what a reader may see; ``MetricsService`` renders Prometheus's text format.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from callcenter.errors import FieldError
from callcenter.webkit.endpoints import PUBLIC, SUPERVISION, Api, ApiError, Call, forbidden

from .metrics import MetricsService, NotAllowed
from .schemas import Report, ReportQuery
from .services import NotYours, ReportService, Request

api = Api("reports", "Interval statistics from the event log: figures, CSV and Excel.")
metrics_api = Api("metrics", "Prometheus metrics for monitoring.")

SCOPE = ("supervisor: queues their teams watch and agents of their teams (others: 403); "
         "admin: everything")


def _query(call: Call) -> ReportQuery:
    try:
        return ReportQuery.model_validate(dict(call.request.query))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise FieldError(str(first["loc"][0]) if first["loc"] else "query",
                         first["msg"]) from None


def _request(service: ReportService, query: ReportQuery) -> Request:
    return service.request(start=query.from_, end=query.to, interval=query.interval,
                           by=query.by, queues=query.queues, agents=query.agents,
                           channel=query.channel)


async def _mine(action: Any) -> Any:
    try:
        return await action
    except NotYours as exc:
        raise forbidden(str(exc)) from None


@api.route("GET", "/api/reports", roles=SUPERVISION, response=Report, scope=SCOPE,
           errors={422}, summary="Figures per queue, agent or channel and interval, with "
           "the tables the page shows (query: from, to, interval, by, queues, agents, "
           "channel, lang).")
async def report(call: Call) -> Report:
    service: ReportService = call.service
    query = _query(call)
    data = await _mine(service.report(call.user, _request(service, query), query.lang))
    return Report.model_validate(data)


@api.route("GET", "/api/reports/export.csv", roles=SUPERVISION, scope=SCOPE, errors={422},
           summary="The table the page shows as CSV (UTF-8); table=intervals|summary.")
async def export_csv(call: Call) -> web.Response:
    service: ReportService = call.service
    query = _query(call)
    rows = await _mine(service.text_table(call.user, _request(service, query), query.lang,
                                          query.table))
    return web.Response(body=service.csv_bytes(rows), content_type="text/csv",
                        charset="utf-8", headers=_attachment(query, "csv"))


@api.route("GET", "/api/reports/export.xlsx", roles=SUPERVISION, scope=SCOPE, errors={422},
           summary="The table the page shows as an Excel workbook; table=intervals|summary.")
async def export_xlsx(call: Call) -> web.Response:
    service: ReportService = call.service
    query = _query(call)
    rows = await _mine(service.text_table(call.user, _request(service, query), query.lang,
                                          query.table))
    body = await asyncio.to_thread(service.xlsx_bytes, rows, f"{query.by} {query.interval}")
    return web.Response(
        body=body, headers=_attachment(query, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _attachment(query: ReportQuery, ext: str) -> dict[str, str]:
    name = f"report-{query.by}-{query.interval}-{query.table}.{ext}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@metrics_api.route("GET", "/metrics", roles=PUBLIC, errors={403},
                   scope="callcenter.yaml metrics.token as a Bearer token; without one, "
                         "loopback clients only",
                   summary="Prometheus metrics (text format 0.0.4, or OpenMetrics by Accept).")
async def metrics(call: Call) -> web.Response:
    service: MetricsService = call.service
    try:
        service.check(call.request.remote, call.request.headers.get("Authorization"))
    except NotAllowed as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    body, content_type = await service.render(call.request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})
