"""The speech API: a call's transcript, summary and inspection; search; flagged calls.

Handlers call ``SpeechService`` (``call.service``) only. Who reads what is the policy of
``recordings.access``: agents their own calls with numbers masked, supervisors the
calls of their teams' agents, admins every call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callcenter.errors import FieldError
from callcenter.webkit.endpoints import (
    STAFF,
    SUPERVISION,
    Api,
    Call,
    conflict,
    forbidden,
    not_found,
)

from .schemas import Flag, FlagReview, Inspection, Job, SearchHit, Summary, Transcript
from .services import Forbidden, ReviewConflict, SpeechService

api = Api("speech", "Transcripts, summaries and quality inspection of recorded calls.")

READ_SCOPE = ("agent: calls they handled, numbers masked; supervisor: calls of agents in "
              "teams they supervise; admin: any call")


async def _run(action: Callable[[], Awaitable[Any]]) -> Any:
    """403 for a call or flag outside the reader's scope, 404 for an unknown one,
    409 for a flag already reviewed."""
    try:
        return await action()
    except Forbidden as exc:
        raise forbidden(str(exc)) from None
    except LookupError as exc:
        raise not_found(str(exc)) from None
    except ReviewConflict as exc:
        raise conflict(str(exc)) from None


class _Query(BaseModel):
    """A query string: an unknown parameter is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _query(call: Call, model: type[BaseModel]) -> Any:
    """The query string as ``model``; a bad value is a 422 naming the parameter."""
    try:
        return model.model_validate(dict(call.request.query))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise FieldError(str(first["loc"][0]) if first["loc"] else "query",
                         first["msg"]) from None


class SearchQuery(_Query):
    q: str = Field(min_length=1, max_length=200)
    queue: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = Field(50, ge=1, le=200)


class FlagsQuery(_Query):
    status: Literal["open", "confirmed", "dismissed", "all"] = "open"
    since: float | None = None
    queue: str | None = None
    limit: int = Field(200, ge=1, le=1000)


class JobsQuery(_Query):
    status: Literal["queued", "running", "done", "partial", "failed", "all"] = "failed"
    since: float | None = None
    limit: int = Field(200, ge=1, le=1000)


def _reading(part: str, model: type[BaseModel], summary: str) -> None:
    """``GET /api/interactions/{task_id}/<part>``: one view of a call, by the reader's role."""

    async def read(call: Call) -> Any:
        service: SpeechService = call.service
        data = await _run(lambda: getattr(service, part)(call.user, call.param("task_id")))
        return model.model_validate(data)

    read.__name__ = part
    api.route("GET", f"/api/interactions/{{task_id}}/{part}", roles=STAFF, response=model,
              scope=READ_SCOPE, errors={404}, summary=summary)(read)


class RecordingQuery(_Query):
    part: int = Field(1, ge=1, le=20)


@api.route("GET", "/api/interactions/{task_id}/recording", roles=STAFF, scope=READ_SCOPE,
           errors={404}, summary="A call's recording (audio/wav; ?part=2 for the part after "
                                 "a transfer), to play in the page. Every play is logged.")
async def recording(call: Call) -> web.StreamResponse:
    service: SpeechService = call.service
    query: RecordingQuery = _query(call, RecordingQuery)
    path = await _run(lambda: service.recording(call.user, call.param("task_id"), query.part))
    return web.FileResponse(path, headers={"Content-Type": "audio/wav",
                                           "Cache-Control": "private, no-store"})


_reading("transcript", Transcript,
         "A call's transcript: lines by leg (caller/agent) with word timings.")
_reading("summary", Summary, "A call's summary: reason, entities, topics, sentiment, key "
         "sentences, each with the words that led to it.")
_reading("inspection", Inspection,
         "A call's quality inspection: score and flags with the lines behind them.")


@api.route("GET", "/api/speech/search", roles=STAFF, response=SearchHit, list_response=True,
           scope=READ_SCOPE + "; masked readers may not search by 4+ digits", errors={422},
           summary="Calls whose transcript says it: ?q=&queue=&since=&until=&limit= "
                   "(spacing, case and punctuation ignored), newest first.")
async def search(call: Call) -> list[SearchHit]:
    service: SpeechService = call.service
    query: SearchQuery = _query(call, SearchQuery)
    hits = await service.search(call.user, query.q, queue=query.queue, since=query.since,
                                until=query.until, limit=query.limit)
    return [SearchHit.model_validate(h) for h in hits]


@api.route("GET", "/api/supervisor/flags", roles=SUPERVISION, response=Flag,
           list_response=True, errors={422},
           scope="supervisor: calls of agents in teams they supervise; admin: all",
           summary="Flagged calls to review: ?status=open|confirmed|dismissed|all&since=&queue=")
async def flags(call: Call) -> list[Flag]:
    service: SpeechService = call.service
    query: FlagsQuery = _query(call, FlagsQuery)
    rows = await service.flags(call.user, statuses=None if query.status == "all"
                               else [query.status], since=query.since, queue=query.queue,
                               limit=query.limit)
    return [Flag.model_validate(r) for r in rows]


@api.route("POST", "/api/supervisor/flags/{flag_id}/review", roles=SUPERVISION,
           body=FlagReview, response=Flag, errors={404, 409},
           scope="supervisor: calls of agents in teams they supervise; admin: all",
           summary="Confirm or dismiss a flag (once; 409 if it was already reviewed).")
async def review(call: Call) -> Flag:
    service: SpeechService = call.service
    body: FlagReview = call.body
    try:
        flag_id = int(call.param("flag_id"))
    except ValueError:
        raise not_found("no such flag") from None
    data = await _run(lambda: service.review(call.user, flag_id, body.verdict, body.note))
    return Flag.model_validate(data)


@api.route("GET", "/api/speech/jobs", roles=SUPERVISION, response=Job, list_response=True,
           errors={422}, scope="supervisor: queues they watch; admin: all",
           summary="The transcription backlog: ?status=failed|queued|running|done|partial|all"
                   "&since= (failed ones say why).")
async def jobs(call: Call) -> list[Job]:
    service: SpeechService = call.service
    query: JobsQuery = _query(call, JobsQuery)
    rows = await service.jobs(call.user, statuses=None if query.status == "all"
                              else [query.status], since=query.since, limit=query.limit)
    return [Job.model_validate(r) for r in rows]
