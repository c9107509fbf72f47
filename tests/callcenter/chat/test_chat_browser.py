"""The widget and the chat workspace in real headless Chromium: a company page on another
origin embeds the widget with one script tag; the visitor and the agent chat in their
browsers; a reload and a spell offline lose and double nothing; a site that is not
allowed cannot frame the widget; a supervisor reads a chat from the wallboard and joins;
the agent's workspace (two chats, images both ways, merge and undo beside the history,
transfer, end with a disposition), the transcript e-mailed, and the widget in English.
"""

from __future__ import annotations

import asyncio
import struct
import zlib

import pytest

from tests.support import webstack as ws
from tests.support.chat import (
    Console,
    Visitor,
    always_open,
    chat_with_agent,
    company_site,
    login,
    new_page,
    ready_in_browser,
    set_chat,
    widget_chat,
)
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.browser

async def test_a_visitor_on_a_company_site_chats_with_an_agent_in_the_console(
        make_stack, browser, screenshots):
    runner, site, where = await company_site()
    try:
        stack = await make_stack(queues=always_open,
                                 callcenter=set_chat(allowed_origins=[site]))
        where["engine"] = stack.origin
        agent = await new_page(browser)
        await ready_in_browser(agent, stack, "zhangwei")  # chats only

        visitor, widget = await widget_chat(browser, site, name="王小明", phone="13812345678",
                                            message="你好，想了解企业版")
        await widget.locator("#subtitle", has_text="正在为您接通客服").wait_for()

        card = agent.locator("article.offer.chat:not(.connected)")
        await card.wait_for()
        assert "你好，想了解企业版" in await card.text_content()
        await card.locator("button.ok").click()  # accept, from the card
        pane = agent.locator("article.cpane")
        await pane.wait_for()
        await agent.locator("article.offer.chat.connected").wait_for()  # the card says so
        await widget.locator("#subtitle", has_text="张伟 为您服务").wait_for()
        assert "王小明" in await pane.locator(".ctitle").text_content()

        # Typing, both ways (the agent's page never shows the agent's own).
        await widget.locator("#text").press_sequentially("企业版多少钱？")
        await pane.locator(".ctyping", has_text="客户正在输入").wait_for()
        await pane.locator("textarea").press_sequentially("稍等")
        await widget.locator("#typing:not([hidden])", has_text="客服正在输入").wait_for()
        await asyncio.sleep(0.5)
        assert "张伟" not in (await pane.locator(".ctyping").text_content() or "")
        assert "zhangwei" not in (await pane.locator(".ctyping").text_content() or "")
        await pane.locator("textarea").fill("")
        await widget.locator("#send").click()
        await pane.locator(".cmsg.in .cbubble", has_text="企业版多少钱？").wait_for()
        await pane.locator(".ccanned button", has_text="企业版每年 999 元").click()  # canned
        await pane.locator("button[data-action=send]").click()
        await widget.locator(".msg.agent .bubble", has_text="企业版每年 999 元").wait_for()
        await pane.locator(".cmsg.out .cmeta", has_text="已读").wait_for()  # the visitor saw it
        await widget.locator(".msg.visitor .meta", has_text="已读").first.wait_for()
        await visitor.screenshot(path=str(screenshots / "chat-widget.png"))
        await agent.screenshot(path=str(screenshots / "chat-workspace.png"), full_page=True)

        # A reload, and a spell offline: nothing lost, nothing twice.
        await visitor.reload()
        widget = visitor.frame_locator("#cc-chat-frame")
        await widget.locator(".msg.agent .bubble", has_text="企业版每年 999 元").wait_for()
        await visitor.context.set_offline(True)
        await widget.locator("#text").fill("断网时发的消息")
        await widget.locator("#send").click()
        await widget.locator(".msg.visitor.pending").wait_for()
        await asyncio.sleep(0.5)
        await visitor.context.set_offline(False)
        await widget.locator(".msg.visitor.pending").wait_for(state="detached", timeout=15000)
        await pane.locator(".cmsg.in .cbubble", has_text="断网时发的消息").wait_for()
        conversation = (await stack.deps.store.open_conversations())[0].id
        bodies = [m.body for m in await stack.deps.store.conversation_messages(conversation)]
        assert bodies == ["你好，想了解企业版", "企业版多少钱？",
                          "企业版每年 999 元，可以开具增值税发票。", "断网时发的消息"]
        assert len(await widget.locator(".msg .bubble").all()) == 4

        # The agent ends it: the wrap-up form; the visitor rates it.
        await pane.locator("button[data-action=end]").click()
        await agent.locator("form.wrapup").wait_for()
        await widget.locator("#done:not([hidden])").wait_for()
        await widget.locator("#stars button").nth(4).click()
        await widget.locator("#rate-send").click()
        await widget.locator("#rating", has_text="感谢您的评价").wait_for()
        assert (await stack.deps.store.get_conversation(conversation)).rating == 5
        assert not agent.errors and not visitor.errors, (agent.errors, visitor.errors)
    finally:
        await runner.cleanup()


