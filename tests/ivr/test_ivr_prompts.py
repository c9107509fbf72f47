"""Prompt texts become sound files Asterisk plays without transcoding, once per text."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from callcenter.config import load_config
from callcenter.simulate.phone import energy
from ivr import prompts

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_every_sample_prompt_renders_in_mandarin_and_english(tmp_path):
    config = load_config(REPO_CONFIG).config
    texts = list(prompts.prompts_in(config.ivr, config.queues))
    assert {t.language for t in texts} == {"zh", "en"}
    written = prompts.render(iter(texts), tmp_path)
    assert len(written) == len({t.stem for t in texts})
    for path in written:
        with wave.open(str(path)) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
            assert wav.getnframes() > 8000 * 0.5  # at least half a second of speech
    # Nothing is rendered twice.
    assert prompts.render(iter(texts), tmp_path) == []


def test_sound_name_prefers_the_admins_file_then_the_rendered_text():
    config = load_config(REPO_CONFIG).config
    welcome = config.ivr.nodes["welcome"].prompt
    name = prompts.sound_name(welcome, "en", "/srv/sounds")
    assert name.startswith("/srv/sounds/en-")
    assert prompts.sound_name(welcome, "zh", "/srv/sounds").startswith("/srv/sounds/zh-")


def test_rendered_speech_is_not_silence(tmp_path):
    (path,) = prompts.render(iter([prompts.PromptText("zh", "您好，欢迎致电")]), tmp_path)
    with wave.open(str(path)) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    as_unsigned8 = ((samples.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    assert energy(as_unsigned8) > 0.02
