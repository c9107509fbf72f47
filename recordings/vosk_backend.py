"""The vosk (Kaldi) implementation of :class:`recordings.recognizer.Recognizer`.

A ``vosk.Model`` takes seconds to load and hundreds of MB, so there is one per
model path per process, shared by every stream; each stream gets its own
``KaldiRecognizer``. Audio is fed in chunks, as a live stream would be, and the
words of every endpointed segment (``Result()``) plus the tail
(``FinalResult()``) are collected.

Reproducibility: Kaldi adds random "dither" noise to the audio before its
features, from one random generator per process, so decoding the same audio
twice can give different words (telephone audio, with nothing above 4 kHz
for a model whose filterbank reaches 7.6 kHz, is especially sensitive). The
option ``dither: 0`` loads the model through a symlinked copy whose
``conf/mfcc.conf`` says ``--dither=0``: the same audio then always gives the
same words, in any process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from recordings.recognizer import ModelConfig, Recognition, Word

log = logging.getLogger(__name__)

__all__ = ["VoskRecognizer", "is_marker", "model_with_dither"]


def is_marker(token: str) -> bool:
    """Non-words some models emit: ``[unk]``, noise classes like ``[5]``, lone punctuation."""
    token = token.strip()
    return (not token or (token.startswith("[") and token.endswith("]"))
            or not any(ch.isalnum() for ch in token))


def model_with_dither(path: str, dither: float, cache_dir: str | None = None) -> str:
    """A model folder identical to ``path`` but for ``--dither`` in ``conf/mfcc.conf``.

    Built once as symlinks (no copy of the hundreds of MB) under ``cache_dir``
    (default ``$XDG_CACHE_HOME/callcenter-vosk``, else ``~/.cache/...``).
    """
    source = Path(path).resolve()
    mfcc = source / "conf" / "mfcc.conf"
    if not mfcc.is_file():
        raise ValueError(f"{path}: no conf/mfcc.conf, cannot set dither")
    root = Path(cache_dir or os.environ.get("XDG_CACHE_HOME")
                or Path.home() / ".cache") / "callcenter-vosk"
    key = hashlib.sha256(f"{source}|{dither}|{mfcc.stat().st_mtime_ns}".encode()).hexdigest()
    target = root / f"{source.name}-dither{dither:g}-{key[:10]}"
    if (target / "conf" / "mfcc.conf").is_file():
        return str(target)
    building = root / f".{target.name}.{os.getpid()}.{threading.get_ident()}"
    (building / "conf").mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name != "conf":
            (building / entry.name).symlink_to(entry)
    for entry in (source / "conf").iterdir():
        if entry.name != "mfcc.conf":
            (building / "conf" / entry.name).symlink_to(entry)
    lines = [ln for ln in mfcc.read_text().splitlines() if not ln.strip().startswith("--dither")]
    (building / "conf" / "mfcc.conf").write_text("\n".join([*lines, f"--dither={dither:g}"]) + "\n")
    try:
        building.rename(target)
    except OSError:  # another process built it first
        shutil.rmtree(building, ignore_errors=True)
    return str(target)


class VoskRecognizer:
    """Vosk backend. Options (``ModelConfig.options``): ``chunk_seconds`` (0.2),
    ``keep_markers`` (False: drop ``[unk]``-style tokens), ``dither`` (unset: the
    model's own; 0: reproducible decoding, see the module docstring)."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _model(self, model: ModelConfig) -> Any:
        import vosk

        dither = model.options.get("dither")
        key = model.path if dither is None else f"{model.path}|dither={dither}"
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None:
                if not os.path.isdir(model.path):
                    raise FileNotFoundError(f"vosk model folder not found: {model.path}")
                folder = model.path
                if dither is not None:
                    folder = model_with_dither(model.path, float(dither),
                                               model.options.get("cache_dir"))
                vosk.SetLogLevel(-1)
                started = time.perf_counter()
                loaded = vosk.Model(folder)
                log.info("stt.model_loaded", extra={
                    "language": model.language, "model": os.path.basename(model.path),
                    "seconds": round(time.perf_counter() - started, 2)})
                self._models[key] = loaded
            return loaded

    def load(self, model: ModelConfig) -> None:
        self._model(model)

    def recognize(self, model: ModelConfig, pcm: bytes, sample_rate: int) -> Recognition:
        import vosk

        rec = vosk.KaldiRecognizer(self._model(model), float(sample_rate))
        rec.SetWords(True)
        chunk = max(2, int(sample_rate * float(model.options.get("chunk_seconds", 0.2)))) * 2
        keep = bool(model.options.get("keep_markers", False))
        words: list[Word] = []
        for pos in range(0, len(pcm), chunk):
            if rec.AcceptWaveform(pcm[pos:pos + chunk]):
                words.extend(_words(rec.Result(), keep))
        words.extend(_words(rec.FinalResult(), keep))
        return Recognition.from_words(words)


def _words(result_json: str, keep_markers: bool) -> list[Word]:
    result = json.loads(result_json)
    return [Word(str(w["word"]), round(float(w["start"]), 3), round(float(w["end"]), 3),
                 round(float(w.get("conf", 1.0)), 4))
            for w in result.get("result", ())
            if keep_markers or not is_marker(str(w["word"]))]
