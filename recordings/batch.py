"""``callcenter transcribe``: run the speech work over stored recordings, outside the engine.

By default it takes the calls the engine could not finish: no job (recorded while
``stt`` was off), failed (no model then, a broken file), partial, or still queued (the
engine is not running). ``redo`` takes finished calls too (new models, new rules).
Calls a running engine is working on right now are left to it. The work is the
engine's own (``CallProcessor``), so results are stored exactly as the engine would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from callcenter.config import ConfigStore
from callcenter.storage import Store
from callcenter.storage.speech import SpeechJob
from recordings.processing import CallProcessor, Outcome, PoolKeeper
from recordings.services import owner_alive, process_owner

__all__ = ["BatchReport", "parse_since", "report_table", "transcribe_stored"]

PENDING = frozenset({None, "queued", "failed", "partial"})


@dataclass
class BatchReport:
    calls: int = 0
    skipped: int = 0  # a running engine has them in hand
    statuses: Counter[str] = field(default_factory=Counter)
    audio_seconds: Counter[str] = field(default_factory=Counter)
    decode_seconds: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)


def parse_since(text: str, now: float, timezone: str) -> float:
    """``7d`` / ``12h`` / ``30m`` ago, or an ISO date or time in the contact center's zone."""
    relative = re.fullmatch(r"(\d+(?:\.\d+)?)([dhm])", text.strip())
    if relative:
        return now - float(relative.group(1)) * {"d": 86400, "h": 3600, "m": 60}[
            relative.group(2)]
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since {text!r}: use 7d, 12h, 30m, 2026-11-30 or "
                         "2026-11-30T08:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    return when.timestamp()


def _wanted(job: SpeechJob | None, redo: bool) -> bool:
    if job is not None and job.status == "running":
        return not owner_alive(job.owner)
    return redo or (job.status if job else None) in PENDING


async def transcribe_stored(config_store: ConfigStore, *, since: float | None = None,
                            queue: str | None = None, redo: bool = False,
                            clock: Callable[[], float],
                            started: Callable[[int], None] = lambda _n: None,
                            progress: Callable[[str, Outcome], None] = lambda _t, _o: None,
                            ) -> BatchReport:
    """Transcribe the stored calls that need it; ``started(count)`` once they are known,
    ``progress(task_id, outcome)`` after each."""
    config = config_store.config
    report = BatchReport()
    store = await Store.open(config.callcenter.storage.path)
    pools = PoolKeeper(lambda: config_store.config.callcenter.stt)
    processor = CallProcessor(store=store, config=lambda: config_store.config, pools=pools,
                              clock=clock)
    owner = process_owner()
    try:
        calls = await store.recorded_calls(since=since, queue=queue)
        todo = [task for task, job in calls if _wanted(job, redo)]
        report.calls = len(todo)
        started(len(todo))
        slots = asyncio.Semaphore(config.callcenter.stt.workers)

        async def one(task_id: str) -> None:
            async with slots:
                interaction = await store.get_interaction(task_id)
                language = (interaction.attributes or {}).get("language") if interaction \
                    else None
                await store.enqueue_speech_job(task_id, language=language, at=clock(),
                                               queue=interaction.queue if interaction else None,
                                               again=True)
                job = await store.claim_speech_job(owner, at=clock(), interaction_id=task_id)
                if job is None:
                    report.skipped += 1
                    return
                outcome = await processor.process(job)
                report.statuses[outcome.status] += 1
                report.audio_seconds[outcome.status] += outcome.audio_seconds or 0.0
                report.decode_seconds[outcome.status] += outcome.decode_seconds or 0.0
                if outcome.error:
                    report.failures.append((task_id, outcome.error))
                progress(task_id, outcome)

        await asyncio.gather(*(one(t) for t in todo))
    finally:
        await pools.close()
        await store.close()
    return report


def report_table(report: BatchReport) -> str:
    """The final table: calls, audio and decoding time per outcome, then the failures."""
    rows = [("outcome", "calls", "audio min", "decode s")]
    for status in ("done", "partial", "failed"):
        if report.statuses[status]:
            rows.append((status, str(report.statuses[status]),
                         f"{report.audio_seconds[status] / 60:.1f}",
                         f"{report.decode_seconds[status]:.1f}"))
    if report.skipped:
        rows.append(("in the engine's hands", str(report.skipped), "", ""))
    rows.append(("total", str(report.calls), f"{sum(report.audio_seconds.values()) / 60:.1f}",
                 f"{sum(report.decode_seconds.values()):.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for task_id, error in report.failures[:20]:
        lines.append(f"{task_id}: {error}")
    if len(report.failures) > 20:
        lines.append(f"... and {len(report.failures) - 20} more (GET /api/speech/jobs)")
    return "\n".join(lines)
