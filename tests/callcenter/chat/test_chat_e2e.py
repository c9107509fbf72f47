"""End to end (tier 3): the real engine, the real local Asterisk with pyVoIP phones,
headless Chromium for the agent's console, the widget and the wallboard, and the WeChat
stand-in on loopback in secure mode.

1. A WeChat text and a web chat reach an agent who is on a real voice call (the one
   whose agents.yaml lets chats in during a call; the other agent on a call gets none),
   the agent's replies reach the stand-in and the visitor's browser, the blending guard
   holds a new chat back while a call waits too long, and the wallboard counts them.
2. WeChat closes the customer's window (45015, then over the quota: 45047): the agent
   sees it in their browser, why and what to do, and the one-click voice callback rings
   the agent's phone and then the customer's; the customer's next message opens it again.
"""

from __future__ import annotations

import asyncio

import pytest

from callcenter.app import App, AsteriskSite
from callcenter.config import ConfigStore
from tests.support import voice
from tests.support.chat import (
    Console,
    RemoteStack,
    company_site,
    login,
    new_page,
    ready_in_browser,
    widget_chat,
)
from tests.support.wechat import wechat_section
from tests.support.wechat_standin import WeChatStandIn, text_xml

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]

FOLLOWER = "oE2eFollower00000000000000x1"
SECOND = "oE2eFollower00000000000000x2"


@pytest.fixture
async def standin():
    async with WeChatStandIn() as server:
        yield server


async def start_app(tmp_path, asterisk, standin, site: str | None = None) -> App:
    directory = voice.make_config(tmp_path, asterisk, lambda queues: queues["sales"].update(
        blend={"protect_voice_after_seconds": 2}))

    def chat(data: dict) -> None:
        wechat_section(standin)(data)
        data["chat"]["web"]["allowed_origins"] = [site] if site else []

    voice.edit_yaml(directory / "callcenter.yaml", chat)
    app = App(ConfigStore.open(directory), web=True, demo=True,
              site=AsteriskSite(host_root=str(asterisk.root), files_dir=asterisk.instance_inside,
                                cli=asterisk.cli))
    await app.start()
    await voice.wait_until(lambda: app.link.is_up, what="AMI link")
    return app


def holding(app: App, agent: str, channel: str) -> int:
    view = app.routing.agent(agent)
    return view.holding.get(channel, 0) if view else 0


async def test_wechat_and_web_chats_reach_an_agent_on_a_call_and_the_wallboard_counts_them(
        tmp_path, asterisk, phones, browser, standin, screenshots):
    runner, site, where = await company_site()
    app = await start_app(tmp_path, asterisk, standin, site)
    remote = RemoteStack(app.web_port)
    where["engine"] = remote.origin
    wechat = remote.url("/chat/wechat")
    try:
        await phones("1001", "dev-sip-1001", auto_answer=True)
        await phones("1002", "dev-sip-1002", auto_answer=True)
        zhangwei = await Console.open(remote, "zhangwei")  # no chats during a call
        await zhangwei.sign_in("1001")
        agent = await new_page(browser)  # lina: chat_while_voice
        await ready_in_browser(agent, remote, "lina", "1002")
        offers = app.bus.subscribe(lambda e: e.topic == "agent.offer"
                                   and e.data["channel"] == "chat")

        calls = []
        for _ in range(2):  # both agents on a real call
            calls.append(await voice.dial_queue(await phones("caller", "caller"), "sales"))
        await voice.wait_until(lambda: holding(app, "lina", "voice") == 1
                               and holding(app, "zhangwei", "voice") == 1
                               and all(c.bridged for c in app.voice.calls.values()),
                               timeout=30, what="both agents talking")

        # A WeChat text (secure mode), accepted from the card on the agent's page.
        assert (await standin.push(wechat, text_xml(FOLLOWER, "微信：企业版多少钱？", 1),
                                   mode="secure")).ok
        card = agent.locator("article.offer.chat:not(.connected)")
        await card.wait_for(timeout=10000)
        await card.locator("button.ok").click()
        wx_pane = agent.locator("article.cpane", has_text="微信：企业版多少钱？")
        await wx_pane.wait_for()

        # A web chat from the company's site, in a real browser.
        visitor, widget = await widget_chat(browser, site, name="网页访客",
                                            message="网页：能开发票吗？")
        card = agent.locator("article.offer.chat:not(.connected)")
        await card.wait_for(timeout=10000)
        await card.locator("button.ok").click()
        web_pane = agent.locator("article.cpane", has_text="网页：能开发票吗？")
        await web_pane.wait_for()
        assert holding(app, "lina", "voice") == 1 and holding(app, "lina", "chat") == 2
        assert holding(app, "zhangwei", "chat") == 0  # on a call: no chats for him

        # The agent's replies reach WeChat (through the stand-in, with a live token) and
        # the visitor's browser.
        await wx_pane.locator("textarea").fill("企业版每年 999 元。")
        await wx_pane.locator("button[data-action=send]").click()
        await wx_pane.locator(".cmsg.out .cmeta", has_text="已发送").wait_for()
        [sent] = standin.sends
        assert (sent.touser, sent.payload["text"]["content"]) == (FOLLOWER, "企业版每年 999 元。")
        assert standin.api_errors == [] and standin.token_requests == 1
        await web_pane.locator("textarea").fill("可以开增值税发票。")
        await web_pane.locator("button[data-action=send]").click()
        await widget.locator(".msg.agent .bubble", has_text="可以开增值税发票。").wait_for()

        # The blending guard: a call waits past protect_voice_after_seconds (2 s), so a new
        # chat is not offered although the agent has chat capacity left...
        third = await voice.dial_queue(await phones("caller", "caller"), "sales")
        await voice.wait_until(lambda: any(not c.connected and c.holding
                                           for c in app.voice.calls.values()),
                               timeout=15, what="a third caller waiting")
        await asyncio.sleep(2.5)
        assert (await standin.push(wechat, text_xml(SECOND, "还有人吗？", 2), mode="secure")).ok
        await asyncio.sleep(2.0)
        await app.routing.flush()
        waiting_chats = [t for t in app.routing.waiting("sales") if t.channel == "chat"]
        assert len(waiting_chats) == 1 and holding(app, "lina", "chat") == 2
        # ... until the call stops waiting.
        await asyncio.to_thread(third.hangup)
        card = agent.locator("article.offer.chat:not(.connected)")
        await card.wait_for(timeout=10000)
        await card.locator("button.ok").click()
        await agent.locator("article.cpane", has_text="还有人吗？").wait_for()

        chat_offers = []
        while not offers.queue.empty():
            chat_offers.append(offers.queue.get_nowait().agent_id)
        assert chat_offers == ["lina", "lina", "lina"]

        board = await new_page(browser)
        await login(board, remote, "/wallboard", "zhaolei")
        sales = board.locator("section.tile[data-queue='sales']")
        await sales.locator("[data-k='chat-answered']", has_text="3").wait_for(timeout=5000)
        assert await sales.locator("[data-k='voice-answered']").text_content() == "2"
        await agent.screenshot(path=str(screenshots / "chat-e2e-agent.png"), full_page=True)
        await board.screenshot(path=str(screenshots / "chat-e2e-wallboard.png"), full_page=True)
        for call in calls:
            await asyncio.to_thread(call.hangup)
        assert not agent.errors and not visitor.errors and not board.errors
    finally:
        await remote.close()
        await app.stop()
        await runner.cleanup()


