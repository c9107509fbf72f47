"""The call controls from the agent's page, end to end: the real Asterisk, pyVoIP phones,
headless Chromium.

A caller reaches zhangwei through the IVR. From the connected call's card zhangwei holds
(the caller hears music and not the agent, the card shows the time on hold), resumes,
mutes and unmutes (measured at the caller), then transfers the call blind to lina, whose
phone rings and answers; zhangwei gets the wrap-up form. lina hangs up from her own page.
The interaction's history has each step in order.
"""

from __future__ import annotations

import asyncio

import pytest
from pyVoIP.VoIP import CallState

from callcenter.app import App, AsteriskSite
from callcenter.config import ConfigStore
from callcenter.simulate.phone import energy
from tests.support import voice
from tests.support import webstack as ws
from tests.support.audio import heard, share_near

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def agent_page(browser, base: str, username: str, extension: str):
    """The agent's console, signed in on their phone and ready."""
    context = await browser.new_context(locale="en-US", viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    await page.goto(base + "/agent")
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", ws.PASSWORDS[username])
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")
    await page.select_option("#device", extension)
    await page.click("#signin")
    await page.wait_for_selector("#state-badge.st-not_ready")
    await page.click("#go-ready")
    await page.wait_for_selector("#state-badge.st-ready")
    # Asterisk has told the engine the phone is there: calls can be given to it now.
    await page.wait_for_selector("#phone-status.st-ready:not([hidden])")
    return page


async def test_hold_mute_transfer_and_hang_up_from_the_agents_page(
        tmp_path, asterisk, phones, browser, screenshots, monkeypatch):
    for name in ("CALLCENTER_INITIAL_PASSWORD", "CALLCENTER_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # the sample's fallback passwords
    app = App(ConfigStore.open(voice.make_config(tmp_path, asterisk)), web=True, demo=True,
              site=AsteriskSite(host_root=str(asterisk.root),
                                files_dir=asterisk.instance_inside, cli=asterisk.cli))
    await app.start()
    try:
        base = f"http://127.0.0.1:{app.web_port}"
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        zhangwei_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
        zhangwei = await agent_page(browser, base, "zhangwei", "1001")

        caller = await phones("caller", "caller")
        call = await voice.dial_queue(caller, "sales")
        (task_id,) = await voice.queued(app)
        await voice.wait_until(lambda: task_id in app.voice.calls
                               and app.voice.calls[task_id].bridged, timeout=15,
                               what="the bridge")
        await voice.wait_until(lambda: zhangwei_phone.incoming, what="the agent's leg")
        leg = zhangwei_phone.incoming[0]
        bar = zhangwei.locator(f".call-bar[data-call-task='{task_id}']")
        await bar.wait_for(timeout=5000)
        await bar.locator("select[data-action=transfer] option[value='agent:lina']").wait_for(
            state="attached", timeout=5000)  # the targets came with the call's state

        # Hold: the caller hears music, not the agent; the card counts the time on hold.
        hold = bar.locator("button[data-action=hold]")
        await hold.click()
        await bar.locator(".call-held:not([hidden])").wait_for(timeout=5000)
        assert await hold.text_content() == "Resume"
        await asyncio.sleep(0.5)
        on_hold = await heard(call, leg, 880)
        print(f"\non hold: the caller hears {energy(on_hold):.3f} RMS, "
              f"{share_near(on_hold, 880):.2f} of it the agent's tone")
        assert energy(on_hold) > 0.02 and share_near(on_hold, 880) < 0.2
        await zhangwei.screenshot(path=str(screenshots / "call-controls-on-hold.png"),
                                  full_page=True, animations="disabled")
        assert "On hold 0:0" in await bar.locator(".call-held").text_content()

        await hold.click()  # resume: the agent is heard again
        await bar.locator(".call-held[hidden]").wait_for(state="attached", timeout=5000)
        await asyncio.sleep(0.5)
        back = await heard(call, leg, 880)
        assert energy(back) > 0.1 and share_near(back, 880) > 0.5

        mute = bar.locator("button[data-action=mute]")
        await mute.click()
        await bar.locator(".call-muted:not([hidden])").wait_for(timeout=5000)
        assert energy(await heard(call, leg, 880)) < 0.02  # muted: the caller hears nothing
        assert energy(await heard(leg, call, 440)) > 0.1  # ... and the agent still hears
        await mute.click()
        await bar.locator(".call-muted[hidden]").wait_for(state="attached", timeout=5000)
        assert energy(await heard(call, leg, 880)) > 0.1

        # Blind transfer to lina: her phone rings and answers; zhangwei wraps up.
        lina_phone = await phones("1002", "dev-sip-1002", auto_answer=True)
        lina = await agent_page(browser, base, "lina", "1002")
        await bar.locator("select[data-action=transfer]").select_option("agent:lina")
        await zhangwei.locator(f"form.wrapup[data-task-id='{task_id}']").wait_for(timeout=10000)
        assert await asyncio.to_thread(leg.wait_state, CallState.ENDED, 5)
        await voice.wait_until(lambda: lina_phone.incoming, timeout=15, what="lina's phone")
        lina_bar = lina.locator(f".call-bar[data-call-task='{task_id}']")
        await lina_bar.wait_for(timeout=10000)
        await asyncio.sleep(0.5)
        assert share_near(await heard(call, lina_phone.incoming[0], 880), 880) > 0.5

        await lina_bar.locator("button[data-action=hangup]").click()
        assert await asyncio.to_thread(call.wait_state, CallState.ENDED, 5)
        await lina.locator(f"form.wrapup[data-task-id='{task_id}']").wait_for(timeout=10000)
        await voice.wait_until(lambda: task_id not in app.voice.calls, what="the end")
        steps = await voice.history(app, task_id)
        print("history:", " ".join(steps))
        wanted = ["HOLD", "UNHOLD", "MUTE", "UNMUTE", "TRANSFER", "HANGUP", "COMPLETEAGENT"]
        assert [s for s in steps if s in wanted] == wanted
        assert not zhangwei.errors and not lina.errors, (zhangwei.errors, lina.errors)
    finally:
        await app.stop()


async def test_dial_out_from_the_phone_card(tmp_path, asterisk, phones, pstn, browser,
                                            screenshots, monkeypatch):
    for name in ("CALLCENTER_INITIAL_PASSWORD", "CALLCENTER_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    app = App(ConfigStore.open(voice.make_config(tmp_path, asterisk)), web=True, demo=True,
              site=AsteriskSite(host_root=str(asterisk.root),
                                files_dir=asterisk.instance_inside, cli=asterisk.cli))
    await app.start()
    try:
        base = f"http://127.0.0.1:{app.web_port}"
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        await phones("1001", "dev-sip-1001", auto_answer=True)
        outside = await pstn("13900001111", auto_answer=True)
        page = await agent_page(browser, base, "zhangwei", "1001")
        dialer = page.locator("#dialer")
        await dialer.wait_for(timeout=5000)  # shown: an outbound caller ID is configured
        await dialer.locator("input[name=dial]").fill("139 0000 1111")
        await dialer.locator("button[data-action=dial]").click()
        await dialer.locator(".dial-status[data-status=answered]").wait_for(timeout=15000)
        assert "139****1111" in await dialer.text_content()
        assert "13900001111" not in await dialer.text_content()
        await page.wait_for_selector("#state-badge.st-not_ready")  # not offered anything
        assert "Dialling out" in await page.text_content("#state-badge")
        await page.screenshot(path=str(screenshots / "dial-out-connected.png"),
                              full_page=True, animations="disabled")
        await dialer.locator("button[data-action=dial-hangup]").click()
        assert await asyncio.to_thread(outside.incoming[0].wait_state, CallState.ENDED, 5)
        await dialer.locator(".dial-status[data-status=ended]").wait_for(timeout=5000)
        await page.wait_for_selector("#state-badge.st-ready")
        assert not page.errors, page.errors
    finally:
        await app.stop()


async def test_consult_a_colleague_and_hand_the_caller_over_from_the_page(
        tmp_path, asterisk, phones, browser, screenshots, monkeypatch):
    for name in ("CALLCENTER_INITIAL_PASSWORD", "CALLCENTER_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    app = App(ConfigStore.open(voice.make_config(tmp_path, asterisk)), web=True, demo=True,
              site=AsteriskSite(host_root=str(asterisk.root),
                                files_dir=asterisk.instance_inside, cli=asterisk.cli))
    await app.start()
    try:
        base = f"http://127.0.0.1:{app.web_port}"
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        await phones("1001", "dev-sip-1001", auto_answer=True)
        lina = await phones("1002", "dev-sip-1002", auto_answer=True)
        page = await agent_page(browser, base, "zhangwei", "1001")
        call = await voice.dial_queue(await phones("caller", "caller"), "sales")
        (task_id,) = await voice.queued(app)
        bar = page.locator(f".call-bar[data-call-task='{task_id}']")
        await bar.wait_for(timeout=15000)
        await bar.locator("select[data-action=consult] option[value='agent:lina']").wait_for(
            state="attached", timeout=5000)
        await bar.locator("select[data-action=consult]").select_option("agent:lina")
        hand_over = bar.locator("button[data-then=transfer]")
        await bar.locator("button[data-then=transfer]:not([disabled])").wait_for(timeout=10000)
        assert "Consulting lina" in await bar.locator(".call-consult").text_content()
        assert await bar.locator("button[data-action=hold]").is_hidden()
        assert await bar.locator("button[data-action=hangup]").is_hidden()
        await page.screenshot(path=str(screenshots / "call-controls-consulting.png"),
                              full_page=True, animations="disabled")
        await hand_over.click()
        await page.locator(f"form.wrapup[data-task-id='{task_id}']").wait_for(timeout=10000)
        await asyncio.sleep(0.5)
        assert share_near(await heard(call, lina.incoming[0], 660), 660) > 0.5
        await app.routing.flush()
        events = await app.store.events_between(0, 2e9, interaction_id=task_id)
        assert [e.data for e in events if e.event == "TRANSFEROUT"] == [
            {"to": "lina", "attended": True}]
        assert not page.errors, page.errors
    finally:
        await app.stop()
