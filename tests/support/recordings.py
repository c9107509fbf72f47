"""Helpers shared by the speech-wing tests: WAV writing, tones, synthetic speech."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recordings.audio import Audio

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
