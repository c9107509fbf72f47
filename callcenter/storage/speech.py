"""Speech records: the transcription backlog, each call's speech result, inspection flags.

The backlog is durable so that no recorded call is lost to a crash: a job is written
when the recording is archived, claimed (``running``, with the claiming process as
``owner``) when work starts, and finished with its status in the same transaction as
the results. A job left ``running`` by a process that died is queued again at the next
start. Results are stored unmasked; masking is the reader's (the speech feature's)
business, by role.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .database import Database, _dumps, _loads, _now, _placeholders

__all__ = ["JOB_STATUSES", "SpeechFlag", "SpeechJob", "SpeechRecords", "SpeechResult"]

JOB_STATUSES: Final = ("queued", "running", "done", "partial", "failed")
FLAG_STATUSES: Final = ("open", "confirmed", "dismissed")
_JOB_COLUMNS: Final = frozenset({"status", "language", "queue", "attempts", "error", "owner",
                                 "audio_seconds", "decode_seconds", "started_at",
                                 "finished_at"})


@dataclass(slots=True)
class SpeechJob:
    interaction_id: str
    status: str
    language: str | None
    queue: str | None
    attempts: int
    error: str | None
    owner: str | None
    audio_seconds: float | None
    decode_seconds: float | None
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(slots=True)
class SpeechResult:
    interaction_id: str
    queue: str | None
    agent_id: str | None
    language: str | None
    duration: float | None
    transcript: dict[str, Any]
    summary: dict[str, Any]
    inspection: dict[str, Any] | None
    score: float | None
    passed: bool | None
    created_at: float


@dataclass(slots=True)
class SpeechFlag:
    id: int
    interaction_id: str
    queue: str | None
    agent_id: str | None
    rule: str
    code: str
    message: str
    deduction: float
    start: float | None
    end: float | None
    utterances: list[dict[str, Any]]
    details: dict[str, Any]
    status: str
    reviewed_by: str | None
    reviewed_at: float | None
    review_note: str | None
    created_at: float


def _job(row: sqlite3.Row) -> SpeechJob:
    return SpeechJob(**{k: row[k] for k in row.keys()})  # noqa: SIM118 (sqlite3.Row)


def _result(row: sqlite3.Row) -> SpeechResult:
    return SpeechResult(
        interaction_id=row["interaction_id"], queue=row["queue"], agent_id=row["agent_id"],
        language=row["language"], duration=row["duration"],
        transcript=_loads(row["transcript"], {}), summary=_loads(row["summary"], {}),
        inspection=_loads(row["inspection"], None), score=row["score"],
        passed=None if row["passed"] is None else bool(row["passed"]),
        created_at=row["created_at"],
    )  # fmt: skip


def _flag(row: sqlite3.Row) -> SpeechFlag:
    return SpeechFlag(
        id=row["id"], interaction_id=row["interaction_id"], queue=row["queue"],
        agent_id=row["agent_id"], rule=row["rule"], code=row["code"], message=row["message"],
        deduction=row["deduction"], start=row["start_offset"], end=row["end_offset"],
        utterances=_loads(row["utterances"], []), details=_loads(row["details"], {}),
        status=row["status"], reviewed_by=row["reviewed_by"], reviewed_at=row["reviewed_at"],
        review_note=row["review_note"], created_at=row["created_at"],
    )  # fmt: skip


def _in(column: str, values: Sequence[Any] | None, params: list[Any]) -> str:
    """`` AND column IN (...)`` for a filter (None: no filter; empty: nothing matches)."""
    if values is None:
        return ""
    params.extend(values)
    return f" AND {column} IN ({_placeholders(len(values))})" if values else " AND 0"


def _where(params: list[Any], *, since: float | None = None, until: float | None = None,
           **equal: Any) -> str:
    """`` AND ...`` for a time window on ``created_at`` and columns equal to a value (a
    None value: no filter on that column)."""
    sql = ""
    for op, value in ((">=", since), ("<", until)):
        if value is not None:
            sql += f" AND created_at {op} ?"
            params.append(value)
    for column, value in equal.items():
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    return sql


class SpeechRecords(Database):
    """The backlog of calls to transcribe, their results, and flags under review."""

    # ------------------------------------------------------------------ backlog

    async def enqueue_speech_job(self, interaction_id: str, *, language: str | None = None,
                                 queue: str | None = None, at: float | None = None,
                                 again: bool = False) -> SpeechJob:
        """Queue the call once; with ``again`` a finished or failed job is queued anew
        (a job running now is left alone)."""
        now = _now(at)
        async with self.transaction():
            await self._exec(
                "INSERT INTO speech_jobs (interaction_id, language, queue, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(interaction_id) DO NOTHING",
                (interaction_id, language, queue, now, now))
            if again:
                await self._exec(
                    "UPDATE speech_jobs SET status = 'queued', error = NULL, owner = NULL,"
                    " attempts = 0, language = COALESCE(?, language), updated_at = ?,"
                    " created_at = ? WHERE interaction_id = ? AND status != 'running'",
                    (language, now, now, interaction_id))
            job = await self.speech_job(interaction_id)
            assert job is not None
            return job

    async def claim_speech_job(self, owner: str, *, at: float | None = None,
                               interaction_id: str | None = None) -> SpeechJob | None:
        """The oldest queued job (or that one) marked running by ``owner``; None if none."""
        now = _now(at)
        where = "interaction_id = ?" if interaction_id else (
            "interaction_id = (SELECT interaction_id FROM speech_jobs WHERE status = 'queued'"
            " ORDER BY created_at, interaction_id LIMIT 1)")
        params: list[Any] = [owner, now, now]
        if interaction_id:
            params.append(interaction_id)
        async with self.transaction():
            rows = await self._all(
                "UPDATE speech_jobs SET status = 'running', owner = ?, attempts = attempts + 1,"
                f" started_at = ?, updated_at = ? WHERE {where} AND status = 'queued'"
                " RETURNING *", params)
        return _job(rows[0]) if rows else None

    async def update_speech_job(self, interaction_id: str, /, *, at: float | None = None,
                                **fields: Any) -> None:
        unknown = set(fields) - _JOB_COLUMNS
        if unknown:
            raise ValueError(f"not updatable speech job fields: {sorted(unknown)}")
        await self._update("speech_jobs", "interaction_id", interaction_id,
                           {**fields, "updated_at": _now(at)})

    async def speech_job(self, interaction_id: str) -> SpeechJob | None:
        row = await self._one("SELECT * FROM speech_jobs WHERE interaction_id = ?",
                              (interaction_id,))
        return None if row is None else _job(row)

    async def list_speech_jobs(self, statuses: Sequence[str] | None = None, *,
                               since: float | None = None, queue: str | None = None,
                               limit: int = 1000) -> list[SpeechJob]:
        """Jobs, oldest first, filtered by status, creation time and queue."""
        params: list[Any] = []
        sql = "SELECT * FROM speech_jobs WHERE 1" + _in("status", statuses, params)
        sql += _where(params, since=since, queue=queue)
        rows = await self._all(sql + " ORDER BY created_at, interaction_id LIMIT ?",
                               [*params, limit])
        return [_job(r) for r in rows]

    async def speech_backlog(self, *, failed_since: float) -> dict[str | None, dict[str, int]]:
        """Per queue: jobs ``queued`` and ``running`` now, ``failed`` since the time given."""
        rows = await self._all(
            "SELECT queue, status, COUNT(*) AS n FROM speech_jobs WHERE status IN"
            " ('queued', 'running') OR (status = 'failed' AND updated_at >= ?)"
            " GROUP BY queue, status", (failed_since,))
        out: dict[str | None, dict[str, int]] = {}
        for r in rows:
            out.setdefault(r["queue"], {"queued": 0, "running": 0, "failed": 0})[r["status"]] = \
                r["n"]
        return out

    async def recorded_without_speech_job(self, *, since: float | None = None) -> list[str]:
        """Interactions with an archived recording and no speech job (a crash between the
        two), oldest first."""
        rows = await self._all(
            "SELECT r.interaction_id, MIN(r.created_at) AS at FROM recordings r"
            " LEFT JOIN speech_jobs j ON j.interaction_id = r.interaction_id"
            " WHERE r.status = 'complete' AND j.interaction_id IS NULL AND r.created_at >= ?"
            " GROUP BY r.interaction_id ORDER BY at", (since or 0.0,))
        return [r["interaction_id"] for r in rows]

    async def recorded_calls(self, *, since: float | None = None,
                             queue: str | None = None) -> list[tuple[str, SpeechJob | None]]:
        """Calls with an archived recording (since ``since``, in ``queue``), oldest first,
        with their speech job if they have one (``callcenter transcribe``)."""
        params: list[Any] = [since or 0.0]
        sql = ("SELECT i.id, r.at FROM interactions i JOIN (SELECT interaction_id,"
               " MIN(created_at) AS at FROM recordings WHERE status = 'complete'"
               " GROUP BY interaction_id) r ON r.interaction_id = i.id"
               " WHERE COALESCE(i.arrived_at, i.answered_at, r.at) >= ?")
        if queue is not None:
            sql += " AND i.queue = ?"
            params.append(queue)
        rows = await self._all(sql + " ORDER BY COALESCE(i.arrived_at, i.answered_at, r.at), i.id",
                               params)
        return [(r["id"], await self.speech_job(r["id"])) for r in rows]

    # ------------------------------------------------------------------ results

    async def save_speech_result(self, interaction_id: str, *, queue: str | None,
                                 agent_id: str | None, language: str | None,
                                 duration: float | None, transcript: Mapping[str, Any],
                                 summary: Mapping[str, Any],
                                 inspection: Mapping[str, Any] | None, search_text: str,
                                 at: float | None = None) -> None:
        """Store (or replace) the call's result; its flags go in with ``add_speech_flags``."""
        await self._exec(
            "INSERT OR REPLACE INTO speech_results (interaction_id, queue, agent_id, language,"
            " duration, transcript, summary, inspection, score, passed, search_text,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (interaction_id, queue, agent_id, language, duration, _dumps(transcript),
             _dumps(summary), None if inspection is None else _dumps(inspection),
             None if inspection is None else inspection.get("score"),
             None if inspection is None else int(bool(inspection.get("passed"))),
             search_text, _now(at)))

    async def speech_result(self, interaction_id: str) -> SpeechResult | None:
        row = await self._one("SELECT * FROM speech_results WHERE interaction_id = ?",
                              (interaction_id,))
        return None if row is None else _result(row)

    async def clear_speech_output(self, interaction_id: str, *, engine_prefix: str) -> None:
        """Forget an earlier run's transcript lines (those of ``engine_prefix*``), result
        and flags, before a re-run stores its own. Summaries stay: the latest is shown."""
        async with self.transaction():
            await self._exec("DELETE FROM transcripts WHERE interaction_id = ? AND engine LIKE ?",
                             (interaction_id, engine_prefix + "%"))
            await self._exec("DELETE FROM speech_flags WHERE interaction_id = ?",
                             (interaction_id,))
            await self._exec("DELETE FROM speech_results WHERE interaction_id = ?",
                             (interaction_id,))

    async def search_speech(self, needle: str, *, since: float | None = None,
                            until: float | None = None, queues: Sequence[str] | None = None,
                            agent_ids: Sequence[str] | None = None,
                            limit: int = 50) -> list[SpeechResult]:
        """Results whose ``search_text`` contains ``needle`` (already normalised), newest
        first, limited to the queues / agents given (None: any)."""
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params: list[Any] = [pattern]
        sql = "SELECT * FROM speech_results WHERE search_text LIKE ? ESCAPE '\\'"
        sql += _where(params, since=since, until=until)
        sql += _in("queue", queues, params) + _in("agent_id", agent_ids, params)
        rows = await self._all(sql + " ORDER BY created_at DESC LIMIT ?", [*params, limit])
        return [_result(r) for r in rows]

    # ------------------------------------------------------------------ flags

    async def add_speech_flags(self, interaction_id: str, flags: Iterable[Mapping[str, Any]], *,
                               queue: str | None, agent_id: str | None,
                               at: float | None = None) -> list[SpeechFlag]:
        """Each mapping: rule, code, message, deduction, start, end, utterances, details."""
        now = _now(at)
        out = []
        async with self.transaction():
            for f in flags:
                row = await self._insert_returning(
                    "INSERT INTO speech_flags (interaction_id, queue, agent_id, rule, code,"
                    " message, deduction, start_offset, end_offset, utterances, details,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                    (interaction_id, queue, agent_id, f["rule"], f["code"], f["message"],
                     float(f["deduction"]), f.get("start"), f.get("end"),
                     _dumps(list(f.get("utterances", ()))), _dumps(dict(f.get("details", {}))),
                     now))
                out.append(_flag(row))
        return out

    async def speech_flag(self, flag_id: int) -> SpeechFlag | None:
        row = await self._one("SELECT * FROM speech_flags WHERE id = ?", (flag_id,))
        return None if row is None else _flag(row)

    async def list_speech_flags(self, *, interaction_id: str | None = None,
                                statuses: Sequence[str] | None = None,
                                since: float | None = None, queue: str | None = None,
                                agent_ids: Sequence[str] | None = None,
                                limit: int = 500) -> list[SpeechFlag]:
        """Flags, newest call first (a call's flags in their order)."""
        params: list[Any] = []
        sql = "SELECT * FROM speech_flags WHERE 1"
        sql += _where(params, since=since, interaction_id=interaction_id, queue=queue)
        sql += _in("status", statuses, params) + _in("agent_id", agent_ids, params)
        rows = await self._all(sql + " ORDER BY created_at DESC, id LIMIT ?", [*params, limit])
        return [_flag(r) for r in rows]

    async def review_speech_flag(self, flag_id: int, status: str, *, by: str,
                                 note: str | None = None,
                                 at: float | None = None) -> SpeechFlag | None:
        """Confirm or dismiss an open flag. Returns the flag as it is now (unchanged if it
        was already reviewed); None if there is no such flag."""
        if status not in ("confirmed", "dismissed"):
            raise ValueError("a review confirms or dismisses")
        async with self.transaction():
            await self._exec(
                "UPDATE speech_flags SET status = ?, reviewed_by = ?, reviewed_at = ?,"
                " review_note = ? WHERE id = ? AND status = 'open'",
                (status, by, _now(at), note, flag_id))
            return await self.speech_flag(flag_id)

    async def flagged_calls(self, *, since: float) -> dict[str | None, int]:
        """Per queue: calls inspected since ``since`` with a flag not dismissed."""
        rows = await self._all(
            "SELECT queue, COUNT(DISTINCT interaction_id) AS n FROM speech_flags"
            " WHERE created_at >= ? AND status != 'dismissed' GROUP BY queue", (since,))
        return {r["queue"]: r["n"] for r in rows}
