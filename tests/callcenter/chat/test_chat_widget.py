"""The web widget against the real stack: a visitor's chat reaches an agent and back,
survives a dropped connection exactly once and in order, leaves a message when nobody
can answer, sends files, ends, is rated and downloaded."""

from __future__ import annotations

import asyncio

from chatbridge.queueing import QueueSide
from tests.support.chat import Console, Visitor, always_open, chat_with_agent, set_chat
from tests.support.voice import wait_until


async def test_a_web_chat_reaches_the_agent_and_the_replies_come_back(make_stack):
    stack = await make_stack(queues=always_open)
    agent, visitor, conv = await chat_with_agent(stack, name="王小明", phone="13812345678",
                                                 message="你好")
    path = f"/api/chat/conversations/{conv['id']}"
    detail = await agent.call("GET", path)
    assert [m["body"] for m in detail["messages"]] == ["你好"]
    assert detail["pop"]["customer"]["name"] == "王小明"
    assert detail["pop"]["interaction"]["last_messages"][0]["body"] == "你好"
    assert {"zh": "企业版每年 999 元，可以开具增值税发票。",
            "en": "The business edition is 999 yuan a year, VAT invoice included."} \
        in detail["canned"]  # canned replies of the sales queue (queues.yaml)

    await visitor.say("请问企业版多少钱？")
    asked = await agent.message(conv["id"], "请问企业版多少钱？")
    # typing, both ways
    await visitor.send({"t": "typing", "on": True})
    assert (await agent.frames.next("chat.typing"))["data"]["on"] is True
    await agent.call("POST", f"{path}/typing", {"on": True}, expect=204)
    assert (await visitor.frames.next("typing"))["on"] is True
    # the reply, with the agent's name, then delivered and read receipts both ways
    await agent.reply(conv["id"], "企业版每年 999 元。")
    heard = await visitor.hear("企业版每年 999 元。")
    assert heard["name"] == "张伟" and heard["from"] == "agent"
    await visitor.send({"t": "got", "upto": heard["mid"]})
    await visitor.send({"t": "read", "upto": heard["mid"]})
    got = await agent.frames.next("chat.read", lambda f: f["data"]["kind"] == "got")
    read = await agent.frames.next("chat.read", lambda f: f["data"]["kind"] == "read")
    assert got["data"]["upto"] == read["data"]["upto"] == heard["mid"]
    await agent.call("POST", f"{path}/read", {"upto": asked["id"]}, expect=204)
    assert (await visitor.frames.next("read"))["upto"] == asked["id"]

    stored = await stack.deps.store.conversation_messages(conv["id"])
    assert [(m.direction, m.body) for m in stored] == [
        ("in", "你好"), ("in", "请问企业版多少钱？"), ("out", "企业版每年 999 元。")]
    assert stored[2].sender == "zhangwei"


async def test_messages_survive_a_dropped_connection_exactly_once_in_order(make_stack):
    stack = await make_stack(queues=always_open)
    agent, visitor, conv = await chat_with_agent(stack)
    first = await visitor.say("一")
    second = await visitor.say("二")
    third = await visitor.say("三", ack=False)  # its ack may be lost with the connection
    await visitor.drop()
    await agent.reply(conv["id"], "您还在吗？")  # while the visitor is away
    await asyncio.sleep(0.1)

    hello = await visitor.connect()  # from the last message id it saw
    assert [m["text"] for m in hello["messages"] if m["from"] == "agent"] == ["您还在吗？"]
    mids = {}
    for cid, text in ((first, "一"), (second, "二"), (third, "三"), ("fourth-1", "四")):
        await visitor.send({"t": "msg", "id": cid, "text": text})  # the whole outbox again
        mids[cid] = (await visitor.frames.next("ack", lambda f, c=cid: f["id"] == c))["mid"]
    assert sorted(mids.values()) == list(mids.values())  # in the order they were written

    stored = [m for m in await stack.deps.store.conversation_messages(conv["id"])
              if m.direction == "in"]
    assert [m.body for m in stored] == ["一", "二", "三", "四"]
    await asyncio.sleep(0.2)
    relayed = [f["data"]["message"]["body"] for f in agent.frames.taken("chat.message")
               if f["data"]["message"]["direction"] == "in"]
    assert relayed == ["一", "二", "三", "四"]  # the agent saw each one once


