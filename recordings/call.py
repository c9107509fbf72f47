"""One call's legs, decoded through the pool, as one transcript.

The glue the application would otherwise repeat: submit both legs at once,
keep each leg's voice activity for overtalk/silence, take the longest leg as
the call's duration, and say which legs failed and why instead of dropping
them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from recordings.pipeline import AudioOptions
from recordings.recognizer import ModelConfig
from recordings.transcript import Transcript, build_transcript
from recordings.workers import DecodeJob, DecodePool, DecodeResult

__all__ = ["CallTranscription", "transcribe_call"]


@dataclass(frozen=True)
class CallTranscription:
    """The transcript of the legs that decoded, and every leg's result.

    ``failed`` maps a speaker to the reason its leg could not be decoded; the
    transcript then holds the other leg only (``complete`` is False).
    """

    transcript: Transcript
    results: Mapping[str, DecodeResult]
    failed: Mapping[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.failed


async def transcribe_call(pool: DecodePool, legs: Mapping[str, str], model: ModelConfig, *,
                          options: AudioOptions | None = None, pause: float = 0.8,
                          call_id: str | None = None) -> CallTranscription:
    """Decode ``legs`` ({"caller": path, "agent": path}) with ``model`` into a transcript."""
    options = options or AudioOptions()
    speakers = list(legs)
    jobs = [DecodeJob(legs[s], model, speaker=s, options=options,
                      **({"job_id": f"{call_id}-{s}"} if call_id else {})) for s in speakers]
    results = dict(zip(speakers, await asyncio.gather(*(pool.submit(j) for j in jobs)),
                       strict=True))
    done = {s: r.decoding for s, r in results.items() if r.ok and r.decoding is not None}
    failed = {s: r.error or "failed" for s, r in results.items() if s not in done}
    transcript = build_transcript(
        {s: d.words for s, d in done.items()},
        activity={s: d.speech for s, d in done.items()},
        pause=pause,
        duration=max((d.audio_seconds for d in done.values()), default=None),
        language=model.language)
    return CallTranscription(transcript, results, failed)
