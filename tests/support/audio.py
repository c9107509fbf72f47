"""Measuring what a pyVoIP phone hears (how loud, how much of it is one tone), and what a
recording holds."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np

from callcenter.simulate.phone import Call, tone


def share_near(audio: bytes, frequency: float, width: float = 40.0) -> float:
    """How much of the sound's energy is within ``width`` Hz of ``frequency`` (0..1)."""
    samples = np.frombuffer(audio, dtype=np.uint8).astype(np.float64) - 128
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 8000)
    near = spectrum[(freqs > frequency - width) & (freqs < frequency + width)].sum()
    return float(near / max(spectrum[1:].sum(), 1e-9))


async def heard(listener: Call, speaker: Call, frequency: float,
                seconds: float = 1.2) -> bytes:
    """What ``listener`` hears while ``speaker`` plays a tone."""
    audio, _ = await asyncio.gather(asyncio.to_thread(listener.listen, seconds),
                                    asyncio.to_thread(speaker.play, tone(frequency, seconds)))
    return audio


async def heard_by(listeners: list[Call], speaker: Call, frequency: float,
                   seconds: float = 1.2) -> list[bytes]:
    """What each of ``listeners`` hears while ``speaker`` plays a tone once."""
    *audio, _ = await asyncio.gather(
        *(asyncio.to_thread(listener.listen, seconds) for listener in listeners),
        asyncio.to_thread(speaker.play, tone(frequency, seconds)))
    return audio


def dominant_frequency(path: Path) -> float:
    """The strongest frequency in the loudest second of a recording."""
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    samples = samples.astype(np.float64)
    second = max((samples[i:i + rate] for i in range(0, max(1, len(samples) - rate), rate // 4)),
                 key=lambda chunk: float(np.sum(chunk**2)))
    spectrum = np.abs(np.fft.rfft(second))
    return float(np.fft.rfftfreq(len(second), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])
