"""A stand-in speech backend for the worker-pool tests (loaded by name in the workers).

``ModelConfig.options`` drive it: ``sleep`` (seconds per decode), ``pid_file``
(write the worker's pid there first; if it already exists, do not sleep: the
retry after a killed worker must finish), ``fail`` (raise with this message).
"""

from __future__ import annotations

import os
import time

from recordings.recognizer import ModelConfig, Recognition, Word


class FakeRecognizer:
    def __init__(self) -> None:
        self.loaded: list[str] = []

    def load(self, model: ModelConfig) -> None:
        self.loaded.append(model.language)

    def recognize(self, model: ModelConfig, pcm: bytes, sample_rate: int) -> Recognition:
        options = model.options
        if options.get("fail"):
            raise RuntimeError(options["fail"])
        pid_file = options.get("pid_file")
        sleep = float(options.get("sleep", 0))
        if pid_file:
            if os.path.exists(pid_file):
                sleep = 0
            else:
                with open(pid_file, "w") as fh:
                    fh.write(str(os.getpid()))
        time.sleep(sleep)
        seconds = len(pcm) / 2 / sample_rate
        return Recognition.from_words([Word("fake", 0.0, round(seconds, 3), 1.0)])
