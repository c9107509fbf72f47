"""The speech parts of the consoles in headless Chromium (tier 2, no Asterisk): the
wallboard's speech figures and flagged calls confirmed from the page; an agent's call
search and transcript, numbers masked."""

from __future__ import annotations

import pytest

from tests.support.speech import REFUND, RUDE, console_page, written_call

pytestmark = pytest.mark.browser


async def test_wallboard_flags_and_agent_search(web_stack, browser, screenshots) -> None:
    refund = await written_call(web_stack, REFUND, agent_id="wangfang")
    rude = await written_call(web_stack, RUDE, agent_id="wangfang")
    store = web_stack.deps.store

    board = await console_page(browser, web_stack.origin, "/wallboard", "zhaolei")
    support = board.locator("section.tile[data-queue='support']")
    await support.locator("[data-k='speech-flagged'] strong", has_text="1").wait_for()
    assert await support.locator("[data-k='speech-backlog'] strong").text_content() == "0"
    items = board.locator("#speech-flags li.speech-flag")
    await items.first.wait_for()
    assert await items.count() == 4
    forbidden = board.locator("#speech-flags li.speech-flag", has_text="forbidden phrase")
    assert "这个我也不知道" in await forbidden.locator(".speech-lines").text_content()
    flag_id = int(await forbidden.get_attribute("data-flag-id"))
    await board.screenshot(path=str(screenshots / "speech-wallboard-flags.png"), full_page=True,
                           animations="disabled")
    await forbidden.locator("button[data-verdict='confirm']").click()
    await board.wait_for_function(
        "id => !document.querySelector(`#speech-flags li[data-flag-id='${id}']`)", arg=flag_id)
    assert (await store.speech_flag(flag_id)).status == "confirmed"
    assert await items.count() == 3
    statuses = {f.id: f.status for f in await store.list_speech_flags(interaction_id=rude)}
    assert statuses.pop(flag_id) == "confirmed" and set(statuses.values()) == {"open"}

    agent = await console_page(browser, web_stack.origin, "/agent", "wangfang")
    search = agent.locator("#speech-search")
    await search.locator("input[name=q]").fill("退款")
    await search.locator("button[type=submit]").click()
    hit = search.locator(f"button[data-task-id='{refund}']")
    await hit.wait_for()
    assert "*******5678" in await hit.text_content()
    await hit.click()
    lines = search.locator(f"ol.speech-lines[data-task-id='{refund}'] li")
    await lines.first.wait_for()
    assert await lines.count() == len(REFUND)
    text = await search.locator(".speech-call").text_content()
    assert "我的手机号是 *******5678" in text and "13812345678" not in text
    await agent.screenshot(path=str(screenshots / "speech-agent-search.png"), full_page=True,
                           animations="disabled")
    assert not board.errors and not agent.errors, (board.errors, agent.errors)
