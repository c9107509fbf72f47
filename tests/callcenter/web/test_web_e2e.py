"""End to end (tier 3): the whole App with the real local Asterisk, pyVoIP phones and
headless Chromium.

A caller dials the 400 number and goes through the IVR into the sales queue; the card
pops on the agent's page (customer, IVR path, queue) while the agent's phone rings;
the agent's phone answers; the supervisor clicks Listen on the wallboard and their
phone rings; the caller hangs up and the agent files the wrap-up from the page.

The helpers for the Asterisk side (config pointed at the test Asterisk, dialing the
IVR) are the voice tests' own, in tests.support.voice.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from callcenter.app import App, AsteriskSite
from callcenter.config import ConfigStore
from tests.support import voice
from tests.support import webstack as ws

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def seed_history(app: App) -> None:
    """The test caller (number "caller") called before and wrote on WeChat: one customer."""
    store = app.store
    customer = await store.find_or_create_customer("phone", "caller", name="王女士")
    await store.link_identity(customer.id, "wechat_openid", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
    earlier = await store.create_interaction(
        "voice", medium="pstn", customer_id=customer.id, queue="sales", agent_id="lina",
        arrived_at=time.time() - 86400, answered_at=time.time() - 86390,
        ended_at=time.time() - 86200, outcome="answered")
    await store.add_summary(earlier.id, "上次来电：咨询退货政策")
    chat = await store.create_interaction(
        "chat", medium="wechat", customer_id=customer.id, queue="support",
        arrived_at=time.time() - 3600, ended_at=time.time() - 3000, outcome="answered")
    await store.add_message(chat.id, "in", "微信里问过发票怎么开", customer_id=customer.id,
                            sender="customer", source="wechat", external_id="msg-1")


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
    app = App(ConfigStore.open(directory), web=True, demo=True,  # the sample's passwords
              site=AsteriskSite(host_root=str(asterisk.root), files_dir=asterisk.instance_inside,
                                cli=asterisk.cli))
    await app.start()
    try:
        base = f"http://127.0.0.1:{app.web_port}"
        await voice.wait_until(lambda: app.link.is_up, what="AMI link")
        # The agent's phone answers 2 s after it starts ringing: time to see the card.
        await phones("1001", "dev-sip-1001", auto_answer=True, answer_delay=2.0)
        supervisor_phone = await phones("1090", "dev-sip-1090", auto_answer=True)
        offers = app.bus.subscribe(lambda e: e.topic == "agent.offer")
        rings = app.bus.subscribe(lambda e: e.topic == "agent.ringing")
        await seed_history(app)

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
        shown = (await mark.json_value())["shown"] / 1000
        ringing = await asyncio.wait_for(rings.get(), 10)
        print(f"\nscreen-pop with a real call: offer published -> card painted "
              f"{(shown - event.at) * 1000:.1f} ms; the agent's phone started ringing "
              f"{(ringing.at - shown) * 1000:.1f} ms after the card was painted")
        assert shown - ringing.at < 0.1  # painted within 100 ms of the ring (or before it)
        text = await card.text_content()
        # The caller's story from every channel: the earlier call and the WeChat chat.
        assert "上次来电：咨询退货政策" in text
        assert "微信里问过发票" in text
        assert "销售咨询" in text  # the queue
        assert "产品咨询" in text  # the IVR path: English, then 1 for sales
        assert "请接听您的话机" in text  # a call is answered on the phone
        assert event.data["pop"]["interaction"]["ivr_choices"]  # the IVR path travelled
        await agent_page.screenshot(path=str(screenshots / "e2e-agent-ringing.png"),
                                    full_page=True, animations="disabled")

        # The agent's phone answers; the supervisor listens from the wallboard.
        await voice.wait_until(lambda: task_id in app.voice.calls
                               and app.voice.calls[task_id].bridged
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
        # The wallboard's counts moved: one more voice call offered and answered in sales.
        sales = board.locator("section.tile[data-queue='sales']")
        await sales.locator("[data-k='voice-answered']", has_text="1").wait_for(timeout=5000)
        assert await sales.locator("[data-k='voice-offered']").text_content() == "1"
        assert not agent_page.errors and not board.errors, (agent_page.errors, board.errors)
    finally:
        await app.stop()
