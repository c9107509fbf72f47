"""Reading telephone WAV files, resampling, trimming, levels."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from recordings.audio import (
    Audio,
    AudioFormatError,
    normalize,
    prepare,
    read_wav,
    resample,
    speech_intervals,
    to_pcm16,
    trim_silence,
)
from tests.support.recordings import tone, write_wav


def spectrum(audio: Audio) -> tuple[np.ndarray, np.ndarray]:
    window = np.hanning(len(audio.samples))
    mags = np.abs(np.fft.rfft(audio.samples * window))
    return np.fft.rfftfreq(len(audio.samples), 1 / audio.rate), mags


def level_db(freqs: np.ndarray, mags: np.ndarray, at: float, width: float = 40) -> float:
    return 20 * np.log10(mags[np.abs(freqs - at) < width].max() / mags.max())


def test_reads_8khz_16bit_pcm(tmp_path: Path) -> None:
    samples = tone(440, 1.0, 8000, 0.25)
    audio = read_wav(write_wav(tmp_path / "a.wav", samples, 8000))
    assert audio.rate == 8000 and audio.offset == 0.0
    assert len(audio.samples) == 8000 and audio.samples.dtype == np.float32
    assert np.max(np.abs(audio.samples - samples)) < 1 / 32767 + 1e-6


def test_stereo_is_mixed_down_and_8bit_is_unsigned(tmp_path: Path) -> None:
    path = tmp_path / "stereo8.wav"
    left = np.full(800, 200, np.uint8)  # +72/128
    right = np.full(800, 56, np.uint8)  # -72/128
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(np.stack([left, right], axis=1).tobytes())
    audio = read_wav(path)
    assert len(audio.samples) == 800
    assert np.allclose(audio.samples, 0.0)


def _riff(fmt: bytes, data: bytes, data_size: int | None = None) -> bytes:
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack(
        "<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_extensible_pcm_header_and_unfinalised_size(tmp_path: Path) -> None:
    pcm = (tone(300, 0.5, 8000) * 32767).astype("<i2").tobytes()
    guid = b"\x01\x00" + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 8000, 16000, 2, 16, 22, 16, 4) + guid
    ext = tmp_path / "ext.wav"
    ext.write_bytes(_riff(fmt, pcm))
    assert len(read_wav(ext).samples) == 4000
    plain = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    zero = tmp_path / "zero.wav"  # a recording whose header was never finalised
    zero.write_bytes(_riff(plain, pcm, data_size=0))
    assert len(read_wav(zero).samples) == 4000


@pytest.mark.parametrize(("tag", "name"), [(6, "A-law"), (7, "mu-law"), (0x31, "GSM")])
def test_refuses_non_pcm_with_a_clear_error(tmp_path: Path, tag: int, name: str) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(_riff(struct.pack("<HHIIHH", tag, 1, 8000, 8000, 1, 8), b"\x00" * 800))
    with pytest.raises(AudioFormatError, match=name):
        read_wav(path)


def test_refuses_garbage(tmp_path: Path) -> None:
    path = tmp_path / "junk.wav"
    path.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioFormatError):
        read_wav(path)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3300.0])
def test_upsampling_keeps_the_tone_and_adds_no_image(freq: float) -> None:
    out = resample(Audio(tone(freq, 1.0, 8000), 8000), 16000)
    assert out.rate == 16000 and len(out.samples) == 16000
    freqs, mags = spectrum(out)
    assert abs(freqs[np.argmax(mags)] - freq) <= 1.0
    # Sample repetition would leave an image at 8000 - f only ~ -6..-20 dB down.
    assert level_db(freqs, mags, 8000 - freq) < -60
    # Amplitude and timing preserved: compare with the ideal 16 kHz tone mid-signal.
    ideal = tone(freq, 1.0, 16000)
    assert np.max(np.abs(out.samples[2000:-2000] - ideal[2000:-2000])) < 0.01


def test_downsampling_removes_what_would_alias() -> None:
    # 5 kHz cannot exist at 8 kHz; without a low-pass it would fold to 3 kHz.
    mixed = tone(1000, 1.0, 22050, 0.3) + tone(5000, 1.0, 22050, 0.3)
    out = resample(Audio(mixed, 22050), 8000)
    assert len(out.samples) == 8000
    freqs, mags = spectrum(out)
    assert abs(freqs[np.argmax(mags)] - 1000) <= 1.0
    assert level_db(freqs, mags, 3000) < -60


def test_trim_keeps_the_original_time_base() -> None:
    rate = 8000
    speech = tone(500, 1.0, rate, 0.4)
    samples = np.concatenate([np.zeros(2 * rate, np.float32), speech,
                              np.zeros(rate, np.float32)])
    trimmed = trim_silence(Audio(samples, rate, offset=0.0), pad_ms=100)
    assert trimmed.offset == pytest.approx(1.9, abs=0.021)
    assert trimmed.end == pytest.approx(3.1, abs=0.021)
    ready = prepare(Audio(samples, rate))
    assert ready.rate == 16000
    assert ready.offset == pytest.approx(trim_silence(Audio(samples, rate)).offset, abs=1e-9)
    assert ready.offset == pytest.approx(1.85, abs=0.021)  # default 150 ms pad
    assert trim_silence(Audio(np.zeros(rate, np.float32), rate)).duration == 0


def test_speech_intervals_find_bursts_in_line_noise() -> None:
    rate = 8000
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal(6 * rate) * 0.002).astype(np.float32)  # hiss
    samples[rate:2 * rate] += tone(400, 1.0, rate, 0.3)
    samples[int(3.5 * rate):int(4.0 * rate)] += tone(700, 0.5, rate, 0.3)
    spans = speech_intervals(Audio(samples, rate, offset=10.0))
    assert len(spans) == 2
    (s1, e1), (s2, e2) = spans
    assert s1 == pytest.approx(11.0, abs=0.03) and e1 == pytest.approx(12.0, abs=0.03)
    assert s2 == pytest.approx(13.5, abs=0.03) and e2 == pytest.approx(14.0, abs=0.03)


def test_normalize_and_pcm16() -> None:
    quiet = Audio(tone(440, 0.1, 8000, 0.05), 8000)
    loud = normalize(quiet, peak_dbfs=-1.0)
    assert float(np.abs(loud.samples).max()) == pytest.approx(10 ** (-1 / 20), rel=1e-3)
    capped = normalize(Audio(tone(440, 0.1, 8000, 1e-4), 8000), max_gain_db=20)
    assert float(np.abs(capped.samples).max()) == pytest.approx(1e-3, rel=1e-2)
    pcm = to_pcm16(Audio(np.array([0.0, 0.5, -1.0, 2.0], np.float32), 8000))
    assert np.frombuffer(pcm, "<i2").tolist() == [0, 16384, -32767, 32767]


def test_rational_ratio_resampling_is_accurate() -> None:
    # 22050 -> 16000 is 320/441: the general polyphase path (espeak-ng writes 22.05 kHz).
    out = resample(Audio(tone(1000, 1.0, 22050), 22050), 16000)
    assert len(out.samples) == 16000
    ideal = tone(1000, 1.0, 16000)
    assert np.max(np.abs(out.samples[1000:-1000] - ideal[1000:-1000])) < 0.01
    back = resample(out, 22050)
    assert np.max(np.abs(back.samples[2000:-2000] - tone(1000, 1.0, 22050)[2000:-2000])) < 0.01
