"""Real decoding of real (synthesised) Korean speech with the real Korean vosk model.

espeak-ng's Korean is robotic and the small Korean model mishears much of it,
more so through an 8 kHz telephone band; so "plausible" is checked on things
a broken pipeline gets wrong: words exist, sit where the speech is in the
*original* file's time, the amount of Korean heard matches what was said
(resampling at a wrong rate or sample repetition would change it), and the
same audio decodes to the same words whatever silence surrounds it.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from recordings.audio import resample, to_pcm16
from recordings.pipeline import decode_file
from recordings.recognizer import ModelConfig, Recognizer, get_recognizer
from recordings.vosk_backend import is_marker
from tests.support.recordings import KoreanSpeech

pytestmark = pytest.mark.timeout(240)


def syllables(text: str) -> int:
    return len(re.findall(r"[\uac00-\ud7a3]", text))


def test_telephone_audio_decodes_in_the_call_time_base(
        decoded_1s, korean_speech: KoreanSpeech) -> None:
    words = decoded_1s.words
    speech_len = korean_speech.telephone.duration
    assert len(words) >= 3, decoded_1s.text
    assert all(w.start < w.end for w in words)
    assert all(a.start <= b.start and a.end <= b.end for a, b in itertools.pairwise(words))
    assert not any(is_marker(w.text) for w in words)
    # Trimming removed ~1 s of silence; words are shifted back to the file's clock.
    assert decoded_1s.offset > 0.5
    assert words[0].start >= 0.8
    assert words[-1].end <= 1.0 + speech_len + 0.1
    assert decoded_1s.audio_seconds == pytest.approx(1.0 + speech_len + 0.6, abs=0.01)
    # Voice activity on the original audio sits where the speech is.
    (first_start, _), last_end = decoded_1s.speech[0], decoded_1s.speech[-1][1]
    assert 0.9 <= first_start <= 1.3 and speech_len - 0.2 <= last_end <= speech_len + 1.2
    assert all(0.0 <= w.conf <= 1.0 for w in words)
    assert decoded_1s.text == " ".join(w.text for w in words)


def test_decoded_amount_of_korean_matches_what_was_said(
        decoded_1s, korean_speech: KoreanSpeech, ko_model: ModelConfig,
        vosk_ko: Recognizer) -> None:
    said = syllables(korean_speech.text)
    heard = syllables(decoded_1s.text)
    assert 0.5 * said <= heard <= 1.6 * said, (said, decoded_1s.text)
    # The same speech decoded from the 16 kHz original (no telephone band, no pipeline).
    wideband = resample(korean_speech.original, 16000)
    reference = vosk_ko.recognize(ko_model, to_pcm16(wideband), 16000)
    ref_heard = syllables(reference.text)
    assert 0.5 * said <= ref_heard <= 1.6 * said, reference.text
    assert 0.6 <= heard / ref_heard <= 1.6, (decoded_1s.text, reference.text)


def test_same_audio_same_words_whatever_the_leading_silence(
        decoded_1s, korean_speech: KoreanSpeech, ko_model: ModelConfig,
        vosk_ko: Recognizer) -> None:
    later = decode_file(korean_speech.padded(2.5), ko_model, vosk_ko)
    assert [w.text for w in later.words] == [w.text for w in decoded_1s.words]
    pairs = zip(decoded_1s.words, later.words, strict=True)
    shifts = np.array([b.start - a.start for a, b in pairs])
    assert np.allclose(shifts, 1.5, atol=0.002)


def test_backend_registry_resolves_names_and_import_paths() -> None:
    assert get_recognizer("vosk") is get_recognizer("recordings.vosk_backend:VoskRecognizer")
    fake = get_recognizer("tests.support.fake_recognizer:FakeRecognizer")
    assert type(fake).__name__ == "FakeRecognizer"
    with pytest.raises(ValueError, match="unknown speech backend"):
        get_recognizer("sherpa")


def test_missing_model_folder_is_a_clear_error(tmp_path) -> None:
    model = ModelConfig("zh", str(tmp_path / "nope"), "vosk")
    with pytest.raises(FileNotFoundError, match="vosk model folder not found"):
        get_recognizer("vosk").load(model)
