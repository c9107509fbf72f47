"""Telephone audio in, recognizer-ready audio out.

Asterisk's MixMonitor writes 8 kHz 16-bit mono PCM WAV files; the speech models
expect 16 kHz. This module reads a WAV file into float32 samples, resamples with
a polyphase windowed-sinc filter (sample repetition would fold the telephone
band into audible images above 4 kHz that the model was never trained on),
trims leading/trailing silence, normalises the level and converts back to
16-bit PCM bytes.

Every :class:`Audio` carries ``offset``: the time, in the original file's time
base, of its first sample. Trimming moves it forward, so word timings from a
recognizer can be shifted back to the call's own clock.
"""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "Audio",
    "AudioFormatError",
    "normalize",
    "prepare",
    "read_wav",
    "resample",
    "speech_intervals",
    "to_pcm16",
    "trim_silence",
]

# WAVE format tags, for naming what we refuse.
_FORMAT_NAMES = {
    0x0001: "PCM",
    0x0003: "IEEE float",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0055: "MP3",
    0xFFFE: "extensible",
}
_PCM_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


class AudioFormatError(ValueError):
    """The file is not a WAV file we can read as linear PCM (or is corrupt)."""


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at ``rate`` Hz, starting at ``offset`` seconds."""

    samples: np.ndarray
    rate: int
    offset: float = 0.0

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    @property
    def end(self) -> float:
        """Time of the end of the last sample, in the original time base."""
        return self.offset + self.duration


# --------------------------------------------------------------------------- reading


def read_wav(path: str | Path) -> Audio:
    """Read a PCM WAV file (8/16/24/32-bit integer, any rate, channels averaged).

    Uses the stdlib ``wave`` module; files it rejects only because of a
    WAVE_FORMAT_EXTENSIBLE header with a PCM sub-format, or whose header claims
    no data (a recording whose header was never finalised), are read by a small
    RIFF chunk walker instead. Anything that is not linear PCM is refused with
    :class:`AudioFormatError` naming the format.
    """
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            channels = wav.getnchannels()
            width = wav.getsampwidth()
            rate = wav.getframerate()
            frames = wav.getnframes()
            data = wav.readframes(frames)
        if frames == 0 and path.stat().st_size > 44:
            # Header never finalised: fall back to the chunk walker, which reads to EOF.
            return _read_riff(path)
    except wave.Error as exc:
        message = str(exc)
        if message.startswith("unknown format"):
            return _read_riff(path)
        raise AudioFormatError(f"{path.name}: not a readable WAV file ({message})") from exc
    except EOFError as exc:
        raise AudioFormatError(f"{path.name}: truncated WAV header") from exc
    return Audio(_decode_pcm(data, width, channels, path.name), rate)


def _read_riff(path: Path) -> Audio:
    """Walk the RIFF chunks ourselves (extensible headers, unfinalised sizes)."""
    raw = path.read_bytes()
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise AudioFormatError(f"{path.name}: not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(raw):
        chunk_id = raw[pos:pos + 4]
        size = struct.unpack_from("<I", raw, pos + 4)[0]
        body = raw[pos + 8:pos + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise AudioFormatError(f"{path.name}: fmt chunk too short")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == 0xFFFE:
                if len(body) < 40 or body[26:40] != _PCM_GUID_TAIL or body[24:26] != b"\x01\x00":
                    raise AudioFormatError(f"{path.name}: extensible WAV with a non-PCM sub-format")
                tag = 1
            if tag != 1:
                name = _FORMAT_NAMES.get(tag, f"format tag {tag:#06x}")
                raise AudioFormatError(
                    f"{path.name}: {name} audio is not linear PCM; convert it first "
                    "(e.g. sox in.wav -e signed-integer -b 16 out.wav)")
            fmt = (channels, rate, bits, tag)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFormatError(f"{path.name}: data chunk before fmt chunk")
            channels, rate, bits, _ = fmt
            if size in (0, 0xFFFFFFFF) or pos + 8 + size > len(raw):
                body = raw[pos + 8:]  # size unknown or wrong: read to end of file
            width = (bits + 7) // 8
            usable = len(body) - len(body) % (width * channels)
            return Audio(_decode_pcm(body[:usable], width, channels, path.name), rate)
        pos += 8 + size + (size & 1)
    raise AudioFormatError(f"{path.name}: no data chunk")


def _decode_pcm(data: bytes, width: int, channels: int, name: str) -> np.ndarray:
    if channels < 1:
        raise AudioFormatError(f"{name}: {channels} channels")
    if width == 1:  # 8-bit WAV is unsigned
        samples = (np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = ints.astype(np.float32) / float(1 << 23)
    elif width == 4:
        samples = (np.frombuffer(data, dtype="<i4").astype(np.float64) / 2**31).astype(np.float32)
    else:
        raise AudioFormatError(f"{name}: {width * 8}-bit samples are not supported")
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels]
        samples = samples.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(samples, dtype=np.float32)


# --------------------------------------------------------------------------- resampling


@lru_cache(maxsize=16)
def _polyphase_bank(up: int, down: int, zero_crossings: int, beta: float,
                    rolloff: float) -> tuple[np.ndarray, int]:
    """Kaiser-windowed sinc low-pass split into ``up`` phases; returns (bank, delay).

    The cut-off sits at ``rolloff`` times the lower of the two Nyquist rates, so
    an up-sampler removes the spectral images and a down-sampler removes what
    would alias.
    """
    m = max(up, down)
    cutoff = rolloff / (2.0 * m)  # cycles per sample at the up-sampled rate
    half = zero_crossings * m
    n = np.arange(-half, half + 1, dtype=np.float64)
    taps = 2.0 * cutoff * np.sinc(2.0 * cutoff * n) * np.kaiser(len(n), beta) * up
    per_phase = math.ceil(len(taps) / up)
    padded = np.zeros(per_phase * up)
    padded[: len(taps)] = taps
    # bank[r, p] = taps[r + p*up]
    return padded.reshape(per_phase, up).T.copy(), half


def resample(audio: Audio, rate: int, *, zero_crossings: int = 32, beta: float = 8.6,
             rolloff: float = 0.94, block: int = 32768) -> Audio:
    """Resample by the exact rational factor ``rate / audio.rate`` (polyphase FIR).

    Works in blocks, so memory stays bounded for an hour-long call. The filter
    delay is compensated: sample times are preserved, ``offset`` is unchanged.
    """
    if rate == audio.rate or len(audio.samples) == 0:
        return audio if rate == audio.rate else replace(audio, rate=rate)
    g = math.gcd(rate, audio.rate)
    up, down = rate // g, audio.rate // g
    bank, delay = _polyphase_bank(up, down, zero_crossings, beta, rolloff)
    per_phase = bank.shape[1]
    x = audio.samples.astype(np.float64)
    n_out = -(-len(x) * up // down)
    if down == 1:
        return Audio(_upsample_integer(x, bank, delay, up, n_out), rate, audio.offset)
    pad_left = per_phase
    last_base = ((n_out - 1) * down + delay) // up
    pad_right = max(0, last_base - len(x) + 1)
    xp = np.concatenate([np.zeros(pad_left), x, np.zeros(pad_right)])
    p = np.arange(per_phase)
    out = np.empty(n_out, dtype=np.float32)
    for start in range(0, n_out, block):
        j = np.arange(start, min(n_out, start + block), dtype=np.int64)
        t = j * down + delay
        base = t // up + pad_left
        windows = xp[base[:, None] - p[None, :]]
        out[start:start + len(j)] = np.einsum("ij,ij->i", windows, bank[t % up])
    return Audio(out, rate, audio.offset)


def _upsample_integer(x: np.ndarray, bank: np.ndarray, delay: int, up: int,
                      n_out: int) -> np.ndarray:
    """Integer up-sampling (8 kHz -> 16 kHz): each output phase is one plain convolution."""
    out = np.empty(n_out, dtype=np.float32)
    for s in range(up):
        count = len(range(s, n_out, up))
        first = (s + delay) // up
        full = np.convolve(x, bank[(s + delay) % up])
        part = full[first:first + count]
        out[s::up] = np.pad(part, (0, count - len(part)))
    return out


# --------------------------------------------------------------------------- levels


def _frame_db(samples: np.ndarray, frame: int) -> np.ndarray:
    n = len(samples) // frame
    if n == 0:
        return np.zeros(0)
    frames = samples[: n * frame].reshape(n, frame).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return 20.0 * np.log10(np.maximum(rms, 1e-10))


def _voiced_frames(audio: Audio, frame_ms: float, floor_db: float, margin_db: float,
                   range_db: float) -> tuple[np.ndarray, int]:
    """Frames louder than the line's own noise floor (10th percentile) plus a margin.

    The threshold adapts to each leg: a quiet line and a noisy line both get
    their speech found. It never drops below ``floor_db`` (absolute dBFS) nor
    below ``range_db`` under the loudest frame.
    """
    frame = max(1, int(audio.rate * frame_ms / 1000))
    db = _frame_db(audio.samples, frame)
    if len(db) == 0:
        return np.zeros(0, dtype=bool), frame
    peak = float(db.max())
    noise = float(np.percentile(db, 10))
    threshold = max(floor_db, peak - range_db, min(noise + margin_db, peak - 6.0))
    return db > threshold, frame


def trim_silence(audio: Audio, *, frame_ms: float = 20.0, pad_ms: float = 150.0,
                 floor_db: float = -55.0, margin_db: float = 12.0,
                 range_db: float = 45.0) -> Audio:
    """Cut leading and trailing silence; ``offset`` advances by what was cut.

    An all-silent input becomes an empty :class:`Audio` (nothing to decode).
    """
    voiced, frame = _voiced_frames(audio, frame_ms, floor_db, margin_db, range_db)
    idx = np.flatnonzero(voiced)
    if len(idx) == 0:
        return Audio(np.zeros(0, dtype=np.float32), audio.rate, audio.offset)
    pad = int(audio.rate * pad_ms / 1000)
    start = max(0, int(idx[0]) * frame - pad)
    stop = min(len(audio.samples), (int(idx[-1]) + 1) * frame + pad)
    return Audio(audio.samples[start:stop], audio.rate, audio.offset + start / audio.rate)


def speech_intervals(audio: Audio, *, frame_ms: float = 20.0, min_speech: float = 0.1,
                     merge_gap: float = 0.3, floor_db: float = -55.0, margin_db: float = 12.0,
                     range_db: float = 45.0) -> list[tuple[float, float]]:
    """Energy-based voice activity, as (start, end) seconds in the original time base.

    Gaps shorter than ``merge_gap`` are bridged (pauses inside a sentence) and
    bursts shorter than ``min_speech`` dropped (clicks).
    """
    voiced, frame = _voiced_frames(audio, frame_ms, floor_db, margin_db, range_db)
    step = frame / audio.rate
    spans: list[tuple[float, float]] = []
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        start, end = audio.offset + float(s) * step, audio.offset + float(e) * step
        if spans and start - spans[-1][1] < merge_gap:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return [(round(s, 3), round(e, 3)) for s, e in spans if e - s >= min_speech]


def normalize(audio: Audio, *, peak_dbfs: float = -1.0, max_gain_db: float = 30.0) -> Audio:
    """Scale so the peak sits at ``peak_dbfs``; gain capped so line noise is not blown up."""
    if len(audio.samples) == 0:
        return audio
    peak = float(np.max(np.abs(audio.samples)))
    if peak <= 0.0:
        return audio
    gain = min(10 ** (peak_dbfs / 20) / peak, 10 ** (max_gain_db / 20))
    return replace(audio, samples=(audio.samples * gain).astype(np.float32))


def to_pcm16(audio: Audio) -> bytes:
    """Little-endian signed 16-bit PCM, clipped (what recognizers consume)."""
    scaled = np.clip(np.round(audio.samples * 32767.0), -32768, 32767)
    return scaled.astype("<i2").tobytes()


def prepare(audio: Audio, *, rate: int = 16000, trim: bool = True,
            normalise: bool = True) -> Audio:
    """The recognizer's view of a leg: trimmed, resampled to ``rate``, normalised."""
    if trim:
        audio = trim_silence(audio)
    audio = resample(audio, rate)
    if normalise:
        audio = normalize(audio)
    return audio
