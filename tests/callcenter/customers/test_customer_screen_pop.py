"""The screen-pop and who may read a customer's history (tier 2, real SQLite)."""

from __future__ import annotations

import json

from callcenter.customers.services import CustomerService


async def seed_history(stack) -> tuple[int, str, str]:
    """A customer with an earlier call (summary, disposition) and an earlier WeChat chat."""
    store = stack.deps.store
    now = stack.clock()
    customer = await stack.customer("王小明", phone="13812345678", openid="oWx-abcdef123456")
    call = await store.create_interaction(
        "voice", medium="pstn", customer_id=customer, queue="support", agent_id="wangfang",
        arrived_at=now - 7200, answered_at=now - 7150, ended_at=now - 6900,
        outcome="answered", disposition="resolved", caller_masked="13812345678")
    await store.add_summary(call.id, "客户反映路由器无法联网，已指导重启后恢复。")
    chat = await store.create_interaction(
        "chat", medium="wechat", customer_id=customer, queue="sales", agent_id="lina",
        arrived_at=now - 3600, ended_at=now - 3300, outcome="answered")
    await store.add_message(chat.id, "in", "请问企业版多少钱？", created_at=now - 3590)
    await store.add_message(chat.id, "out", "您好，企业版每年 999 元。", sender="lina",
                            created_at=now - 3500)
    return customer, call.id, chat.id


async def test_screen_pop_has_customer_interaction_and_history_newest_first(web_stack):
    stack = web_stack
    store = stack.deps.store
    customer, call_id, chat_id = await seed_history(stack)
    now = stack.clock()
    current = await store.create_interaction(
        "voice", medium="pstn", customer_id=customer, queue="sales", arrived_at=now - 42,
        caller_masked="13812345678",
        ivr_choices=[{"node": "welcome", "kind": "language", "pressed": "1", "value": "zh",
                      "label": None},
                     {"node": "main", "kind": "menu", "pressed": "1", "value": "to_sales",
                      "label": "产品咨询"}],
        attributes={"label": {"zh": "产品咨询", "en": "Sales"}, "language": "zh"})
    pop = await stack.need(CustomerService).screen_pop(current.id)
    assert json.loads(json.dumps(pop)) == pop  # JSON as it is
    assert pop["customer"]["name"] == "王小明"
    assert {i["masked"] for i in pop["customer"]["identities"]} == {"138****5678", "****3456"}
    interaction = pop["interaction"]
    assert interaction["queue"] == "sales"
    assert interaction["queue_name"] == {"zh": "销售咨询", "en": "Sales"}
    assert interaction["caller_masked"] == "138****5678"
    assert [c["label"] for c in interaction["ivr_choices"]] == [None, "产品咨询"]
    assert [c["display"] for c in interaction["ivr_choices"]] == [
        {"zh": "中文", "en": "Chinese"}, {"zh": "产品咨询", "en": "Sales"}]
    assert 41 <= interaction["waited"] < 60
    history = pop["history"]
    assert [h["interaction_id"] for h in history] == [chat_id, call_id]  # newest first
    assert history[0]["medium"] == "wechat"
    assert [m["body"] for m in history[0]["last_messages"]] == ["请问企业版多少钱？",
                                                               "您好，企业版每年 999 元。"]
    assert history[1]["summary"] == "客户反映路由器无法联网，已指导重启后恢复。"
    assert history[1]["disposition_label"] == {"zh": "已解决", "en": "Resolved"}
    assert "13812345678" not in json.dumps(pop)
    assert "oWx-abcdef123456" not in json.dumps(pop)


async def test_pop_of_an_unknown_caller(web_stack):
    store = web_stack.deps.store
    anonymous = await store.create_interaction("voice", queue="support")
    pop = await web_stack.need(CustomerService).screen_pop(anonymous.id)
    assert pop["customer"] is None and pop["history"] == []
    assert (await web_stack.need(CustomerService).screen_pop("nope"))["customer"] is None


async def test_agents_read_history_only_of_their_own_customers(web_stack):
    stack = web_stack
    customer, _call, _chat = await seed_history(stack)
    stranger = await stack.customer("陌生人", phone="13600000000")
    wang = await stack.client("wangfang")  # handled the earlier call
    async with wang.get(f"/api/customers/{customer}/history") as response:
        assert response.status == 200
        body = await response.json()
    assert body["customer"]["name"] == "王小明" and len(body["history"]) == 2
    async with wang.get(f"/api/customers/{stranger}/history") as response:
        assert response.status == 403
    async with wang.get("/api/customers/99999/history") as response:
        assert response.status == 403  # no hint whether it exists
    # An agent who has the customer's chat offered right now may read it.
    zhang = await stack.client("zhangwei")
    async with zhang.get(f"/api/customers/{stranger}/history") as response:
        assert response.status == 403
    async with zhang.post("/api/agent/login", json={"device": "1001", "ready": True}):
        pass
    await stack.chat_arrives("sales", stranger)
    async with zhang.get(f"/api/customers/{stranger}/history") as response:
        assert response.status == 200
    # zhaolei (north: support and vip) does not watch sales, where the chat waits...
    supervisor = await stack.client("zhaolei")
    async with supervisor.get(f"/api/customers/{stranger}/history") as response:
        assert response.status == 403
    # ...and sees the customer once they have called support.
    await stack.deps.store.create_interaction("voice", queue="support", customer_id=stranger,
                                              outcome="abandoned")
    async with supervisor.get(f"/api/customers/{stranger}/history") as response:
        assert response.status == 200
        assert [h["queue"] for h in (await response.json())["history"]] == ["support"]
    admin = await stack.client("admin")
    async with admin.get("/api/customers/99999/history") as response:
        assert response.status == 404  # only an admin learns an id does not exist


async def test_numbers_written_in_a_history_are_masked_in_the_screen_pop(web_stack):
    stack = web_stack
    store = stack.deps.store
    customer, call_id, chat = await seed_history(stack)
    await store.update_interaction(call_id, notes="回电 138-1234-5678 或 13812345678，"
                                                  "2024-01-02 之后，工单 5521")
    await store.add_message(chat, "in", "我的手机 +8613812345678", created_at=stack.clock())
    current = await store.create_interaction("voice", customer_id=customer, queue="sales")
    pop = await stack.need(CustomerService).screen_pop(current.id)
    notes = {h["interaction_id"]: h["notes"] for h in pop["history"]}
    assert notes[call_id] == "回电 138****5678 或 138****5678，2024-01-02 之后，工单 5521"
    chat_lines = [m["body"] for h in pop["history"] for m in h["last_messages"]]
    assert "我的手机 +861****5678" in chat_lines
    assert "12345678" not in json.dumps(pop)
