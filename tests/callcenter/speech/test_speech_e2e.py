"""End to end (tier 3): speech in a real call becomes a transcript and a summary that the
agent sees in wrap-up.

The real local Asterisk, pyVoIP phones, headless Chromium: a caller dials the 400
number and goes through the IVR (English) to sales; the agent's phone answers; the
caller says a Korean sentence (espeak-ng; the installed model is Korean, and the
engine's English model is pointed at it), then the agent answers with another; the
caller hangs up. The recording's split legs go through the worker pool: the
transcript is stored with the interaction, timed and labelled by leg (the caller's
words on the caller's leg, before the agent's), and the summary is pushed to the
agent's wrap-up form in the browser.
"""

from __future__ import annotations

import asyncio

import pytest

from callcenter.app import App, AsteriskSite
from callcenter.config import ConfigStore
from callcenter.simulate.phone import silence, to_unsigned8
from recordings.services import SpeechService
from tests.support import voice
from tests.support.speech import AGENT_SAYS, CALLER_SAYS, console_page, speak, stt_settings

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(240)]


async def test_speech_in_a_real_call_reaches_the_agents_wrapup(
        tmp_path, asterisk, phones, browser, screenshots, monkeypatch):
    for name in ("CALLCENTER_INITIAL_PASSWORD", "CALLCENTER_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # the sample's fallback passwords
    directory = voice.make_config(tmp_path, asterisk)
    voice.edit_yaml(directory / "callcenter.yaml",
                    lambda data: data.update(stt=stt_settings(language="en")))
    caller_voice = to_unsigned8(speak(CALLER_SAYS, tmp_path / "caller.wav"))
    agent_voice = to_unsigned8(speak(AGENT_SAYS, tmp_path / "agent.wav"))
    app = App(ConfigStore.open(directory), web=True, demo=True,  # the sample's passwords
              site=AsteriskSite(host_root=str(asterisk.root), files_dir=asterisk.instance_inside,
                                cli=asterisk.cli))
    await app.start()
    try:
        base = f"http://127.0.0.1:{app.web_port}"
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        agent_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
        page = await console_page(browser, base, "/agent", "zhangwei")
        await page.select_option("#device", "1001")
        await page.click("#signin")
        await page.wait_for_selector("#state-badge.st-not_ready")
        await page.click("#go-ready")
        await page.wait_for_selector("#state-badge.st-ready")
        summaries = app.bus.subscribe(lambda e: e.topic == "interaction.summary")

        caller = await phones("caller", "caller")
        call = await voice.dial_queue(caller, "sales")
        [task_id] = await voice.queued(app)
        await voice.wait_until(lambda: app.voice.calls[task_id].bridged
                               and agent_phone.incoming, timeout=20, what="the bridge")
        await asyncio.sleep(1.0)
        # The caller speaks, then the agent answers; then the caller hangs up.
        await asyncio.to_thread(call.play, caller_voice + silence(0.8))
        await asyncio.to_thread(agent_phone.incoming[-1].play, agent_voice + silence(0.8))
        await asyncio.to_thread(call.hangup)

        event = await asyncio.wait_for(summaries.get(), 120)
        assert event.data["task_id"] == task_id and event.data["status"] == "done", event.data
        assert event.agent_id == "zhangwei"
        store = app.store
        lines = await store.list_transcript(task_id)
        assert lines and all(line.text and line.start < line.end for line in lines)
        caller_lines = [line for line in lines if line.speaker == "caller"]
        agent_lines = [line for line in lines if line.speaker == "agent"]
        assert caller_lines and agent_lines, [(x.speaker, x.text) for x in lines]
        assert max(x.end for x in caller_lines) <= min(x.start for x in agent_lines) + 0.5
        recordings = {r.id: r for r in await store.list_recordings(task_id)}
        assert {recordings[x.recording_id].leg for x in lines} == {"caller", "agent"}
        assert all(recordings[x.recording_id].leg == x.speaker for x in lines)
        result = await store.speech_result(task_id)
        words = [w for u in result.transcript["utterances"] for w in u["words"]]
        assert words and all(0 <= w["start"] < w["end"] for w in words)
        summary = await store.latest_summary(task_id)
        assert summary.text == event.data["text"] and caller_lines[0].text in summary.text

        # The agent's wrap-up form shows it.
        box = page.locator(f"form.wrapup[data-task-id='{task_id}'] .summary-box")
        await box.wait_for(timeout=10000)
        await page.wait_for_function(
            "([id, text]) => { const b = document.querySelector("
            "`form.wrapup[data-task-id='${id}'] .summary-box`);"
            " return b && b.textContent === text; }", arg=[task_id, summary.text],
            timeout=10000)
        await page.screenshot(path=str(screenshots / "speech-e2e-wrapup.png"), full_page=True,
                              animations="disabled")
        assert not page.errors, page.errors
        assert (await store.speech_job(task_id)).status == "done"
        await asyncio.wait_for(app.deps.need(SpeechService).idle(), 10)
    finally:
        await app.stop()
