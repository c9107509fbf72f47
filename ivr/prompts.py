"""Prompt text to sound files, so a fresh install speaks.

A prompt in ``ivr.yaml`` is text per language and/or a sound file name. Text
is rendered once with espeak-ng (Mandarin ``cmn``, English ``en-us``) and
converted by sox to what Asterisk plays without transcoding (8 kHz, mono,
16-bit WAV). The file name carries a hash of the text and voice, so editing
a prompt renders a new file and an unchanged one is never rendered again.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VOICES = {"zh": "cmn", "en": "en-us"}


@dataclass(frozen=True, slots=True)
class PromptText:
    language: str
    text: str
    name: str | None = None
    """A file name of its own (no extension), for a family of files the dialplan picks
    from by a suffix (``callcenter.voice.phrases``' counted phrases)."""

    @property
    def stem(self) -> str:
        if self.name is not None:
            return self.name
        digest = hashlib.sha1(f"{VOICES[self.language]}\0{self.text}".encode()).hexdigest()
        return f"{self.language}-{digest[:16]}"


def text_for(prompt: Any, language: str) -> PromptText | None:
    """The text to speak for ``language``, falling back to any language the prompt has."""
    for lang in (language, *VOICES):
        text = getattr(prompt, lang, None)
        if text:
            return PromptText(lang, text)
    return None


def sound_name(prompt: Any, language: str, prompts_dir: str) -> str:
    """What Asterisk plays: the admin's sound file, else the rendered text (no extension)."""
    if prompt.sound:
        return prompt.sound
    text = text_for(prompt, language)
    if text is None:
        raise ValueError("prompt has neither a sound nor a text")
    return f"{prompts_dir.rstrip('/')}/{text.stem}"


def prompts_in(ivr: Any, queues: dict[str, Any]) -> Iterator[PromptText]:
    """Every text the IVR and the queues' closed-hours messages may speak."""
    prompts = [getattr(node, "prompt", None) for node in ivr.nodes.values()]
    prompts += [q.business_hours.closed_action.prompt for q in queues.values()
                if q.business_hours is not None]
    for prompt in prompts:
        if prompt is None:
            continue
        for lang in VOICES:
            text = getattr(prompt, lang, None)
            if text:
                yield PromptText(lang, text)


def render(texts: Iterator[PromptText], out_dir: Path) -> list[Path]:
    """Render what is missing; returns the files written."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise RuntimeError("rendering prompts needs espeak-ng and sox (apt-get install espeak-ng "
                           "sox), or give every prompt a sound: file")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for text in texts:
        target = out_dir / f"{text.stem}.wav"
        if target.exists():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.wav"
            # The text on stdin, never in argv: a prompt starting with "-" is not an option.
            subprocess.run(["espeak-ng", "-v", VOICES[text.language], "-s", "150",
                            "-w", str(raw), "--stdin"], input=text.text.encode(), check=True,
                           capture_output=True)
            partial = Path(tmp) / "out.wav"
            subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(partial)],
                           check=True, capture_output=True)
            shutil.move(partial, target)
        written.append(target)
    return written
