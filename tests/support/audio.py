"""Measuring what a pyVoIP phone hears: how loud, and how much of it is one tone."""

from __future__ import annotations

import asyncio

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
