"""The browser phone, end to end: the real Asterisk, a pyVoIP caller, headless Chromium with
its fake microphone (a 1 kHz tone from a WAV file) and the console's own WebRTC phone.

zhangwei signs in with the browser phone (JsSIP over WebSocket to Asterisk, DTLS-SRTP, ICE
on loopback). A caller reaches her through the IVR; her page rings and she answers from the
offer's card. Audio is measured both ways: the caller hears the browser's tone, and the
browser's WebRTC statistics count the caller's packets and their energy growing while the
caller speaks. She holds (the caller hears music, not her) and resumes from the console,
then hangs up. A second caller she answers from the phone card and transfers blind to
lina's desk phone; lina consults her back (the browser rings, not her desk extension) and
hands the caller over. The history has each step.

A tab that crashes mid-call (no BYE) never leaves the caller in dead air: Asterisk ends
the browser's leg after 10 s without its media, and the caller's call with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import wave

import numpy as np
import pytest
from pyVoIP.VoIP import CallState

from callcenter.app import App, AsteriskSite
from callcenter.config import ConfigStore
from callcenter.consoles.vendor import NODE_MODULES
from callcenter.simulate.phone import energy, tone
from tests.callcenter.web.test_call_controls_browser import agent_page
from tests.support import voice
from tests.support import webstack as ws
from tests.support.audio import heard, share_near

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]

MIC_TONE = 1000  # Hz: what the browser's fake microphone says


def microphone_file(path, frequency: float = MIC_TONE, seconds: float = 4.0) -> str:
    """A WAV file Chromium plays as its microphone (in a loop)."""
    rate = 48000
    t = np.arange(int(rate * seconds)) / rate
    samples = (0.5 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return str(path)


@pytest.fixture
async def chromium_with_microphone(tmp_path):
    from playwright.async_api import async_playwright

    wav = microphone_file(tmp_path / "microphone.wav")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[*ws.CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={wav}",
                  "--allow-loopback-in-peer-connection",  # ICE on loopback
                  "--autoplay-policy=no-user-gesture-required"])
        try:
            yield browser
        finally:
            await browser.close()


async def phone_state(page, wanted: str, timeout: float = 10, app=None) -> None:
    """Wait for the browser phone's panel to show ``wanted``; say where it is if not (and,
    given the ``app``, what the engine thinks of the agents and calls)."""
    try:
        await page.wait_for_selector(f".browser-phone-state[data-state={wanted}]",
                                     timeout=timeout * 1000)
    except Exception:
        seen = await page.evaluate("[window.__ccPhone.state, window.__ccPhone.why]")
        engine = "" if app is None else (
            f"; sessions {list(app.agents.sessions.values())}; agents "
            f"{[app.routing.agent(a) for a in app.agents.sessions]}; calls "
            f"{[(t, app.routing.task(t)) for t in app.voice.calls]}")
        raise AssertionError(f"the browser phone is {seen}, not {wanted}{engine}") from None


async def stats(page) -> dict:
    return await page.evaluate("window.__ccPhone.stats()") or {}


def engine(tmp_path, asterisk, monkeypatch) -> App:
    assert (NODE_MODULES / "jssip" / "package.json").exists(), \
        "the browser phone's SIP library is not installed: run make setup (npm ci)"
    for name in ("CALLCENTER_INITIAL_PASSWORD", "CALLCENTER_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # the sample's fallback passwords
    return App(ConfigStore.open(voice.make_config(tmp_path, asterisk)), web=True, demo=True,
               site=AsteriskSite(host_root=str(asterisk.root),
                                 files_dir=asterisk.instance_inside, cli=asterisk.cli))


async def browser_agent(browser, app: App, errors: list[str], agent_id: str = "zhangwei",
                        device: str = "1001-web"):
    """The agent's console (zhangwei's), signed in with the browser phone (registered, as
    Asterisk says) and ready."""
    context = await browser.new_context(locale="en-US", viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"http://127.0.0.1:{app.web_port}/agent")
    await page.fill("#login input[name=username]", agent_id)
    await page.fill("#login input[name=password]", ws.PASSWORDS[agent_id])
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")
    await page.select_option("#device", device)
    await page.click("#signin")
    await phone_state(page, "registered", timeout=15)
    await page.wait_for_selector("#phone-status.st-ready", timeout=15000)
    assert app.agents.device_of(agent_id) == device
    await page.click("#go-ready")
    await page.wait_for_selector("#state-badge.st-ready")
    return context, page


async def test_an_agent_answers_in_the_browser_holds_resumes_hangs_up_transfers(
        tmp_path, asterisk, phones, chromium_with_microphone, screenshots, monkeypatch):
    app = engine(tmp_path, asterisk, monkeypatch)
    await app.start()
    try:
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        # Sign in with the browser phone: it registers, and Asterisk says so.
        errors: list[str] = []
        context, page = await browser_agent(chromium_with_microphone, app, errors)

        # A caller through the IVR: the page rings; she answers from the offer's card.
        caller = await phones("caller", "caller")
        call = await voice.dial_queue(caller, "sales")
        (task_id,) = await voice.queued(app)
        answer = page.locator(f"article.offer[data-task-id='{task_id}'] "
                              "button[data-action=answer-call]")
        await answer.wait_for(timeout=15000)
        assert await page.evaluate("window.__ccPhone.ringing()")
        await page.screenshot(path=str(screenshots / "browser-phone-ringing.png"),
                              full_page=True, animations="disabled")
        await answer.click()
        await phone_state(page, "talking")
        assert not await page.evaluate("window.__ccPhone.ringing()")
        await voice.wait_until(lambda: task_id in app.voice.calls
                               and app.voice.calls[task_id].connected, timeout=15,
                               what="the bridge")
        bar = page.locator(f".call-bar[data-call-task='{task_id}']")
        await bar.wait_for(timeout=10000)
        # "Handled today" counts the call at once, as the wallboard does (no reload).
        handled = app.routing.agent("zhangwei").answered
        assert handled >= 1
        await page.wait_for_function(
            f"document.getElementById('answered').textContent === '{handled}'", timeout=5000)

        # Both ways: the caller hears the browser's microphone; the browser receives the
        # caller's packets, and their energy grows while the caller plays a tone.
        await voice.eventually(lambda: _receiving(page), what="RTP at the browser")
        hears = await asyncio.to_thread(call.listen, 1.2)
        print(f"\nthe caller hears {energy(hears):.3f} RMS, "
              f"{share_near(hears, MIC_TONE):.2f} of it the browser's {MIC_TONE} Hz")
        # (Chromium's noise suppression turns a steady tone down: its share is the proof.)
        assert energy(hears) > 0.01 and share_near(hears, MIC_TONE) > 0.5
        before = await stats(page)
        await asyncio.to_thread(call.play, tone(440, 1.2))
        after = await stats(page)
        print(f"the browser received {after['packetsReceived'] - before['packetsReceived']} "
              f"packets ({after['bytesReceived'] - before['bytesReceived']} bytes), audio "
              f"energy +{after['totalAudioEnergy'] - before['totalAudioEnergy']:.4f}; sent "
              f"{after['packetsSent']} packets in all, over {after['path']} "
              f"(DTLS {after['dtls']})")
        assert after["packetsReceived"] - before["packetsReceived"] >= 40  # 20 ms packets
        assert after["totalAudioEnergy"] - before["totalAudioEnergy"] > 0.01
        assert after["dtls"] == "connected"  # DTLS-SRTP
        await page.screenshot(path=str(screenshots / "browser-phone-talking.png"),
                              full_page=True, animations="disabled")

        # Hold from the console: music for the caller, not the agent; then resume.
        hold = bar.locator("button[data-action=hold]")
        await hold.click()
        await bar.locator(".call-held:not([hidden])").wait_for(timeout=5000)
        await asyncio.sleep(0.5)  # the music starts
        on_hold = await asyncio.to_thread(call.listen, 1.2)
        print(f"on hold: the caller hears {energy(on_hold):.3f} RMS, "
              f"{share_near(on_hold, MIC_TONE):.2f} of it the browser's tone")
        assert energy(on_hold) > 0.02 and share_near(on_hold, MIC_TONE) < 0.2
        await hold.click()
        await bar.locator(".call-held[hidden]").wait_for(state="attached", timeout=5000)
        await asyncio.sleep(0.5)  # the bridge is made again
        back = await asyncio.to_thread(call.listen, 1.2)
        assert energy(back) > 0.01 and share_near(back, MIC_TONE) > 0.5

        # Hang up from the console: the caller's call ends, the browser phone is free.
        await bar.locator("button[data-action=hangup]").click()
        assert await asyncio.to_thread(call.wait_state, CallState.ENDED, 5)
        await phone_state(page, "registered")
        await page.locator(f"form.wrapup[data-task-id='{task_id}']").wait_for(timeout=10000)
        await voice.wait_until(lambda: task_id not in app.voice.calls, what="the end")
        steps = await voice.history(app, task_id)
        print("history:", " ".join(steps))
        wanted = ["CONNECT", "HOLD", "UNHOLD", "HANGUP", "COMPLETEAGENT"]
        assert [s for s in steps if s in wanted] == wanted

        # A second caller: answered from the phone card this time, then transferred blind
        # to lina's desk phone; the browser's call ends, lina talks with the caller.
        form = page.locator(f"form.wrapup[data-task-id='{task_id}']")
        await form.locator("input[name=disposition]").first.check()
        await form.locator("button[type=submit]").click()
        await form.wait_for(state="detached", timeout=5000)
        await page.wait_for_selector("#state-badge.st-ready", timeout=10000)
        second = await voice.dial_queue(caller, "sales")
        await voice.wait_until(lambda: len(app.voice.calls) == 1, timeout=15,
                               what="the second call")
        (task2,) = app.voice.calls
        await phone_state(page, "ringing", timeout=15, app=app)
        await page.click("#browser-phone button[data-action=phone-answer]")
        await phone_state(page, "talking")
        # lina signs in on her desk phone (as in test_call_controls_browser) to take it.
        lina_phone = await phones("1002", "dev-sip-1002", auto_answer=True)
        lina = await agent_page(chromium_with_microphone, f"http://127.0.0.1:{app.web_port}",
                                "lina", "1002")
        # Usable as Asterisk says: on this busy machine a late answer to Asterisk's qualify
        # (3 s) can mark a test phone unreachable until the next one (15 s later).
        await voice.wait_until(lambda: app.agents.sessions["lina"].registered
                               and app.agents.sessions["lina"].device_ok, timeout=40,
                               what="lina's phone reachable")
        bar = page.locator(f".call-bar[data-call-task='{task2}']")
        await bar.locator("select[data-action=transfer] option[value='agent:lina']").wait_for(
            state="attached", timeout=10000)
        async with page.expect_response("**/api/agent/call/transfer") as answered:
            await bar.locator("select[data-action=transfer]").select_option("agent:lina")
        response = await answered.value
        assert response.ok, (response.status, await response.text(),
                             str(app.agents.sessions["lina"]))
        try:
            await page.locator(f"form.wrapup[data-task-id='{task2}']").wait_for(timeout=10000)
        except Exception:
            await app.routing.flush()
            steps = [(e.event, e.data) for e in await app.store.events_between(
                0, 2e9, interaction_id=task2)]
            raise AssertionError(f"no wrap-up after the transfer; {steps}, "
                                 f"{app.agents.status('zhangwei')}, "
                                 f"{app.agents.status('lina')}") from None
        await phone_state(page, "registered")  # the browser's leg is over
        await voice.wait_until(lambda: lina_phone.incoming, timeout=15, what="lina's phone")
        lina_leg = lina_phone.incoming[0]
        await voice.wait_until(lambda: app.voice.calls[task2].connected, what="lina's bridge")
        assert share_near(await heard(second, lina_leg, 880), 880) > 0.5

        # zhangwei finishes the wrap-up of her part (the call is lina's now). lina consults
        # her: the browser rings, not her desk extension; she answers on the phone card
        # and lina hands the caller over.
        form = page.locator(f"form.wrapup[data-task-id='{task2}']")
        await form.locator("input[name=disposition]").first.check()
        await form.locator("button[type=submit]").click()
        try:
            await form.wait_for(state="detached", timeout=5000)
        except Exception:
            raise AssertionError(await form.inner_text()) from None
        lina_bar = lina.locator(f".call-bar[data-call-task='{task2}']")
        await lina_bar.locator("select[data-action=consult] option[value='agent:zhangwei']"
                               ).wait_for(state="attached", timeout=10000)
        # Reachable as Asterisk says (a late answer to its qualify marks the browser
        # unreachable until the next one; the consult is refused meanwhile).
        await voice.wait_until(lambda: app.agents.sessions["zhangwei"].device_ok, timeout=40,
                               what="zhangwei's browser phone reachable")
        async with lina.expect_response("**/api/agent/call/consult") as consulted:
            await lina_bar.locator("select[data-action=consult]").select_option("agent:zhangwei")
        response = await consulted.value
        assert response.ok, (response.status, await response.text())
        await phone_state(page, "ringing", timeout=15, app=app)
        await page.click("#browser-phone button[data-action=phone-answer]")
        await phone_state(page, "talking")
        hand_over = lina_bar.locator("button[data-then=transfer]:not([disabled])")
        await hand_over.wait_for(timeout=10000)
        await hand_over.click()
        await lina.locator(f"form.wrapup[data-task-id='{task2}']").wait_for(timeout=10000)
        await asyncio.sleep(0.5)  # the caller is bridged with the browser
        hears = await asyncio.to_thread(second.listen, 1.2)
        assert energy(hears) > 0.01 and share_near(hears, MIC_TONE) > 0.5
        await asyncio.to_thread(second.hangup)
        await phone_state(page, "registered")
        await voice.wait_until(lambda: task2 not in app.voice.calls, what="the end")
        steps = await voice.history(app, task2)
        print("history:", " ".join(steps))
        # zhangwei's wrap-up of her part, after it went on to lina, is in the history.
        assert [s for s in steps if s in ("CONNECT", "TRANSFER", "DISPOSITION", "CONSULT",
                                          "TRANSFEROUT")] == [
            "CONNECT", "TRANSFER", "CONNECT", "DISPOSITION", "CONSULT", "TRANSFEROUT"]

        # Signing out unregisters the browser phone.
        await page.click("#signout")
        await page.wait_for_selector("#state-badge.st-logged_out")
        assert await page.evaluate("window.__ccPhone.state") == "off"
        assert not errors and not lina.errors, (errors, lina.errors)
        await context.close()
    finally:
        await app.stop()


async def test_a_page_closed_mid_call_never_leaves_the_caller_in_dead_air(
        tmp_path, asterisk, phones, chromium_with_microphone, monkeypatch):
    app = engine(tmp_path, asterisk, monkeypatch)
    await app.start()
    try:
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        context, page = await browser_agent(chromium_with_microphone, app, [])
        call = await voice.dial_queue(await phones("caller", "caller"), "sales")
        (task_id,) = await voice.queued(app)
        await page.locator(f"article.offer[data-task-id='{task_id}'] "
                           "button[data-action=answer-call]").click(timeout=15000)
        await voice.wait_until(lambda: task_id in app.voice.calls
                               and app.voice.calls[task_id].connected, timeout=15,
                               what="the bridge")
        # The tab crashes mid-call: no pagehide, no BYE; its media stops.
        cdp = await context.new_cdp_session(page)
        crashed = time.monotonic()
        with contextlib.suppress(Exception):  # the renderer dies before it answers
            await asyncio.wait_for(cdp.send("Page.crash"), 1)
        assert await asyncio.to_thread(call.wait_state, CallState.ENDED, 20)
        print(f"\nthe tab crashed: the caller's call ended {time.monotonic() - crashed:.1f} s "
              "later")
        await voice.wait_until(lambda: task_id not in app.voice.calls, what="the end")
        await asyncio.wait_for(context.close(), 10)
    finally:
        await app.stop()


async def test_a_supervisor_listens_on_the_browser_phone(
        tmp_path, asterisk, phones, chromium_with_microphone, monkeypatch):
    """zhaolei, signed in with the browser phone, listens to lina's call: his browser rings,
    not his desk extension, and receives the call's audio."""
    app = engine(tmp_path, asterisk, monkeypatch)
    await app.start()
    try:
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        errors: list[str] = []
        context, page = await browser_agent(chromium_with_microphone, app, errors,
                                            agent_id="zhaolei", device="1090-web")
        desk = await phones("1090", "dev-sip-1090", auto_answer=True)
        await phones("1002", "dev-sip-1002", auto_answer=True)  # lina's desk phone
        lina = await agent_page(chromium_with_microphone, f"http://127.0.0.1:{app.web_port}",
                                "lina", "1002")
        await voice.wait_until(lambda: app.agents.sessions["lina"].registered
                               and app.agents.sessions["lina"].device_ok, timeout=40,
                               what="lina's phone reachable")
        call = await voice.dial_queue(await phones("caller", "caller"), "sales")
        await voice.wait_until(lambda: any(c.connected and c.agent_id == "lina"
                                           for c in app.voice.calls.values()),
                               timeout=15, what="lina's call")
        await app.voice.spy("zhaolei", "lina", "listen")
        await phone_state(page, "ringing", timeout=15, app=app)
        await page.click("#browser-phone button[data-action=phone-answer]")
        await phone_state(page, "talking")
        await voice.eventually(lambda: _receiving(page), what="the call's audio at the browser")
        before = await stats(page)
        await asyncio.to_thread(call.play, tone(440, 1.2))
        after = await stats(page)
        assert after["packetsReceived"] - before["packetsReceived"] >= 40
        assert after["totalAudioEnergy"] - before["totalAudioEnergy"] > 0.01
        assert not desk.incoming  # his desk phone never rang
        assert not errors and not lina.errors, (errors, lina.errors)
        await asyncio.to_thread(call.hangup)
        await context.close()
    finally:
        await app.stop()


