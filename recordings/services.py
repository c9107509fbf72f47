"""The speech feature's service: the durable backlog that turns every archived call
recording into a transcript, a summary and an inspection, and what people may read of
them.

The backlog lives in SQLite (``speech_jobs``). ``recording.complete`` queues a job; a
feeder claims jobs oldest first, at most ``stt.workers`` calls at a time (the decode
pool's own bounded queue holds their legs), so memory stays bounded whatever the
backlog. A job a dead process left ``running`` is queued again at start; recordings
archived in the last day with no job yet (a crash between the two) are queued too. A
job whose work was started more than ``stt.retries + 1`` times without finishing (it
keeps killing the engine) is marked failed rather than tried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.bus import EventBus, Subscription
from callcenter.config.models import Config
from callcenter.errors import FieldError
from callcenter.storage import Interaction, Store
from callcenter.storage.speech import SpeechFlag, SpeechJob, SpeechResult
from callcenter.webkit.principal import Principal, may_supervise, visible_queue_ids
from recordings import access
from recordings.digest import unavailable_text
from recordings.masking import mask_summary, mask_text, mask_transcript
from recordings.notifier import CONSUMES, SpeechNotifier
from recordings.processing import CallProcessor, PoolKeeper, search_form
from recordings.summary import Summary
from recordings.transcript import Transcript

log = logging.getLogger(__name__)

__all__ = ["Forbidden", "ReviewConflict", "SpeechService", "process_owner"]

CATCH_UP_SECONDS = 86400.0
"""How far back a start looks for archived recordings that never got a job."""


class Forbidden(Exception):
    """This reader may not see that call or act on that flag; the message says why."""


class ReviewConflict(Exception):
    """The flag was already reviewed."""


def process_owner(pid: int | None = None) -> str:
    """``host:pid:start`` naming a process for good (a pid alone is reused)."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def owner_alive(owner: str | None) -> bool:
    """Whether the process that claimed a job still runs (only this host can tell)."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    return _start_time(int(pid_text)) == start != "?"


class SpeechService:
    def __init__(self, *, store: Store, bus: EventBus, config: Callable[[], Config],
                 clock: Callable[[], float], processor: CallProcessor, pools: PoolKeeper,
                 notifier: SpeechNotifier) -> None:
        self.store = store
        self.bus = bus
        self.config = config
        self.clock = clock
        self.processor = processor
        self.pools = pools
        self.notifier = notifier
        self.owner = process_owner()
        self._wake = asyncio.Event()
        self._slots: asyncio.Semaphore | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._sub: Subscription | None = None
        self._board: dict[str, dict[str, int]] = {}
        self._board_day = 0.0
        self._board_refresh: asyncio.Task[None] | None = None
        self._again: set[str] = set()  # calls recorded again while their work ran
        self._stopping = False

    @property
    def enabled(self) -> bool:
        return self.config().callcenter.stt.enabled

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._slots = asyncio.Semaphore(self.config().callcenter.stt.workers)
        await self._resume()
        if self.enabled:
            await self._catch_up()
        self._sub = self.bus.subscribe(lambda e: e.topic == CONSUMES)
        self._tasks = [asyncio.create_task(self._listen(), name="speech-listen"),
                       asyncio.create_task(self._feed(), name="speech-feed")]
        await self.refresh_board()
        self._wake.set()

    async def stop(self) -> None:
        """Stop taking work; calls being decoded go back to the backlog (not charged)."""
        self._stopping = True
        running = list(self._running.items())
        for task in [*self._tasks, *(t for _, t in running)]:
            task.cancel()
        for task in [*self._tasks, *(t for _, t in running)]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._sub is not None:
            self.bus.unsubscribe(self._sub)
        for task_id, _ in running:
            job = await self.store.speech_job(task_id)
            if job is not None and job.status == "running" and job.owner == self.owner:
                await self.store.update_speech_job(task_id, status="queued", owner=None,
                                                   attempts=max(0, job.attempts - 1),
                                                   at=self.clock())
        if self._board_refresh is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._board_refresh
        await self.pools.close()

    def reloaded(self) -> None:
        """Configuration changed: ``enabled`` may have been turned on."""
        self._wake.set()

    async def _catch_up(self) -> None:
        """Recordings of the last day archived with no job (the engine died between the
        two, or fell behind the bus): queue them. Older ones, recorded while ``stt`` was
        off, are ``callcenter transcribe``'s to take."""
        since = self.clock() - CATCH_UP_SECONDS
        for task_id in await self.store.recorded_without_speech_job(since=since):
            await self.enqueue(task_id)

    async def _resume(self) -> None:
        """Jobs a dead process left running go back to the backlog."""
        for job in await self.store.list_speech_jobs(["running"]):
            if job.owner != self.owner and not owner_alive(job.owner):
                await self.store.update_speech_job(job.interaction_id, status="queued",
                                                   owner=None, at=self.clock())
                log.info("speech.job_resumed", extra={"task": job.interaction_id,
                                                      "attempts": job.attempts})

    # ------------------------------------------------------------------ the backlog

    async def enqueue(self, task_id: str, *, again: bool = False) -> SpeechJob | None:
        """Queue a call for transcription (once; ``again``: re-run a finished one)."""
        interaction = await self.store.get_interaction(task_id)
        if interaction is None:
            log.warning("speech.unknown_task", extra={"task": task_id})
            return None
        job = await self.store.enqueue_speech_job(
            task_id, language=(interaction.attributes or {}).get("language"),
            queue=interaction.queue, at=self.clock(), again=again)
        self._wake.set()
        self._schedule_board_refresh()
        return job

    async def recorded(self, task_id: str) -> None:
        """A recording of the call was archived: queue the call, or, if its work already
        started before this recording was archived (a transfer records a second set),
        run it again with every part once that work is over."""
        job = await self.store.speech_job(task_id)
        if job is None or job.status == "queued":
            await self.enqueue(task_id)
        elif job.status == "running":
            self._again.add(task_id)
        elif any(r.status == "complete" and (r.ended_at or 0.0) >= (job.started_at or 0.0)
                 for r in await self.store.list_recordings(task_id)):
            await self.enqueue(task_id, again=True)

    async def _listen(self) -> None:
        while True:
            assert self._sub is not None
            event = await self._sub.get()
            if event is None:  # cut off for falling behind: catch up from the store
                log.warning("speech.resubscribed")
                self._sub = self.bus.subscribe(lambda e: e.topic == CONSUMES)
                if self.enabled:
                    await self._catch_up()
                continue
            if self.enabled:
                try:
                    await self.recorded(str(event.data.get("task_id")))
                except Exception:
                    log.exception("speech.enqueue_failed")

    async def _feed(self) -> None:
        assert self._slots is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.enabled:
                await self._slots.acquire()
                try:
                    job = await self.store.claim_speech_job(self.owner, at=self.clock())
                except Exception:
                    self._slots.release()
                    raise
                if job is None:
                    self._slots.release()
                    break
                self._running[job.interaction_id] = asyncio.create_task(
                    self._run(job), name=f"speech-{job.interaction_id}")

    async def _run(self, job: SpeechJob) -> None:
        assert self._slots is not None
        try:
            limit = self.config().callcenter.stt.retries + 1
            if job.attempts > limit:
                outcome_status, text = "failed", unavailable_text()
                await self.store.update_speech_job(
                    job.interaction_id, status="failed", owner=None, at=self.clock(),
                    finished_at=self.clock(), error=f"the work on this call was interrupted "
                    f"{job.attempts - 1} times (the engine stopped while decoding it)")
            else:
                outcome = await self.processor.process(job)
                outcome_status = outcome.status
                text = outcome.agent_text or unavailable_text()
            interaction = await self.store.get_interaction(job.interaction_id)
            self.notifier.summary(job.interaction_id,
                                  interaction.agent_id if interaction else None, text,
                                  outcome_status)
            if job.interaction_id in self._again:
                self._again.discard(job.interaction_id)
                await self.store.enqueue_speech_job(job.interaction_id, at=self.clock(),
                                                    again=True)
                self._wake.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("speech.job_crashed", extra={"task": job.interaction_id})
            await self.store.update_speech_job(
                job.interaction_id, status="failed", owner=None, at=self.clock(),
                error=f"{type(exc).__name__}: {exc}", finished_at=self.clock())
        finally:
            self._running.pop(job.interaction_id, None)
            self._slots.release()
            self._schedule_board_refresh()

    async def idle(self) -> None:
        """Wait until no job is queued or running here (tests, the CLI's shutdown)."""
        while True:
            jobs = await self.store.list_speech_jobs(["queued", "running"], limit=1)
            if not self._running and not (jobs and self.enabled):
                return
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------------ the wallboard

    def wallboard_figures(self) -> dict[str, dict[str, int]]:
        """Per queue: calls waiting for transcription (``backlog``: queued + running),
        those that failed today, and today's calls with a flag not dismissed. Cached:
        the wallboard asks for it with every snapshot."""
        if self._day_start(self.clock()) != self._board_day:
            self._schedule_board_refresh()
        return self._board

    def _schedule_board_refresh(self) -> None:
        if self._stopping:
            return
        if self._board_refresh is None or self._board_refresh.done():
            self._board_refresh = asyncio.get_running_loop().create_task(self.refresh_board())

    async def refresh_board(self) -> None:
        day = self._day_start(self.clock())
        backlog = await self.store.speech_backlog(failed_since=day)
        flagged = await self.store.flagged_calls(since=day)
        queues = {}
        for queue in self.config().queues:
            counts = backlog.get(queue, {})
            queues[queue] = {"backlog": counts.get("queued", 0) + counts.get("running", 0),
                             "failed": counts.get("failed", 0),
                             "flagged": flagged.get(queue, 0)}
        self._board, self._board_day = queues, day

    def _day_start(self, now: float) -> float:
        zone = ZoneInfo(self.config().callcenter.timezone)
        day = datetime.fromtimestamp(now, zone).date()
        return datetime.combine(day, datetime.min.time(), zone).timestamp()

    # ------------------------------------------------------------------ reading

    async def _readable(self, principal: Principal, task_id: str) -> Interaction:
        interaction = await self.store.get_interaction(task_id)
        if interaction is None:
            raise LookupError("no such interaction")
        if not access.may_read(principal, interaction, self.config()):
            raise Forbidden("that call is not yours to read" if principal.role == "agent"
                            else "that call is not in a team you supervise")
        return interaction

    async def _state(self, task_id: str) -> tuple[SpeechJob | None, SpeechResult | None]:
        return await self.store.speech_job(task_id), await self.store.speech_result(task_id)

    @staticmethod
    def _status(job: SpeechJob | None) -> str:
        return job.status if job is not None else "none"

    async def transcript(self, principal: Principal, task_id: str) -> dict[str, Any]:
        await self._readable(principal, task_id)
        job, result = await self._state(task_id)
        masked = not access.sees_numbers(principal)
        out: dict[str, Any] = {"task_id": task_id, "status": self._status(job),
                               "error": job.error if job else None, "masked": masked}
        if result is None:
            return out
        transcript = Transcript.from_dict(result.transcript)
        if masked:
            transcript = mask_transcript(transcript)
        out.update(language=result.language, duration=result.duration, lines=[
            {"index": i, **u.to_dict()} for i, u in enumerate(transcript.utterances)])
        return out

    async def recording(self, principal: Principal, task_id: str,
                        part: int = 1) -> Path:
        """The call's recording (its ``part``-th mixed file: a transferred call has one per
        agent) for whoever may read the call; every play is logged, with who asked."""
        await self._readable(principal, task_id)
        mixed = [r for r in await self.store.list_recordings(task_id)
                 if r.leg == "mixed" and r.status == "complete"]
        if not 1 <= part <= len(mixed) or not Path(mixed[part - 1].path).is_file():
            raise LookupError("no recording of this call")
        chosen = mixed[part - 1]
        log.info("recordings.played", extra={"user": principal.username,
                                             "role": principal.role, "task": task_id,
                                             "recording": chosen.id})
        return Path(chosen.path)

    async def summary(self, principal: Principal, task_id: str) -> dict[str, Any]:
        await self._readable(principal, task_id)
        job, result = await self._state(task_id)
        masked = not access.sees_numbers(principal)
        out: dict[str, Any] = {"task_id": task_id, "status": self._status(job),
                               "masked": masked}
        latest = await self.store.latest_summary(task_id)
        out["text"] = latest.text if latest else None
        if result is None:
            return out
        summary = Summary.from_dict(result.summary)
        if masked:
            summary = mask_summary(summary)
        data = summary.to_dict()
        data.pop("masked", None)
        out.update(data)
        return out

    async def inspection(self, principal: Principal, task_id: str) -> dict[str, Any]:
        interaction = await self._readable(principal, task_id)
        job, result = await self._state(task_id)
        out: dict[str, Any] = {"task_id": task_id, "status": self._status(job),
                               "queue": interaction.queue, "agent_id": interaction.agent_id}
        if result is None or result.inspection is None:
            return out
        data = result.inspection
        flags = await self.store.list_speech_flags(interaction_id=task_id)
        out.update(score=data.get("score"), passed=data.get("passed"),
                   pass_score=data.get("pass_score"), rules=data.get("queue_rules"),
                   metrics=data.get("metrics", {}),
                   flags=[self._flag(f, principal) for f in sorted(flags, key=lambda f: f.id)])
        return out

    def _flag(self, flag: SpeechFlag, principal: Principal) -> dict[str, Any]:
        masked = not access.sees_numbers(principal)
        lines = [{**u, "text": mask_text(u["text"]) if masked else u["text"]}
                 for u in flag.utterances]
        return {"id": flag.id, "task_id": flag.interaction_id, "queue": flag.queue,
                "agent_id": flag.agent_id, "rule": flag.rule, "code": flag.code,
                "message": mask_text(flag.message) if masked else flag.message,
                "deduction": flag.deduction, "start": flag.start, "end": flag.end,
                "lines": lines, "status": flag.status, "reviewed_by": flag.reviewed_by,
                "reviewed_at": flag.reviewed_at, "review_note": flag.review_note,
                "created_at": flag.created_at}

    async def search(self, principal: Principal, query: str, *, queue: str | None = None,
                     since: float | None = None, until: float | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
        """Calls whose transcript or summary reason contains ``query`` (spacing, case and
        punctuation ignored), newest first, among the calls the reader may read."""
        needle = search_form(query)
        if len(needle) < 2:
            raise FieldError("q", "search for at least two letters or characters")
        refused = access.refuse_number_search(principal, needle)
        if refused:
            raise FieldError("q", refused)
        queues, agents = access.readable_filter(principal, self.config())
        if queue is not None:
            queues = [queue] if queues is None or queue in queues else []
        results = await self.store.search_speech(needle, since=since, until=until,
                                                 queues=queues, agent_ids=agents, limit=limit)
        # Finding each call's line is text work over whole transcripts: off the event loop.
        return await asyncio.to_thread(_hits, results, needle,
                                       not access.sees_numbers(principal))

    # ------------------------------------------------------------------ supervision

    def _supervised_agents(self, principal: Principal) -> list[str] | None:
        if principal.role == "admin":
            return None
        config = self.config()
        return [a.id for a in config.agents if may_supervise(principal, a.id, config)]

    async def flags(self, principal: Principal, *, statuses: list[str] | None,
                    since: float | None, queue: str | None,
                    limit: int = 200) -> list[dict[str, Any]]:
        """Flags on calls of the agents this supervisor's teams hold (admins: all)."""
        flags = await self.store.list_speech_flags(
            statuses=statuses, since=since, queue=queue,
            agent_ids=self._supervised_agents(principal), limit=limit)
        return [self._flag(f, principal) for f in flags]

    async def review(self, principal: Principal, flag_id: int, verdict: str,
                     note: str | None) -> dict[str, Any]:
        flag = await self.store.speech_flag(flag_id)
        if flag is None:
            raise LookupError("no such flag")
        agents = self._supervised_agents(principal)
        if agents is not None and flag.agent_id not in agents:
            raise Forbidden("that flag is on a call of an agent outside your teams")
        if flag.status != "open":
            raise ReviewConflict(f"already {flag.status} by {flag.reviewed_by}")
        status = "confirmed" if verdict == "confirm" else "dismissed"
        reviewed = await self.store.review_speech_flag(flag_id, status, by=principal.username,
                                                       note=note, at=self.clock())
        assert reviewed is not None
        if reviewed.reviewed_by != principal.username or reviewed.status != status:
            raise ReviewConflict(f"already {reviewed.status} by {reviewed.reviewed_by}")
        log.info("speech.flag_reviewed", extra={"flag": flag_id, "status": status,
                                                "by": principal.username})
        self._schedule_board_refresh()
        return self._flag(reviewed, principal)

    async def jobs(self, principal: Principal, *, statuses: list[str] | None,
                   since: float | None, limit: int = 200) -> list[dict[str, Any]]:
        """The backlog and its failures, for queues this reader watches."""
        visible = set(visible_queue_ids(principal, self.config()))
        jobs = await self.store.list_speech_jobs(statuses, since=since, limit=limit * 4)
        return [{"task_id": j.interaction_id, "status": j.status, "queue": j.queue,
                 "language": j.language, "attempts": j.attempts, "error": j.error,
                 "created_at": j.created_at, "finished_at": j.finished_at}
                for j in jobs if principal.is_admin or j.queue in visible][:limit]


def _hits(results: list[SpeechResult], needle: str, masked: bool) -> list[dict[str, Any]]:
    """Search results with the first line that says it (masked for a masked reader)."""
    out = []
    for result in results:
        line = next((u for u in result.transcript.get("utterances", ())
                     if needle in search_form(u["text"])), None)
        snippet = line["text"] if line else None
        if snippet is None and result.summary.get("reason"):
            snippet = result.summary["reason"]["text"]
        out.append({"task_id": result.interaction_id, "queue": result.queue,
                    "agent_id": result.agent_id, "at": result.created_at,
                    "score": result.inspection.get("score") if result.inspection else None,
                    "snippet": mask_text(snippet) if masked and snippet else snippet,
                    "speaker": line["speaker"] if line else None,
                    "start": line["start"] if line else None})
    return out
