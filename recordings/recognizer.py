"""The speech backend interface: 16 kHz PCM in, timed words out.

A backend is any object with ``load(model)`` and ``recognize(model, pcm,
sample_rate)``. Backends are named in :class:`ModelConfig.backend` either by a
short alias registered in :data:`BACKENDS` or by an import path
``"package.module:Class"``, so a second engine (sherpa-onnx with a Paraformer
model, say) is one new module plus one config value, and the worker processes
can build it from the name alone (names pickle; engines do not).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from recordings.text import join_words

__all__ = [
    "BACKENDS",
    "ModelConfig",
    "Recognition",
    "Recognizer",
    "Word",
    "get_recognizer",
    "models_from_config",
]

#: Short backend names -> "module:attribute" of a zero-argument factory (usually a class).
BACKENDS: dict[str, str] = {
    "vosk": "recordings.vosk_backend:VoskRecognizer",
}


@dataclass(frozen=True)
class Word:
    """One recognised word; times in seconds, ``conf`` in [0, 1]."""

    text: str
    start: float
    end: float
    conf: float = 1.0

    def shifted(self, seconds: float) -> Word:
        return replace(self, start=round(self.start + seconds, 3),
                       end=round(self.end + seconds, 3))

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "conf": self.conf}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Word:
        return cls(str(data["text"]), float(data["start"]), float(data["end"]),
                   float(data.get("conf", 1.0)))


@dataclass(frozen=True)
class Recognition:
    """What a backend heard in one stream: words in stream time and the joined text."""

    words: tuple[Word, ...]
    text: str

    @classmethod
    def from_words(cls, words: Iterable[Word]) -> Recognition:
        words = tuple(words)
        return cls(words, join_words(w.text for w in words))

    def shifted(self, seconds: float) -> Recognition:
        """The same words with times moved (e.g. by the silence trimmed before decoding)."""
        return Recognition(tuple(w.shifted(seconds) for w in self.words), self.text)


@dataclass(frozen=True)
class ModelConfig:
    """One language's model: where it is and which backend reads it.

    ``options`` are backend-specific (e.g. vosk ``chunk_seconds``); they are not
    part of the hash so a config can key a cache.
    """

    language: str
    path: str
    backend: str = "vosk"
    sample_rate: int = 16000
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.backend, self.language, self.path)


@runtime_checkable
class Recognizer(Protocol):
    """A speech-to-text engine. Implementations cache loaded models per process."""

    def load(self, model: ModelConfig) -> None:
        """Load (once) the model so the first call is not slow; idempotent."""
        ...

    def recognize(self, model: ModelConfig, pcm: bytes, sample_rate: int) -> Recognition:
        """Decode mono signed 16-bit little-endian PCM; word times relative to its start."""
        ...


_instances: dict[str, Recognizer] = {}
_instances_lock = threading.Lock()


def get_recognizer(backend: str) -> Recognizer:
    """The process-wide instance of a backend, built on first use from its name."""
    target = BACKENDS.get(backend, backend)
    with _instances_lock:
        found = _instances.get(target)  # an alias and its import path share one instance
        if found is None:
            module_name, sep, attr = target.partition(":")
            if not sep:
                raise ValueError(f"unknown speech backend {backend!r}: use one of "
                                 f"{sorted(BACKENDS)} or 'module:Class'")
            factory = getattr(importlib.import_module(module_name), attr)
            found = factory()
            if not isinstance(found, Recognizer):
                raise TypeError(f"{target} does not implement Recognizer")
            _instances[target] = found
        return found


def models_from_config(paths: Mapping[str, str], backend: str = "vosk",
                       options: Mapping[str, Any] | None = None) -> dict[str, ModelConfig]:
    """``stt.models`` ({"zh": "/models/vosk-model-small-cn-0.22", ...}) as ModelConfigs."""
    return {lang: ModelConfig(lang, str(path), backend, options=dict(options or {}))
            for lang, path in paths.items()}