async def test_a_site_that_is_not_allowed_cannot_frame_the_widget(make_stack, browser):
    runner, site, where = await company_site()
    try:
        stack = await make_stack(queues=always_open,
                                 callcenter=set_chat(allowed_origins=["https://shop.example.com"]))
        where["engine"] = stack.origin
        page = await new_page(browser)
        blocked = asyncio.get_running_loop().create_future()
        page.on("console", lambda m: "frame-ancestors" in m.text and not blocked.done()
                and blocked.set_result(m.text))
        await page.goto(site + "/")
        await page.click("#cc-chat-widget button.button")
        assert "frame-ancestors" in await asyncio.wait_for(blocked, 10)
        frame = page.frame_locator("#cc-chat-frame")
        with pytest.raises(Exception):  # noqa: B017 - the form never shows
            await frame.locator("#prechat").wait_for(timeout=1500)
    finally:
        await runner.cleanup()


async def test_a_supervisor_reads_a_chat_from_the_wallboard_and_joins(make_stack, browser):
    stack = await make_stack(queues=always_open)
    _wangfang, visitor, conv = await chat_with_agent(stack, "wangfang", "help",
                                                     message="手机屏幕碎了")
    board = await new_page(browser)
    await login(board, stack, "/wallboard", ws.SUPERVISOR)
    chip = board.locator("tr[data-agent='wangfang'] .chip[data-channel=chat]")
    await chip.click()
    reader = board.locator("#chats.reader article.cpane")
    await reader.locator(".cbubble", has_text="手机屏幕碎了").wait_for()
    await visitor.say("能修吗？")
    await reader.locator(".cbubble", has_text="能修吗？").wait_for()  # live
    await reader.locator("button[data-action=join]").click()
    await reader.locator("textarea").fill("我是主管，可以修。")
    await reader.locator("button[data-action=send]").click()
    heard = await visitor.hear("我是主管，可以修。")
    assert heard["name"] == "赵磊"
    assert conv["id"] == visitor.conversation
    assert not board.errors, board.errors