async def test_nobody_signed_in_takes_a_message_that_is_offered_once_someone_is(make_stack):
    stack = await make_stack(queues=always_open, settings={"chat_tick": 0.05},
                             callcenter=set_chat(**{"leave_message.retry_seconds": 30}))
    queue_side = stack.need(QueueSide)
    await wait_until(lambda: queue_side.next_retry_at > 0, what="the start's retry round")
    visitor = await Visitor.open(stack)
    started = await visitor.start("help", message="打印机坏了，请联系我")
    assert started["status"] == "message" and started["reason"] == "nobody"
    hello = await visitor.connect()
    assert hello["conversation"]["status"] == "message"
    await visitor.say("电话 13900001111")

    agent = await Console.open(stack, "wangfang")
    await agent.sign_in()
    await asyncio.sleep(0.3)
    assert not agent.frames.taken("agent.offer")  # not before retry_seconds
    stack.clock.advance(31)
    conv = await agent.accept_next()
    detail = await agent.call("GET", f"/api/chat/conversations/{conv['id']}")
    assert [m["body"] for m in detail["messages"]] == ["打印机坏了，请联系我",
                                                       "电话 13900001111"]
    assert len(detail["pop"]["interaction"]["last_messages"]) == 2
    assert (await visitor.frames.next("status"))["status"] == "active"


CLOSED = {"timezone": "Asia/Shanghai", "weekly": {}}


def closed_sales(queues: dict) -> None:
    always_open(queues)
    queues["queues"]["sales"]["business_hours"] = CLOSED


async def test_leave_message_when_closed_follows_its_setting(make_stack):
    stack = await make_stack(queues=closed_sales)
    agent = await Console.open(stack, "zhangwei")
    await agent.sign_in()
    visitor = await Visitor.open(stack)
    assert (await visitor.start("buy"))["reason"] == "closed"
    config = (await (await stack.client()).get("/api/widget/config")).json
    topics = {t["id"]: t["live"] for t in (await config())["topics"]}
    assert topics == {"buy": False, "help": True, "bill": True}

    open_anyway = await make_stack(queues=closed_sales,
                                   callcenter=set_chat(**{"leave_message.when_closed": False}))
    agent = await Console.open(open_anyway, "zhangwei")
    await agent.sign_in()
    visitor = await Visitor.open(open_anyway)
    assert (await visitor.start("buy"))["status"] == "queued"
    await agent.accept_next()


async def test_the_visitor_ends_then_rates_once_and_downloads_the_transcript(make_stack):
    stack = await make_stack(queues=always_open)
    agent, visitor, conv = await chat_with_agent(stack, message="在吗")
    await agent.reply(conv["id"], "在的，请讲。")
    await visitor.hear()
    http = visitor.http
    base = f"/api/widget/conversations/{visitor.conversation}"
    async with http.post(f"{base}/end", headers=visitor.auth) as response:
        assert response.status == 200
    wrapup = await agent.frames.next("agent.wrapup")
    assert wrapup["data"]["task_id"] == conv["task_id"]
    assert (await visitor.frames.next("status"))["status"] == "ended"
    async with http.post(f"{base}/rating", json={"score": 5, "comment": "很好"},
                         headers=visitor.auth) as response:
        assert response.status == 200
    async with http.post(f"{base}/rating", json={"score": 1}, headers=visitor.auth) as response:
        assert response.status == 409  # once
    record = await stack.deps.store.get_conversation(visitor.conversation)
    assert (record.rating, record.rating_comment, record.ended_by) == (5, "很好", "visitor")
    [csat] = await stack.deps.store.csat_between(0, stack.clock() + 1)  # what reports read
    assert (csat.score, csat.source, csat.channel, csat.agent_id, csat.queue, csat.comment) == \
        (5, "widget", "chat", "zhangwei", "sales", "很好")
    async with http.get(f"{base}/transcript", headers=visitor.auth) as response:
        assert response.status == 200
        assert "attachment" in response.headers["Content-Disposition"]
        text = await response.text()
    assert "您: 在吗" in text and "张伟: 在的，请讲。" in text
    async with http.get(f"{base}/transcript",
                        headers={"Authorization": "Bearer not-the-token"}) as response:
        assert response.status == 404


async def test_the_agent_ends_and_files_the_wrapup_which_releases_the_chat(make_stack):
    stack = await make_stack(queues=always_open)
    agent, visitor, conv = await chat_with_agent(stack)
    summary = await agent.call("POST", f"/api/chat/conversations/{conv['id']}/end")
    assert summary["status"] == "ended"
    assert (await visitor.frames.next("status"))["status"] == "ended"
    wrapup = await agent.frames.next("agent.wrapup")
    assert [d["code"] for d in wrapup["data"]["dispositions"]] == [
        "order_placed", "quote_sent", "not_interested"]
    assert [c["id"] for c in await agent.call("GET", "/api/chat/conversations")] == [conv["id"]]
    await agent.call("POST", f"/api/agent/wrapups/{conv['task_id']}",
                     {"disposition": "quote_sent", "notes": "发了报价"})
    released = await agent.frames.next("chat.conversation",
                                       lambda f: f["data"]["conversation"].get("released"))
    assert released["data"]["conversation_id"] == conv["id"]
    assert await agent.call("GET", "/api/chat/conversations") == []
    record = await stack.deps.store.get_interaction(conv["task_id"])
    assert (record.disposition, record.outcome) == ("quote_sent", "answered")
