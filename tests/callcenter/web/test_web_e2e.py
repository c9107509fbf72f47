"""End to end (tier 3): the whole App with the real local Asterisk, pyVoIP phones and
headless Chromium.

A caller dials the 400 number and goes through the IVR into the sales queue; the card
pops on the agent's page (customer, IVR path, queue) while the agent's phone rings;
the agent's phone answers; the supervisor clicks Listen on the wallboard and their
phone rings; the caller hangs up and the agent files the wrap-up from the page.

The helpers for the Asterisk side (config pointed at the test Asterisk, dialing the
IVR, phones) are the voice tests' own, loaded from tests/callcenter/voice/conftest.py.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from pathlib import Path

import callcenter_test_webstack as ws
import pytest

from callcenter.app import App, AsteriskSite
from callcenter.config import ConfigStore

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


def _voice_helpers():
    name = "callcenter_test_voice_helpers"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "voice" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


voice = _voice_helpers()
phones = voice.phones  # the voice tests' fixture: registered pyVoIP phones, stopped after


async def open_console(browser, base: str, path: str, username: str):
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(base + path)
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", ws.PASSWORDS[username])
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")
    return page


async def test_ivr_call_pops_the_card_and_the_supervisor_listens(
        tmp_path, asterisk, phones, browser, screenshots, monkeypatch):
    for name in ("CALLCENTER_INITIAL_PASSWORD", "CALLCENTER_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # the sample's fallback passwords
    directory = voice.make_config(tmp_path, asterisk)
    app = App(ConfigStore.open(directory), web=True,
              site=AsteriskSite(host_root=str(asterisk.root), files_dir=asterisk.instance_inside))
    await app.start()
    try:
        base = f"http://127.0.0.1:{app.web_port}"
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        # The agent's phone answers 2 s after it starts ringing: time to see the card.
        await phones("1001", "dev-sip-1001", auto_answer=True, answer_delay=2.0)
        supervisor_phone = await phones("1090", "dev-sip-1090", auto_answer=True)
        offers = app.bus.subscribe(lambda e: e.topic == "agent.offer")

        agent_page = await open_console(browser, base, "/agent", "zhangwei")
        await agent_page.select_option("#device", "1001")
        await agent_page.click("#signin")
        await agent_page.wait_for_selector("#state-badge.st-not_ready")
        await agent_page.click("#go-ready")
        await agent_page.wait_for_selector("#state-badge.st-ready")
        board = await open_console(browser, base, "/wallboard", "zhaolei")
        await board.wait_for_selector("tr[data-agent='zhangwei'] .st-ready")

        # The caller: the 400 number, English, then sales.
        caller = await phones("caller", "caller")
        call = await voice.dial_queue(caller, "sales")
        event = await asyncio.wait_for(offers.get(), 20)
        offer_id, task_id = event.data["offer_id"], event.data["task_id"]
        card = agent_page.locator(f"article.offer[data-offer-id='{offer_id}']")
        await card.wait_for(timeout=5000)
        mark = await agent_page.wait_for_function("id => window.__cc.pops[id]", arg=offer_id)
        latency = (await mark.json_value())["shown"] / 1000 - event.at
        print(f"\nscreen-pop latency with a real call, offer published -> card painted: "
              f"{latency * 1000:.1f} ms")
        text = await card.text_content()
        assert "销售咨询" in text  # the queue
        assert "产品咨询" in text  # the IVR path: English, then 1 for sales
        assert "请接听您的话机" in text  # a call is answered on the phone
        assert event.data["pop"]["interaction"]["ivr_choices"]  # the IVR path travelled
        await agent_page.screenshot(path=str(screenshots / "e2e-agent-ringing.png"),
                                    full_page=True, animations="disabled")

        # The agent's phone answers; the supervisor listens from the wallboard.
        await voice.wait_until(lambda: task_id in app.voice.calls
                               and app.voice.calls[task_id].connected
                               and app.voice.calls[task_id].agent_channel,
                               timeout=15, what="the bridge")
        await agent_page.wait_for_selector(f"article.offer[data-task-id='{task_id}'].connected")
        listen = board.locator("tr[data-agent='zhangwei'] button[data-mode='listen']")
        await board.wait_for_selector(
            "tr[data-agent='zhangwei'] button[data-mode='listen']:not([disabled])")
        clicked = time.monotonic()
        await listen.click()
        await voice.wait_until(lambda: supervisor_phone.incoming, timeout=10,
                               what="the supervisor's phone to ring")
        print(f"Listen clicked -> supervisor's phone rang in "
              f"{(time.monotonic() - clicked) * 1000:.0f} ms")
        await board.wait_for_selector(".toast-ok")
        await board.screenshot(path=str(screenshots / "e2e-wallboard-listen.png"),
                               full_page=True, animations="disabled")

        # The caller hangs up: the wrap-up form, filed from the page.
        await asyncio.to_thread(call.hangup)
        form = agent_page.locator(f"form.wrapup[data-task-id='{task_id}']")
        await form.wait_for(timeout=10000)
        await form.locator("label", has_text="已下单").click()
        await form.locator("textarea[name=notes]").fill("客户已下单，三天内发货。")
        await form.locator("button[type=submit]").click()
        await form.wait_for(state="detached")
        record = await app.store.get_interaction(task_id)
        assert record.disposition == "order_placed"
        assert record.notes == "客户已下单，三天内发货。"
        assert record.agent_id == "zhangwei"
        assert not agent_page.errors and not board.errors, (agent_page.errors, board.errors)
    finally:
        await app.stop()