async def test_the_browser_phone_answers_by_itself_for_a_hands_free_agent(
        tmp_path, asterisk, phones, chromium_with_microphone, monkeypatch):
    """zhangwei answers hands free (agents.yaml auto_answer): an offer connects without a
    click, and the caller hears the browser."""
    voice.hands_free(voice.make_config(tmp_path, asterisk), "zhangwei")
    app = engine(tmp_path, asterisk, monkeypatch)
    await app.start()
    try:
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        context, page = await browser_agent(chromium_with_microphone, app, [])
        call = await voice.dial_queue(await phones("caller", "caller"), "sales")
        (task_id,) = await voice.queued(app)
        await voice.wait_until(lambda: task_id in app.voice.calls
                               and app.voice.calls[task_id].connected, timeout=15,
                               what="the call connected without a click")
        await phone_state(page, "talking")
        await asyncio.sleep(0.5)  # the bridge carries the browser's audio
        hears = await asyncio.to_thread(call.listen, 1.2)
        assert energy(hears) > 0.01 and share_near(hears, MIC_TONE) > 0.5
        await asyncio.to_thread(call.hangup)
        await context.close()
    finally:
        await app.stop()


async def _receiving(page) -> bool:
    first = await stats(page)
    await asyncio.sleep(0.3)
    second = await stats(page)
    return bool(first and second and second.get("packetsReceived", 0)
                > first.get("packetsReceived", 0))