def png(width: int = 48, height: int = 32) -> bytes:
    """A real (tiny, red) PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def test_the_agents_chat_workspace(make_stack, browser, screenshots):
    """Two chats side by side within capacity, images both ways, the customer's history
    beside the chat after a merge (and gone again after the undo), a transfer to a named
    agent from the pane, the end with a disposition; the widget in English."""
    runner, site, where = await company_site()
    smtp = await SmtpServer().__aenter__()
    try:
        stack = await make_stack(queues=always_open, callcenter=set_chat(**{
            "allowed_origins": [site], "transcript_email.enabled": True,
            "transcript_email.smtp_port": smtp.port}))
        where["engine"] = stack.origin
        await stack.seed_history()  # 王小明, 13812345678, an earlier call and chat
        wangfang = await Console.open(stack, "wangfang")
        await wangfang.sign_in()
        agent = await new_page(browser)
        await ready_in_browser(agent, stack, "zhangwei")  # chats: 2 at once

        visitor, widget = await widget_chat(browser, site, name="小明", phone="13812345678",
                                            email="xm@example.cn", message="路由器又坏了")
        await agent.locator("article.offer.chat:not(.connected) button.ok").click()
        first = agent.locator("article.cpane", has_text="路由器又坏了")
        await first.wait_for()
        second_visitor = await Visitor.open(stack)
        await second_visitor.start("buy", name="李四", message="想买企业版")
        await second_visitor.connect()
        await agent.locator("article.offer.chat:not(.connected) button.ok").click()
        second = agent.locator("article.cpane", has_text="想买企业版")
        await second.wait_for()
        assert await agent.locator("article.cpane").count() == 2  # side by side

        # The visitor gave a phone a known customer owns: merge, the history shows; undo.
        pop = first.locator("aside.cpop")
        assert "没有历史记录" in await pop.text_content()
        await first.locator(".csuggest", has_text="138****5678").wait_for()
        await first.locator("button[data-action=merge]").click()
        await pop.locator(".cpop-item").first.wait_for()
        assert "路由器无法联网" in await pop.text_content()  # the earlier call's summary
        await first.locator("button[data-action=undo]").click()
        await pop.locator("p.muted", has_text="没有历史记录").wait_for()

        # Images both ways.
        image = png()
        await widget.locator("#attach").set_input_files(
            files=[{"name": "router.png", "mimeType": "image/png", "buffer": image}])
        shown = first.locator(".cmsg.in img[alt='router.png']")
        await shown.wait_for()
        assert await shown.evaluate("img => img.complete && img.naturalWidth") == 48
        await first.locator("input[type=file]").set_input_files(
            files=[{"name": "steps.png", "mimeType": "image/png", "buffer": image}])
        await widget.locator(".msg.agent img[alt='steps.png']").wait_for()

        # Transfer the second chat to a named agent from its pane.
        await second.locator("select[data-action=transfer]").select_option("agent:wangfang")
        taken = await wangfang.accept_next()
        assert taken["id"] == second_visitor.conversation
        await second.wait_for(state="detached")
        await agent.screenshot(path=str(screenshots / "chat-workspace-tools.png"),
                               full_page=True)

        # End with a disposition.
        task_id = await first.get_attribute("data-task-id")
        await first.locator("button[data-action=end]").click()
        form = agent.locator(f"form.wrapup[data-task-id='{task_id}']")
        await form.locator("input[value=order_placed]").check()
        await form.locator("button[type=submit]").click()
        await form.wait_for(state="detached")
        record = await stack.deps.store.get_interaction(task_id)
        assert record.disposition == "order_placed" and record.agent_id == "zhangwei"
        # The visitor has the transcript e-mailed to the address they gave.
        await widget.locator("#mail", has_text="发送到邮箱 x****@example.cn").click()
        await widget.locator("#mail", has_text="已发送到 x****@example.cn").wait_for()
        [mail] = smtp.received
        assert mail.recipients == ["xm@example.cn"] and "路由器又坏了" in mail.message.get_content()
        assert not agent.errors and not visitor.errors, (agent.errors, visitor.errors)

        # The widget in English (the site's data-lang, or the visitor's language button).
        english = await new_page(browser)
        await english.goto(stack.url("/chat/widget?lang=en&topic=buy"))
        await english.locator("#prechat button[type=submit]", has_text="Start chat").wait_for()
        await english.locator("#lang").click()
        await english.locator("#prechat button[type=submit]", has_text="开始咨询").wait_for()
        assert not english.errors
    finally:
        await smtp.close()
        await runner.cleanup()
