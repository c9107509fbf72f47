"""Customer search and profile in the agent console (tier 2: the real consoles in headless
Chromium, a real SQLite store, no Asterisk): by name, phone, WeChat id and an order number
in a wrap-up note; each reader finds only the customers they may read, and a reader who
sees numbers masked finds a phone number only whole (a partial number would tell them the
hidden digits). The profile shows identities masked and the history across channels."""

from __future__ import annotations

import pytest

from tests.support.speech import console_page

pytestmark = pytest.mark.browser


async def names(client, q: str) -> list[str]:
    async with client.get("/api/customers", params={"q": q}) as response:
        assert response.status == 200, await response.text()
        return sorted(c["name"] for c in await response.json())


async def test_search_and_profile(web_stack, browser, screenshots) -> None:
    store = web_stack.deps.store
    mine = await web_stack.customer("王丽华", phone="13812345678",
                                    openid="o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
    await store.update_customer(mine, attributes={"vip": True})
    await store.create_interaction("voice", medium="pstn", customer_id=mine, queue="sales",
                                   agent_id="zhangwei", outcome="answered",
                                   notes="退货，订单号 DD20261130001")
    await store.create_interaction("chat", medium="wechat", customer_id=mine,
                                   queue="sales", agent_id="lina", outcome="answered")
    await store.create_interaction("voice", medium="pstn", direction="outbound",
                                   customer_id=mine, agent_id="zhangwei", outcome="answered")
    theirs = await web_stack.customer("王建国", phone="13987654321")
    await store.create_interaction("voice", medium="pstn", customer_id=theirs,
                                   queue="support", agent_id="wangfang", outcome="answered")

    zhangwei = await web_stack.client("zhangwei")
    assert await names(zhangwei, "王") == ["王丽华"]  # not wangfang's customer
    assert await names(zhangwei, "138 1234 5678") == ["王丽华"]  # the whole number
    assert await names(zhangwei, "1381234") == []  # masked reader: no partial numbers
    assert await names(zhangwei, "DD20261130001") == ["王丽华"]  # order number in a note
    assert await names(zhangwei, "DD2026113") == []  # masked reader: not part of it
    admin = await web_stack.client("admin")
    assert await names(admin, "DD2026113") == ["王丽华"]
    assert await names(zhangwei, "o6_bmjrPTlm6") == ["王丽华"]  # WeChat openid
    assert await names(zhangwei, "13987654321") == []  # a number, not theirs
    assert await names(admin, "王") == ["王丽华", "王建国"]
    assert await names(admin, "1381234") == ["王丽华"]  # numbers in full: partial is fine
    async with zhangwei.get("/api/customers", params={"q": " "}) as response:
        assert response.status == 422

    page = await console_page(browser, web_stack.origin, "/agent", "zhangwei")
    card = page.locator("#customers")
    await card.locator("input[name=customer-q]").fill("DD20261130001")
    await card.locator("button[type=submit]").click()
    await card.locator(f"button[data-customer-id='{mine}']").click()
    profile = card.locator(f".customer-profile[data-customer-id='{mine}']")
    await profile.wait_for()
    text = await profile.text_content()
    assert "王丽华" in text and "VIP" in text
    assert "13812345678" not in text and "5678" in text  # identities masked
    assert await profile.locator(".timeline li").count() == 3  # call, chat, outbound call
    assert await profile.locator(".timeline li", has_text="Outbound call").count() == 1
    assert await profile.locator("[data-action=call-back]").count() == 0  # no telephone here
    # Tags and a note, from the profile: stored, and shown masked to an agent.
    await profile.locator("input[name=tag]").fill("回头客")
    await profile.locator("input[name=tag]").press("Enter")
    await profile.locator("textarea[name=note]").fill("只在上午联系，备用电话 13611112222")
    await profile.locator("[data-action=save-profile]").click()
    await page.locator(".toast-ok").wait_for()
    stored = await store.get_customer(mine)
    assert stored.attributes["tags"] == ["回头客"] and stored.attributes["vip"] is True
    assert stored.attributes["note"] == "只在上午联系，备用电话 13611112222"
    async with zhangwei.get(f"/api/customers/{mine}/history") as response:
        card = (await response.json())["customer"]
    assert card["tags"] == ["回头客"] and "13611112222" not in card["note"]
    async with admin.get(f"/api/customers/{mine}/history") as response:
        assert "13611112222" in (await response.json())["customer"]["note"]
    async with zhangwei.patch(f"/api/customers/{mine}", json={"tags": ["回头客", "投诉"]}) \
            as response:  # the masked note is not sent back: the number is kept
        assert response.status == 200
    assert "13611112222" in (await store.get_customer(mine)).attributes["note"]
    async with zhangwei.patch(f"/api/customers/{mine}", json={"note": "改"}) as response:
        assert response.status == 422  # they saw it masked: saving would lose the number
    async with zhangwei.patch(f"/api/customers/{mine}", json={"vip": False}) as response:
        assert response.status == 403  # VIP is for supervisors and admins
    async with zhangwei.patch(f"/api/customers/{theirs}", json={"tags": ["x"]}) as response:
        assert response.status == 403  # not their customer
    await page.screenshot(path=str(screenshots / "customer-profile.png"), full_page=True,
                          animations="disabled")
    assert not page.errors, page.errors
