"""Decode one recording leg: WAV file -> timed words in the call's own time base.

This is the unit of work a worker process runs (see :mod:`recordings.workers`);
it is also usable in-process (tests, tools). The steps: read the WAV, find
voice activity on the original audio, trim silence, resample to the model's
rate, normalise, decode, and shift the words by the trimmed offset.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recordings.recognizer import ModelConfig, Recognizer, Word, get_recognizer

__all__ = ["AudioOptions", "LegDecoding", "decode_file"]


@dataclass(frozen=True)
class AudioOptions:
    """How a leg is prepared before decoding."""

    trim: bool = True
    normalise: bool = True


@dataclass(frozen=True)
class LegDecoding:
    """One leg's result. Times are seconds from the start of the recording file.

    ``speech`` is energy-based voice activity on the original audio (used for
    overtalk and silence even where the recognizer found no word);
    ``audio_seconds`` is the length of the file, ``decoded_seconds`` what was
    fed to the recognizer after trimming, ``decode_seconds`` the wall time.
    """

    words: tuple[Word, ...]
    text: str
    speech: tuple[tuple[float, float], ...]
    audio_seconds: float
    decoded_seconds: float
    offset: float
    decode_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"words": [w.to_dict() for w in self.words], "text": self.text,
                "speech": [list(s) for s in self.speech], "audio_seconds": self.audio_seconds,
                "decoded_seconds": self.decoded_seconds, "offset": self.offset,
                "decode_seconds": self.decode_seconds}


def decode_file(path: str | Path, model: ModelConfig, recognizer: Recognizer | None = None,
                options: AudioOptions | None = None) -> LegDecoding:
    """Decode one WAV file. Raises :class:`recordings.audio.AudioFormatError` for
    files that are not PCM WAV, and whatever the backend raises."""
    # numpy is loaded here, where audio is decoded, not when the engine starts (a
    # restarted engine's first offer waits for its imports).
    from recordings.audio import prepare, read_wav, speech_intervals, to_pcm16

    options = options or AudioOptions()
    recognizer = recognizer or get_recognizer(model.backend)
    started = time.perf_counter()
    original = read_wav(path)
    speech = tuple(speech_intervals(original))
    ready = prepare(original, rate=model.sample_rate, trim=options.trim,
                    normalise=options.normalise)
    if len(ready.samples) == 0:
        words: tuple[Word, ...] = ()
        text = ""
    else:
        heard = recognizer.recognize(model, to_pcm16(ready), ready.rate).shifted(ready.offset)
        words, text = heard.words, heard.text
    return LegDecoding(words=words, text=text, speech=speech,
                       audio_seconds=round(original.duration, 3),
                       decoded_seconds=round(ready.duration, 3), offset=round(ready.offset, 3),
                       decode_seconds=round(time.perf_counter() - started, 3))
