"""A call's recording played in the page, beside its transcript (tier 2: the real consoles
in headless Chromium, a real WAV file, no Asterisk): for the agent who took the call and
the supervisor of their team, refused (403) to an agent of another call, and every play
logged with who asked. A transcript line clicked plays from that moment."""

from __future__ import annotations

import logging
import math
import struct
import wave

import pytest

from tests.support.speech import REFUND, console_page, written_call

pytestmark = pytest.mark.browser


def tone_wav(path, seconds: float = 20.0, rate: int = 8000) -> bytes:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i
                                                                         / rate)))
                                 for i in range(int(seconds * rate))))
    return path.read_bytes()


async def test_the_recording_plays_beside_the_transcript_for_those_allowed(
        web_stack, browser, screenshots, tmp_path, caplog) -> None:
    store = web_stack.deps.store
    refund = await written_call(web_stack, REFUND, agent_id="wangfang")
    audio = tone_wav(tmp_path / "refund.wav")
    await store.add_recording(refund, str(tmp_path / "refund.wav"), leg="mixed",
                              status="complete")
    caplog.set_level(logging.INFO, logger="recordings.services")

    agent = await console_page(browser, web_stack.origin, "/agent", "wangfang")
    search = agent.locator("#speech-search")
    await search.locator("input[name=q]").fill("退款")
    await search.locator("button[type=submit]").click()
    await search.locator(f"button[data-task-id='{refund}']").click()
    player = search.locator("audio.speech-audio")
    await player.wait_for()
    duration = await agent.wait_for_function(
        "() => { const a = document.querySelector('audio.speech-audio');"
        " return a && a.readyState >= 1 && a.duration; }")
    assert abs(await duration.json_value() - 20.0) < 0.1  # the file's own length, loaded
    second = search.locator(f"ol.speech-lines[data-task-id='{refund}'] li").nth(1)
    start = float(await second.get_attribute("data-start"))
    await second.click()
    at = await agent.evaluate("document.querySelector('audio.speech-audio').currentTime")
    assert abs(at - start) < 0.5, (at, start)
    await agent.screenshot(path=str(screenshots / "speech-recording-player.png"),
                           full_page=True, animations="disabled")
    assert not agent.errors, agent.errors

    path = f"/api/interactions/{refund}/recording"
    own = await web_stack.client("wangfang")
    async with own.get(path) as response:
        assert response.status == 200 and response.content_type == "audio/wav"
        assert await response.read() == audio
    async with own.get(path, headers={"Range": "bytes=100-199"}) as response:
        assert response.status == 206 and await response.read() == audio[100:200]
    supervisor = await web_stack.client("zhaolei")  # supervises wangfang's team
    async with supervisor.get(path) as response:
        assert response.status == 200
    other = await web_stack.client("zhangwei")  # not their call
    async with other.get(path) as response:
        assert response.status == 403
    async with own.get(path + "?part=2") as response:
        assert response.status == 404  # one recording only
    played = [r for r in caplog.records if r.getMessage() == "recordings.played"]
    assert {r.user for r in played} >= {"wangfang", "zhaolei"}
    assert "zhangwei" not in {r.user for r in played}
