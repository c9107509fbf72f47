"""One call, from its archived recordings to stored speech: the unit of the backlog.

``CallProcessor.process(job)`` finds the call's leg recordings, decodes them in the
worker pool (the event loop only awaits), merges them into one transcript,
summarises it with the queue's topics, inspects it with the queue's rules, and
stores everything with the job's final status in one transaction: a crash leaves
either the old state (the job runs again) or the whole result, never half.

Both the engine (``SpeechService``) and ``callcenter transcribe`` use it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.config.models import Config, QueueRules, SttConfig
from callcenter.storage import Interaction, Recording, Store
from callcenter.storage.speech import SpeechJob
from recordings.call import CallTranscription, transcribe_call
from recordings.digest import summary_text
from recordings.masking import mask_for_log, mask_summary
from recordings.quality import Inspection, inspect
from recordings.recognizer import ModelConfig
from recordings.summary import Summary, summarize
from recordings.text import normalize_spoken_digits
from recordings.transcript import AGENT, CALLER, Transcript, join_transcripts
from recordings.workers import DecodePool

log = logging.getLogger(__name__)

__all__ = ["ENGINE", "CallProcessor", "Outcome", "PoolKeeper", "search_form"]

Part = tuple[float, Mapping[str, Recording]]
"""One recording set of a call: its offset in the call (seconds) and its legs."""

ENGINE = "speech"
"""Prefix of ``transcripts.engine`` for lines this feature wrote (``speech:vosk``)."""
MIXED = "mixed"


class NotTranscribable(Exception):
    """The call cannot be transcribed now; the message says why (stored as the error)."""


@dataclass(frozen=True)
class Outcome:
    """How a job ended. ``agent_text`` is the masked summary paragraph (None if failed)."""

    status: str  # done | partial | failed
    error: str | None = None
    agent_text: str | None = None
    language: str | None = None
    score: float | None = None
    flags: int = 0
    audio_seconds: float | None = None
    decode_seconds: float | None = None


class PoolKeeper:
    """The decode pool, started on first use with ``stt``'s sizes (a change to them
    takes effect at the next start), so an engine with nothing to decode spawns
    no worker processes."""

    def __init__(self, stt: Callable[[], SttConfig], *, start_method: str = "spawn") -> None:
        self._stt = stt
        self._start_method = start_method
        self._pool: DecodePool | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> DecodePool:
        async with self._lock:
            if self._pool is None:
                stt = self._stt()
                pool = DecodePool(stt.workers, queue_size=stt.queue_size,
                                  max_attempts=stt.retries + 1, retry_delay=0.5,
                                  job_timeout=stt.job_timeout_seconds,
                                  start_method=self._start_method)
                try:
                    await pool.start()
                except BaseException:
                    await pool.close(cancel_pending=True, timeout=5)
                    raise
                self._pool = pool
                log.info("speech.pool_started", extra={"workers": stt.workers})
            return self._pool

    @property
    def started(self) -> bool:
        return self._pool is not None

    async def close(self) -> None:
        async with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close(cancel_pending=True, timeout=10)


def search_form(text: str) -> str:
    """What search compares: spoken digits as digits, case and width folded, letters and
    digits only (so "您好 欢迎" and "您好，欢迎" match "您好欢迎")."""
    folded = unicodedata.normalize("NFKC", normalize_spoken_digits(text)).lower()
    return "".join(ch for ch in folded if ch.isalnum())


def model_for(stt: SttConfig, language: str) -> ModelConfig:
    """The configured model of ``language`` (``zh-TW`` falls back to ``zh``)."""
    path = stt.models.get(language) or stt.models.get(language.split("-")[0])
    if path is None:
        raise NotTranscribable(f"no speech model for language {language!r}: set "
                               f"stt.models.{language} in callcenter.yaml, then run "
                               "`callcenter transcribe`")
    if not Path(path).is_dir():
        raise NotTranscribable(f"the speech model folder for {language!r} is missing "
                               f"({path}); then run `callcenter transcribe`")
    return ModelConfig(language, str(path), stt.backend)


class CallProcessor:
    def __init__(self, *, store: Store, config: Callable[[], Config], pools: PoolKeeper,
                 clock: Callable[[], float]) -> None:
        self.store = store
        self.config = config
        self.pools = pools
        self.clock = clock

    async def process(self, job: SpeechJob) -> Outcome:
        """Do the job and store its outcome (results and the job's status, atomically)."""
        try:
            outcome = await self._process(job)
        except NotTranscribable as exc:
            outcome = Outcome("failed", str(exc), language=job.language)
            await self._finish(job.interaction_id, outcome)
        log.info("speech.job_done", extra={
            "task": job.interaction_id, "status": outcome.status, "language": outcome.language,
            "flags": outcome.flags, "audio_s": outcome.audio_seconds,
            "decode_s": outcome.decode_seconds,
            "error": mask_for_log(outcome.error) if outcome.error else None})
        return outcome

    async def _process(self, job: SpeechJob) -> Outcome:
        interaction = await self.store.get_interaction(job.interaction_id)
        if interaction is None:
            raise NotTranscribable("no such interaction")
        config = self.config()
        parts = _parts(await self.store.list_recordings(interaction.id))
        if not parts:
            raise NotTranscribable("no archived recording of this call")
        language = (job.language or (interaction.attributes or {}).get("language")
                    or config.ivr.language_default)
        model = model_for(config.callcenter.stt, language)
        try:
            pool = await self.pools.get()
        except Exception as exc:
            raise NotTranscribable(f"the speech decoder could not start: {exc}") from None
        started = self.clock()
        calls = await asyncio.gather(*(
            transcribe_call(pool, {s: r.path for s, r in legs.items()}, model,
                            call_id=f"{interaction.id}-{i}") for i, (_, legs) in enumerate(parts)))
        failures = "; ".join(filter(None, (_failures(c, i if len(calls) > 1 else None)
                                           for i, c in enumerate(calls))))
        if not any(r.ok for c in calls for r in c.results.values()):
            raise NotTranscribable(failures)
        transcript = join_transcripts([(offset, c.transcript)
                                       for (offset, _), c in zip(parts, calls, strict=True)])
        return await self.analyse(
            interaction, transcript, language=language, engine=f"{ENGINE}:{model.backend}",
            parts=parts, failures=failures or None,
            audio_seconds=transcript.duration, decode_seconds=round(self.clock() - started, 3))

    async def analyse(self, interaction: Interaction, transcript: Transcript, *, language: str,
                      engine: str, parts: Sequence[Part] | None = None,
                      failures: str | None = None, audio_seconds: float | None = None,
                      decode_seconds: float | None = None) -> Outcome:
        """Summarise and inspect a call's transcript and store it all, finishing its job.

        ``parts``: the recordings the lines came from, each set with its offset in the
        call (None: a written transcript). A call is inspected only with both legs heard
        apart (talk share, overtalk and silence need them): not when a leg failed
        (``failures``) or only a mixed file exists.
        """
        config = self.config()
        rules = config.quality.rules_for(interaction.queue)
        split = parts is None or all(set(legs) == {CALLER, AGENT} for _, legs in parts)
        holds = _holds(interaction, parts or []) if split and failures is None else None
        # Text work grows with the call (a fifth of a second for an hour's talk): a thread,
        # so the event loop keeps serving calls meanwhile.
        analysis = await asyncio.to_thread(_analysis, transcript, rules,
                                           _call_date(interaction, config), holds)
        summary, inspection, agent_text, search_text = analysis
        outcome = Outcome("done" if failures is None else "partial", failures, agent_text,
                          language, inspection.score if inspection else None,
                          len(inspection.flags) if inspection else 0, audio_seconds,
                          decode_seconds)
        await self._store(interaction, parts or [], engine, transcript, summary, inspection,
                          rules, outcome, search_text)
        return outcome

    async def _store(self, interaction: Interaction, parts: Sequence[Part], engine: str,
                     transcript: Transcript, summary: Summary, inspection: Inspection | None,
                     rules: QueueRules, outcome: Outcome, search_text: str) -> None:
        iid = interaction.id
        now = self.clock()
        segments = []
        for u in transcript.utterances:
            source = _source(parts, u.speaker, u.start)
            segments.append({"text": u.text, "start": u.start, "end": u.end,
                             "speaker": u.speaker, "leg": source.leg if source else u.speaker,
                             "recording_id": source.id if source else None,
                             "confidence": _confidence(u.words)})
        async with self.store.transaction():
            await self.store.clear_speech_output(iid, engine_prefix=ENGINE)
            if segments:
                await self.store.add_transcript_segments(segments, interaction_id=iid,
                                                         engine=engine, created_at=now)
            await self.store.add_summary(iid, outcome.agent_text or "", engine=engine,
                                         created_at=now)
            data = inspection.to_dict() if inspection else None
            if data is not None:
                data.pop("flags")
                data["queue_rules"] = interaction.queue if interaction.queue in \
                    self.config().quality.queues else "default"
                data["pass_score"] = rules.pass_score
            await self.store.save_speech_result(
                iid, queue=interaction.queue, agent_id=interaction.agent_id,
                language=outcome.language, duration=transcript.duration,
                transcript=transcript.to_dict(), summary=summary.to_dict(), inspection=data,
                search_text=search_text, at=now)
            if inspection is not None:
                await self.store.add_speech_flags(
                    iid, [_flag_row(f) for f in inspection.flags], queue=interaction.queue,
                    agent_id=interaction.agent_id, at=now)
            await self._finish(iid, outcome)

    async def _finish(self, interaction_id: str, outcome: Outcome) -> None:
        now = self.clock()
        await self.store.update_speech_job(
            interaction_id, status=outcome.status, error=outcome.error,
            language=outcome.language, audio_seconds=outcome.audio_seconds,
            decode_seconds=outcome.decode_seconds, finished_at=now, owner=None, at=now)


def _analysis(transcript: Transcript, rules: QueueRules, day: dt.date | None,
              holds: list[tuple[float, float]] | None,
              ) -> tuple[Summary, Inspection | None, str, str]:
    """Summary, inspection (``holds`` None: not inspected), the agent's masked paragraph
    and the search text: pure work on the transcript."""
    summary = summarize(transcript, rules.topics, reference_date=day)
    inspection = inspect(transcript, rules, holds) if holds is not None else None
    texts = [u.text for u in transcript.utterances]
    if summary.reason is not None:
        texts.append(summary.reason.text)
    return (summary, inspection, summary_text(mask_summary(summary)),
            "\n".join(search_form(t) for t in texts))


def _parts(recordings: list[Recording]) -> list[Part]:
    """The call's recording sets (one per connection to an agent: a transfer starts
    another), each with its offset from the first: caller/agent legs if they were
    recorded apart, else the mixed file."""
    sets: dict[float | None, dict[str, Recording]] = {}
    for r in recordings:
        if r.status == "complete":
            sets.setdefault(r.started_at, {})[r.leg] = r
    starts = [at for at in sets if at is not None]
    first = min(starts) if starts else 0.0
    out = []
    for at, done in sorted(sets.items(), key=lambda item: item[0] or 0.0):
        legs = {leg: done[leg] for leg in (CALLER, AGENT) if leg in done}
        if not legs and MIXED in done:
            legs = {MIXED: done[MIXED]}
        if legs:
            out.append((round((at or first) - first, 3), legs))
    return out


def _source(parts: Sequence[Part], speaker: str, start: float) -> Recording | None:
    """The recording a line came from: the speaker's leg of the last set begun by then."""
    found = None
    for offset, legs in parts:
        if offset <= start + 0.05 and speaker in legs:
            found = legs[speaker]
    return found


def _failures(call: CallTranscription, part: int | None = None) -> str:
    parts = []
    for speaker, result in call.results.items():
        if not result.ok:
            where = f"part {part + 1}, " if part is not None else ""
            parts.append(f"{where}{speaker} leg: {mask_for_log(result.error or 'failed')} "
                         f"({result.attempts} attempt{'s' if result.attempts != 1 else ''})")
    return "; ".join(parts)


def _confidence(words: list[Any]) -> float | None:
    return round(sum(w.conf for w in words) / len(words), 3) if words else None


def _call_date(interaction: Interaction, config: Config) -> dt.date | None:
    at = interaction.answered_at or interaction.arrived_at
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, ZoneInfo(config.callcenter.timezone)).date()


def _holds(interaction: Interaction, parts: Sequence[Part]) -> list[tuple[float, float]]:
    """Hold spans in recording time, from ``attributes["holds"]`` ([[start, end], ...] in
    epoch seconds) when the voice side records them; none otherwise."""
    started = min((r.started_at for _, legs in parts for r in legs.values()
                   if r.started_at is not None), default=None)
    holds = (interaction.attributes or {}).get("holds") or []
    if started is None:
        return []
    return [(float(s) - started, float(e) - started) for s, e in holds if e is not None]


def _flag_row(flag: Any) -> dict[str, Any]:
    return {"rule": flag.rule, "code": flag.code, "message": flag.message,
            "deduction": flag.deduction, "start": flag.start, "end": flag.end,
            "utterances": [{"index": u.index, "speaker": u.speaker, "start": u.start,
                            "end": u.end, "text": u.text} for u in flag.utterances],
            "details": dict(flag.details)}