async def test_a_closed_wechat_window_and_the_voice_callback(tmp_path, asterisk, phones,
                                                            pstn, browser, standin,
                                                            screenshots):
    app = await start_app(tmp_path, asterisk, standin)
    remote = RemoteStack(app.web_port)
    try:
        number = "13800138000"
        customer = await app.store.find_or_create_customer("phone", number, name="王女士")
        await app.store.link_identity(customer.id, "wechat_openid", FOLLOWER)
        agent_phone = await phones("1002", "dev-sip-1002", auto_answer=True)
        customer_phone = await pstn(number, auto_answer=True)  # called through the trunk
        agent = await new_page(browser)
        await ready_in_browser(agent, remote, "lina", "1002")
        wechat = remote.url("/chat/wechat")
        assert (await standin.push(wechat, text_xml(FOLLOWER, "明天再联系", 3), mode="secure")).ok
        card = agent.locator("article.offer.chat:not(.connected)")
        await card.wait_for(timeout=10000)
        await card.locator("button.ok").click()
        pane = agent.locator("article.cpane", has_text="明天再联系")
        await pane.wait_for()
        banner = pane.locator(".cwindow")

        cases = ((45015, "距客户上次发消息已超过 48 小时", "48 小时内"),
                 (45047, "客服消息条数已用完", "已用完"))
        for n, (errcode, why, advice) in enumerate(cases):
            standin.close_window(FOLLOWER, errcode)
            await pane.locator("textarea").fill(f"好的，明天联系您。({errcode})")
            await pane.locator("button[data-action=send]").click()
            await pane.locator(".cmsg.out .cmeta", has_text="未送达").nth(n).wait_for()
            await banner.locator("strong", has_text=why).wait_for()  # why, and what to do
            assert advice in await banner.locator(".cadvice").text_content()
            if n == 0:
                await agent.screenshot(path=str(screenshots / "chat-window-closed.png"),
                                       full_page=True)
            async with agent.expect_response(lambda r: r.url.endswith("/callback")) as info:
                await banner.locator("button[data-action=callback]").click()  # one click
            queued = await (await info.value).json()
            assert queued["queue"] == "sales" and number not in queued["number"]
            await voice.wait_until(lambda n=n: len(agent_phone.incoming) == n + 1, timeout=15,
                                   what="the agent's phone first")
            await voice.wait_until(lambda n=n: len(customer_phone.incoming) == n + 1,
                                   timeout=15, what="then the customer's phone")

            async def answered(task: str = queued["task_id"]) -> bool:
                record = await app.store.get_interaction(task)
                return record.answered_at is not None and record.agent_id == "lina"

            await voice.eventually(answered, timeout=15, what="the callback answered by lina")
            assert await app.store.list_pending_callbacks("sales") == []
            await asyncio.to_thread(customer_phone.incoming[n].hangup)
            # The follower writes again: the window is open again, the banner goes.
            standin.closed_windows.clear()
            assert (await standin.push(wechat, text_xml(FOLLOWER, f"我又来了 {n}", 10 + n),
                                       mode="secure")).ok
            await pane.locator(".cmsg.in .cbubble", has_text=f"我又来了 {n}").wait_for()
            await banner.wait_for(state="hidden")
        assert standin.sends == [] and not agent.errors, agent.errors
    finally:
        await remote.close()
        await app.stop()
