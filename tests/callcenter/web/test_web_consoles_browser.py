"""The three consoles in real headless Chromium against the real stack (tier 2/3).

Screenshots go to ``$CALLCENTER_TEST_ARTIFACTS/screenshots`` (default
``test-artifacts/screenshots``).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import acd
from callcenter.customers.services import CustomerService
from callcenter.wallboard.services import WallboardService
from tests.support import webstack as ws

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1440, "height": 900}


async def open_page(browser, *, locale: str = "zh-CN", timezone_id: str | None = None):
    context = await browser.new_context(locale=locale, viewport=VIEWPORT,
                                        device_scale_factor=1, timezone_id=timezone_id)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


async def login(page, stack, path: str, username: str) -> None:
    await page.goto(stack.url(path))
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", ws.PASSWORDS[username])
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")


async def until(check, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_agent_goes_ready_gets_the_screen_pop_and_wraps_up(web_stack, browser, screenshots):
    stack = web_stack
    store = stack.deps.store
    customer, _call, _chat = await stack.seed_history()
    page = await open_page(browser)
    await login(page, stack, "/agent", "zhangwei")
    await page.wait_for_selector("#softphone dd")  # the console's data, after the page shows
    assert "1001" in await page.text_content("#softphone")
    # The SIP password is there for the softphone, hidden until asked for.
    assert "dev-sip-1001" not in await page.text_content("#softphone")
    await page.click("#softphone .show-secret")
    assert "dev-sip-1001" in await page.text_content("#softphone")
    await page.click("#softphone button.provisioning")  # Linphone's one-time set-up link
    await page.wait_for_function("() => document.querySelector('.provisioning-url')"
                                 ".textContent.includes('/provisioning/linphone/')")

    # Sign in to the phone, then go ready.
    await page.select_option("#device", "1001")
    await page.click("#signin")
    await page.wait_for_selector("#state-badge.st-not_ready")
    await page.click("#go-ready")
    await page.wait_for_selector("#state-badge.st-ready")
    assert stack.deps.routing.agent("zhangwei").state.value == "ready"

    # Screen-pop latency: offers published on the bus as the voice adapter does.
    caller = await stack.customer("刘女士", phone="13900002222")
    latencies, observed = [], []
    for i in range(7):
        interaction = await store.create_interaction(
            "voice", medium="pstn", customer_id=caller, queue="sales",
            arrived_at=stack.clock() - 12, caller_masked="13900002222",
            ivr_choices=[{"node": "welcome", "kind": "language", "pressed": "1",
                          "value": "zh", "label": "普通话"},
                         {"node": "main", "kind": "menu", "pressed": "1",
                          "value": "to_sales", "label": "产品咨询"}],
            attributes={"dialed": "4008001234", "label": {"zh": "销售热线", "en": "Sales"}})
        pop = await stack.need(CustomerService).screen_pop(interaction.id)
        offer_id = f"latency-{i}"
        published = time.time()
        stack.deps.bus.publish("agent.offer", {
            "offer_id": offer_id, "task_id": interaction.id, "channel": "voice",
            "queue": "sales", "deadline": stack.clock() + 15, "pop": pop},
            at=stack.clock(), agent_id="zhangwei", queue="sales")
        await page.wait_for_selector(f"[data-offer-id='{offer_id}']")
        observed.append(time.time() - published)  # includes Playwright's round trips
        mark = await page.wait_for_function("id => window.__cc.pops[id]", arg=offer_id)
        shown = (await mark.json_value())["shown"] / 1000
        latencies.append(shown - published)
        if i < 6:
            stack.deps.bus.publish("agent.offer_withdrawn", {"offer_id": offer_id},
                                   at=stack.clock(), agent_id="zhangwei")
            await page.wait_for_selector(f"[data-offer-id='{offer_id}']", state="detached")
    ms = sorted(x * 1000 for x in latencies)
    print(f"\nscreen-pop latency, bus publish -> card painted (ms): {[round(x, 1) for x in ms]}"
          f" median {statistics.median(ms):.1f} max {ms[-1]:.1f} (target < 100);"
          f" seen by the test through Playwright: median "
          f"{statistics.median(observed) * 1000:.1f} ms")
    assert statistics.median(ms) < 100, ms
    card = page.locator("[data-offer-id='latency-6']")
    text = await card.text_content()
    assert "刘女士" in text and "139****2222" in text
    assert "产品咨询" in text  # the IVR path
    dialled = await card.locator(".dialled").text_content()  # which 400 line was dialled
    assert "拨入号码" in dialled and "4008001234" in dialled and "销售热线" in dialled
    assert "请接听您的话机" in text  # a call is answered on the phone, not on the page
    # The call is over for this test: the adapter withdraws it.
    stack.deps.bus.publish("agent.offer_withdrawn", {"offer_id": "latency-6"},
                           at=stack.clock(), agent_id="zhangwei")
    await card.wait_for(state="detached")

    # A WeChat chat from the same customer through the real engine: the card has history.
    task = await stack.chat_arrives("sales", customer, medium="wechat",
                                    first_message="你好，我想了解企业版")
    card = page.locator(f"article.offer[data-task-id='{task}']")
    await card.wait_for()
    text = await card.text_content()
    assert "王小明" in text and "138****5678" in text and "13812345678" not in text
    assert "客户反映路由器无法联网" in text  # the earlier call's summary
    assert "请问企业版多少钱？可以开发票吗？" in text  # the earlier WeChat chat
    assert "你好，我想了解企业版" in text  # what the customer wrote in this chat
    items = card.locator(".timeline li")
    assert await items.count() == 2
    assert "微信" in await items.nth(0).text_content()  # newest first: the chat
    assert "电话" in await items.nth(1).text_content()
    await page.screenshot(path=str(screenshots / "agent-console.png"), full_page=True,
                          animations="disabled")

    # Accept it from the card; the chat ends; the wrap-up form comes with the summary.
    await card.locator("button.ok").click()
    await page.wait_for_selector(f"article.offer[data-task-id='{task}'].connected")
    await stack.deps.routing.flush()
    stack.end_chat(task, "zhangwei")
    form = page.locator(f"form.wrapup[data-task-id='{task}']")
    await form.wait_for()
    await card.wait_for(state="detached")
    assert "已下单" in await form.text_content()  # the queue's disposition labels, in zh
    # Nothing the product will not do here: no summary promised for a chat; chats, as
    # she takes them.
    assert await form.locator(".summary-field").is_hidden()
    assert await page.locator("#chats").count() == 1
    stack.deps.bus.publish("interaction.summary", {
        "task_id": task, "text": "客户咨询企业版价格与发票，已发送报价单，约定周五回访。"},
        at=stack.clock())
    await form.locator(".summary-box:not(.pending)").wait_for()
    await form.locator("label", has_text="已报价").click()
    await form.locator("textarea[name=notes]").fill("周五上午回访，确认是否下单。")
    await page.screenshot(path=str(screenshots / "agent-wrapup.png"), full_page=True,
                          animations="disabled")
    await form.locator("button[type=submit]").click()
    await form.wait_for(state="detached")
    interaction = await store.get_interaction(task)
    assert interaction.disposition == "quote_sent"
    assert interaction.notes == "周五上午回访，确认是否下单。"

    # The language switch: English everywhere, without a reload.
    await page.click("#app [data-action=lang]")
    await page.wait_for_function(
        "() => document.querySelector('#state-badge').textContent.includes('Ready')")
    assert "Softphone settings" in await page.text_content("#app")
    assert not page.errors, page.errors


async def test_wallboard_counts_change_live(web_stack, browser, screenshots):
    stack = web_stack
    await stack.seed_day()
    for agent, body in (("wangfang", {"device": None, "ready": True}),  # chats only today
                        ("liuyang", {"device": "1004"}), ("chenjing", {"ready": True})):
        client = await stack.client(agent)
        async with client.post("/api/agent/login", json=body) as response:
            assert response.status == 200
    liuyang = await stack.client("liuyang")
    async with liuyang.post("/api/agent/state", json={"state": "not_ready",
                                                      "reason": "lunch"}):
        pass
    page = await open_page(browser, timezone_id="America/New_York")  # not the center's
    await login(page, stack, "/wallboard", "zhaolei")
    tile = page.locator("[data-queue='vip']")
    await tile.wait_for()
    assert await tile.locator("[data-k=waiting]").text_content() == "0"
    support_chats = page.locator("[data-queue='support'] [data-k=chat-offered]")
    before = int(await support_chats.text_content())
    answered_before = int(await page.locator(
        "[data-queue='support'] [data-k=chat-answered]").text_content())

    # A VIP call waits (nobody with a phone is ready for VIP): waiting goes to 1, live.
    call = await stack.deps.store.create_interaction("voice", queue="vip",
                                                     arrived_at=stack.clock())
    stack.deps.routing.arrive(acd.Task(id=call.id, channel="voice", queue="vip",
                                       arrival=stack.clock()))
    await page.wait_for_function(
        "() => document.querySelector(\"[data-queue='vip'] [data-k=waiting]\")"
        ".textContent === '1'")
    # ... and the tile says why: no ready agent may take it.
    assert await tile.locator("[data-k=no-eligible]").text_content() == "1 位在等待，无可接待坐席"
    assert await page.locator("[data-queue='support'] [data-k=no-eligible]").count() == 0
    # A support chat arrives, Wang Fang takes it: offered and answered go up, she is busy.
    await stack.chat_arrives("support", None)
    offer_id = stack.deps.routing.agent("wangfang").offers[0]
    wang = await stack.client("wangfang")
    async with wang.post(f"/api/agent/offers/{offer_id}/accept") as response:
        assert response.status == 200
    await page.wait_for_function(
        "([sel, n]) => Number(document.querySelector(sel).textContent) === n",
        arg=["[data-queue='support'] [data-k=chat-answered]", answered_before + 1])
    assert int(await support_chats.text_content()) == before + 1
    await page.wait_for_selector("tr[data-agent='wangfang'] .st-busy")
    await page.wait_for_selector("tr[data-agent='liuyang'] .st-not_ready")
    assert "午餐" in await page.text_content("tr[data-agent='liuyang']")
    assert await page.locator("tr[data-agent='zhangwei']").count() == 0  # not his team
    # the day's intervals of zhaolei's queues, drawn by ECharts on its canvas: a bar for
    # each interval and count that is not zero
    board = stack.need(WallboardService)
    sums: dict[float, list[int]] = {}
    for row in board.snapshot()["intervals"]:
        if row["queue"] in ("support", "vip"):
            sums.setdefault(row["start"], [0, 0, 0])
            for i, k in enumerate(("entered", "answered", "abandoned")):
                sums[row["start"]][i] += row[k]
    bars = sum(1 for counts in sums.values() for n in counts if n)
    assert bars >= 2  # at least the chat just entered and answered
    async with asyncio.timeout(5):
        while await page.evaluate("() => window.__cc.chart && window.__cc.chart.bars") != bars:
            await asyncio.sleep(0.05)
    assert await page.locator("#chart canvas").count() >= 1
    # Hours, on the chart and the clock, are the contact center's (callcenter.yaml's
    # Asia/Shanghai), not the browser's (New York).
    zone = ZoneInfo(stack.config.callcenter.timezone)
    labels = await page.evaluate("() => window.__cc.chart.labels")
    assert labels and all(label == f"{datetime.fromtimestamp(start, zone):%H:%M}"
                          for start, label in labels)
    shown = (await page.text_content("#clock")).split(":")[:2]
    near = {f"{datetime.fromtimestamp(stack.clock() - lag, zone):%H:%M}" for lag in (0, 2)}
    assert ":".join(shown) in near, (shown, near)
    await page.wait_for_timeout(300)
    await page.screenshot(path=str(screenshots / "wallboard.png"), full_page=True,
                          animations="disabled")
    assert not page.errors, page.errors


async def test_a_status_read_from_before_the_sign_in_does_not_undo_it(web_stack, browser):
    """The console's reads and actions can cross on a busy machine: a status the server
    read before the agent signed in, delivered after the sign-in's answer, put the page
    back to "logged out" with Ready disabled for good. The page keeps the newest."""
    page = await open_page(browser, locale="en-US")
    reads = 0
    held = asyncio.Event()
    release = asyncio.Event()

    async def console_read(route):
        nonlocal reads
        response = await route.fetch()  # the server reads the agent's status now
        reads += 1
        if reads != 2:  # the first read, then the one the live link makes as it opens
            await route.fulfill(response=response)
            return
        body = await response.json()
        assert body["status"]["state"] == "logged_out"
        body["profile"]["extension"] = "1999"  # shows in the device list once applied
        held.set()
        await release.wait()
        await route.fulfill(response=response, json=body)

    await page.route("**/api/agent/console", console_read)
    await login(page, web_stack, "/agent", "zhangwei")
    await until(held.is_set, timeout=10)
    await page.click("#signin")
    await page.wait_for_selector("#state-badge.st-not_ready")
    release.set()
    await page.wait_for_selector("#device option[value='1999']", state="attached")
    assert await page.get_attribute("#state-badge", "class") == "pill state-badge st-not_ready"
    await page.click("#go-ready", timeout=5000)
    await page.wait_for_selector("#state-badge.st-ready")
    assert web_stack.deps.routing.agent("zhangwei").state.value == "ready"
    assert not page.errors, page.errors


async def test_an_agent_who_takes_no_chats_gets_no_chat_workspace(web_stack, browser):
    page = await open_page(browser)
    await login(page, web_stack, "/agent", "zhaolei")  # capacity chat: 0
    await page.wait_for_selector("#speech-search")  # the page is mounted
    assert await page.locator("#chats").count() == 0
    assert not page.errors, page.errors


async def test_admin_sees_a_validation_error_with_its_line(web_stack, browser, screenshots):
    stack = web_stack
    page = await open_page(browser)
    await login(page, stack, "/admin", "admin")
    await page.click("#tabs button[data-file='queues.yaml']")
    area = page.locator("#text")
    await page.wait_for_function(  # the tab's file, not the one shown before it
        "() => document.querySelector('#text').value.includes('strategy: best_skill')")
    original = await area.input_value()
    broken = original.replace("strategy: best_skill", "strategy: fastest_first", 1)
    line = broken[:broken.index("fastest_first")].count("\n") + 1
    await area.fill(broken)
    await page.click("#validate")
    issue = page.locator(".issue.error").first
    await issue.wait_for()
    assert (await issue.locator(".where").text_content()).startswith(f"queues.yaml:{line}:")
    assert "strategy" in await issue.text_content()
    assert "err" in await page.locator("#gutter div").nth(line - 1).get_attribute("class")
    await issue.click()  # jumps to the line
    await page.screenshot(path=str(screenshots / "admin.png"), full_page=True,
                          animations="disabled")
    # Apply refuses it and the config in force stays.
    before = stack.config
    await page.click("#apply")
    await page.wait_for_selector(".toast-error")
    assert stack.config is before
    # A good edit is applied and shows in the change history.
    await area.fill(original.replace("wrapup_seconds: 20", "wrapup_seconds: 25", 1))
    await page.click("#validate")
    await page.wait_for_selector("#verdict.ok")
    await page.click("#apply")
    await page.wait_for_selector("#changes td:has-text('queues.yaml')")
    assert stack.config.queues["support"].wrapup_seconds == 25
    assert "admin" in await page.text_content("#changes")
    assert not page.errors, page.errors


async def test_index_lists_consoles_and_api(web_stack, browser, screenshots):
    page = await open_page(browser, locale="en-US")
    await page.goto(web_stack.url("/"))
    await page.wait_for_selector("#api tr:has-text('/api/agent/state')")
    assert "Agent console" in await page.text_content("#consoles")
    await page.screenshot(path=str(screenshots / "index.png"), full_page=True,
                          animations="disabled")
    assert not page.errors, page.errors


async def test_agent_takes_a_voice_message_plays_it_and_finishes_it(
        web_stack, browser, screenshots, tmp_path):
    """The card of a message a caller left: accept, play (the recording is served to this
    agent), call back (no telephone here: said so), done: the wrap-up form follows."""
    import wave

    import numpy as np

    from callcenter.voice.messages import CHANNEL

    stack = web_stack
    store = stack.deps.store
    caller = await stack.customer("周先生", phone="13900003333")
    message = await store.create_interaction(
        CHANNEL, medium="voicemail", customer_id=caller, queue="sales",
        arrived_at=stack.clock() - 600, caller_masked="13900003333")
    path = tmp_path / f"{message.id}-message.wav"
    samples = (np.sin(np.arange(16000) * 2 * np.pi * 440 / 8000) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())
    await store.add_recording(message.id, str(path), status="complete",
                              size=path.stat().st_size)
    page = await open_page(browser, locale="en-US")
    await login(page, stack, "/agent", "zhangwei")
    await page.click("#signin")
    await page.wait_for_selector("#state-badge.st-not_ready")
    await page.click("#go-ready")
    await page.wait_for_selector("#state-badge.st-ready")

    assert stack.deps.routing.arrive(acd.Task(
        id=message.id, channel=CHANNEL, queue="sales", arrival=stack.clock() - 600)) is None
    card = f"article.offer[data-task-id='{message.id}']"
    await page.wait_for_selector(card)
    assert "Voice message" in await page.text_content(card)
    await page.click(f"{card} button.ok")
    await page.wait_for_selector(f"{card} audio.message-audio")
    served = await page.evaluate(
        "async (src) => { const r = await fetch(src); "
        "return [r.status, r.headers.get('content-type'), (await r.arrayBuffer()).byteLength]; }",
        await page.get_attribute(f"{card} audio.message-audio", "src"))
    assert served == [200, "audio/wav", path.stat().st_size]
    await page.click(f"{card} button.message-callback")
    await page.wait_for_selector(".toast")  # no telephone system here: the reason shows
    await page.screenshot(path=str(screenshots / "agent-voice-message.png"))
    await page.click(f"{card} button.message-done")
    await page.wait_for_selector(card, state="detached")
    await page.wait_for_selector(f"form.wrapup[data-task-id='{message.id}']")
    assert not page.errors, page.errors
