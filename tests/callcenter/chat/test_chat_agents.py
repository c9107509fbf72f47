"""The agent's and supervisor's side of chats: capacity, transfer, reading and joining,
merging customers (and undoing it), a returning customer's last agent first."""

from __future__ import annotations

import asyncio

from tests.support.chat import Console, Visitor, always_open
from tests.support.webstack import SUPERVISOR


async def visitor_in(stack, topic: str = "buy", **form) -> Visitor:
    visitor = await Visitor.open(stack)
    await visitor.start(topic, **form)
    await visitor.connect()
    return visitor


async def test_an_agent_holds_chats_up_to_capacity_then_the_next_one_waits(make_stack):
    stack = await make_stack(queues=always_open)
    agent = await Console.open(stack, "zhangwei")  # capacity: 1 call, 2 chats
    await agent.sign_in()
    visitors = [await visitor_in(stack) for _ in range(3)]
    first = await agent.accept_next()
    second = await agent.accept_next()
    await stack.deps.routing.flush()
    view = stack.deps.routing.agent("zhangwei")
    assert view.holding["chat"] == 2
    third_task = stack.chat.convs.get(visitors[2].conversation).task_id
    assert stack.deps.routing.task(third_task).state.value == "waiting"
    assert not agent.frames.taken("agent.offer")

    mine = await agent.call("GET", "/api/chat/conversations")
    assert {c["id"] for c in mine} == {first["id"], second["id"]}
    await agent.call("POST", f"/api/chat/conversations/{first['id']}/end")
    await agent.call("POST", f"/api/agent/wrapups/{first['task_id']}",
                     {"disposition": "order_placed"})
    third = await agent.accept_next()
    assert third["task_id"] == third_task


async def test_transfer_to_a_queue_and_to_a_named_agent(make_stack):
    stack = await make_stack(queues=always_open)
    zhangwei = await Console.open(stack, "zhangwei")
    await zhangwei.sign_in()
    wangfang = await Console.open(stack, "wangfang")
    await wangfang.sign_in()
    visitor = await visitor_in(stack)
    conv = await zhangwei.accept_next()
    path = f"/api/chat/conversations/{conv['id']}/transfer"
    await zhangwei.call("POST", path, {"queue": "vip"}, expect=422)  # voice only
    moved = await zhangwei.call("POST", path, {"queue": "support"})
    assert moved["status"] == "queued" and moved["queue"] == "support"
    await visitor.frames.next("status", lambda f: f.get("reason") == "transferred")
    await zhangwei.frames.next("chat.conversation",
                               lambda f: f["data"]["conversation"].get("released"))
    gone = await zhangwei.frames.next("agent.offer_withdrawn")  # the card leaves his page
    assert gone["data"]["task_id"] == conv["task_id"]
    taken = await wangfang.accept_next()
    assert taken["id"] == conv["id"]
    await visitor.frames.next("status", lambda f: f["status"] == "active"
                              and f["agent"] == "王芳")
    assert await zhangwei.call("GET", "/api/chat/conversations") == []

    lina = await Console.open(stack, "lina")
    await lina.sign_in()
    await wangfang.call("POST", f"/api/chat/conversations/{conv['id']}/transfer",
                        {"agent_id": "lina"})
    assert (await lina.accept_next())["id"] == conv["id"]
    await lina.reply(conv["id"], "我是李娜，继续为您服务。")
    assert (await visitor.hear())["name"] == "李娜"


async def test_a_supervisor_reads_and_joins_chats_of_their_teams_only(make_stack):
    stack = await make_stack(queues=always_open)
    wangfang = await Console.open(stack, "wangfang")  # north: the supervisor's team
    await wangfang.sign_in()
    zhangwei = await Console.open(stack, "zhangwei")  # east: not theirs
    await zhangwei.sign_in()
    north_visitor = await visitor_in(stack, "help", message="手机无法开机")
    north = await wangfang.accept_next()
    await visitor_in(stack, "buy")
    east = await zhangwei.accept_next()
    boss = await Console.open(stack, SUPERVISOR)

    read = await boss.call("GET", f"/api/chat/conversations/{north['id']}")
    assert [m["body"] for m in read["messages"]] == ["手机无法开机"]
    await boss.call("GET", f"/api/chat/conversations/{east['id']}", expect=403)
    await boss.call("POST", f"/api/chat/conversations/{east['id']}/join", expect=403)
    await boss.call("POST", f"/api/chat/conversations/{north['id']}/messages",
                    {"text": "hi", "client_id": "x1"}, expect=403)  # reading is not talking

    await north_visitor.say("还是不行")  # the supervisor follows the chat live
    live = await boss.frames.next("chat.message")
    assert live["data"]["message"]["body"] == "还是不行"
    await boss.call("POST", f"/api/chat/conversations/{north['id']}/join")
    joined = await north_visitor.frames.next("status", lambda f: "joined" in f)
    assert joined["joined"] == "赵磊"
    await boss.reply(north["id"], "我是主管，我们马上处理。")
    assert (await north_visitor.hear("我是主管，我们马上处理。"))["name"] == "赵磊"

    # The chat moves to an agent of another team: the supervisor's part in it ends.
    await wangfang.call("POST", f"/api/chat/conversations/{north['id']}/transfer",
                        {"agent_id": "zhangwei"})
    assert (await zhangwei.accept_next())["id"] == north["id"]
    await boss.call("POST", f"/api/chat/conversations/{north['id']}/messages",
                    {"text": "还在吗", "client_id": "x2"}, expect=403)
    await boss.call("GET", f"/api/chat/conversations/{north['id']}", expect=403)
    boss.frames.taken("chat.message")
    await north_visitor.say("换人了？")
    await zhangwei.message(north["id"], "换人了？")
    await zhangwei.reply(north["id"], "我是张伟。")
    await north_visitor.hear("我是张伟。")
    assert boss.frames.taken("chat.message") == []  # no longer followed
    heard = await wangfang.frames.next("chat.message", lambda f: f["data"]["message"][
        "sender"] == SUPERVISOR)
    assert heard["data"]["message"]["sender_name"] == "赵磊"


async def test_an_agent_merges_the_visitor_with_a_known_customer_and_can_undo(make_stack):
    stack = await make_stack(queues=always_open)
    customer_id, call_id, _ = await stack.seed_history()  # 王小明, phone 13812345678
    agent = await Console.open(stack, "zhangwei")
    await agent.sign_in()
    await visitor_in(stack, name="小明", phone="13812345678")
    conv = await agent.accept_next()
    path = f"/api/chat/conversations/{conv['id']}"
    detail = await agent.call("GET", path)
    assert detail["pop"]["history"] == []  # a new web visitor: not linked on a claim alone
    [suggestion] = detail["suggestions"]
    assert suggestion["customer"]["id"] == customer_id
    assert suggestion["because"] == {"kind": "phone", "masked": "138****5678"}
    await agent.call("POST", f"{path}/merge", {"customer_id": customer_id + 100}, expect=422)

    merged = await agent.call("POST", f"{path}/merge", {"customer_id": customer_id})
    assert merged["customer_id"] == customer_id
    detail = await agent.call("GET", path)
    assert call_id in [h["interaction_id"] for h in detail["pop"]["history"]]
    assert detail["customer_id"] == customer_id

    undo = f"/api/chat/merges/{merged['merge_id']}/undo"
    lina = await Console.open(stack, "lina")  # another agent
    await lina.call("POST", undo, expect=403)
    boss = await Console.open(stack, SUPERVISOR)  # supervises north; zhangwei is east
    refused = await boss.call("POST", undo, expect=403)
    assert "supervisor of their team" in refused["message"]
    undone = await agent.call("POST", undo)
    assert undone["merged_id"] == merged["merged_id"]
    detail = await agent.call("GET", path)
    assert detail["customer_id"] == merged["merged_id"]
    assert detail["pop"]["history"] == []
    await agent.call("POST", undo, expect=409)

    again = await agent.call("POST", f"{path}/merge", {"customer_id": customer_id})
    admin = await Console.open(stack, "admin")
    await admin.call("POST", f"/api/chat/merges/{again['merge_id']}/undo")  # admins: any

    wangfang = await Console.open(stack, "wangfang")  # north: the supervisor's team
    await wangfang.sign_in()
    await visitor_in(stack, "help", name="王小明", phone="13812345678")
    north = await wangfang.accept_next()
    theirs = await wangfang.call("POST", f"/api/chat/conversations/{north['id']}/merge",
                                 {"customer_id": customer_id})
    await agent.call("POST", f"/api/chat/merges/{theirs['merge_id']}/undo", expect=403)
    await boss.call("POST", f"/api/chat/merges/{theirs['merge_id']}/undo")
    detail = await wangfang.call("GET", f"/api/chat/conversations/{north['id']}")
    assert detail["customer_id"] == theirs["merged_id"]


async def test_a_returning_customer_is_offered_to_their_last_agent_first(make_stack):
    stack = await make_stack(queues=always_open)
    zhangwei = await Console.open(stack, "zhangwei")
    await zhangwei.sign_in()  # signed in first: the longest idle of the two
    await asyncio.sleep(0.05)
    lina = await Console.open(stack, "lina")
    await lina.sign_in()
    await asyncio.sleep(0.05)
    newcomer = await visitor_in(stack)
    first = await zhangwei.accept_next()  # longest idle takes a new customer
    await zhangwei.call("POST", f"/api/chat/conversations/{first['id']}/end")
    await zhangwei.call("POST", f"/api/agent/wrapups/{first['task_id']}",
                        {"disposition": "quote_sent"})
    # lina has served this customer; zhangwei is now the one who waited longest
    regular = await Visitor.open(stack)
    await regular.start("buy")
    await regular.connect()
    served = await lina.accept_next()
    await lina.call("POST", f"/api/chat/conversations/{served['id']}/end")
    await lina.call("POST", f"/api/agent/wrapups/{served['task_id']}",
                    {"disposition": "quote_sent"})
    await asyncio.sleep(0.05)
    await regular.start("buy")  # the same browser comes back
    await regular.connect()
    again = await lina.accept_next()
    assert again["customer_id"] == served["customer_id"]
    assert not zhangwei.frames.taken("agent.offer")
    assert newcomer.conversation != regular.conversation


async def test_an_offer_rejected_from_the_card_goes_to_the_next_agent(make_stack):
    stack = await make_stack(queues=always_open)
    zhangwei = await Console.open(stack, "zhangwei")
    await zhangwei.sign_in()  # the longest idle: offered first
    await asyncio.sleep(0.05)
    lina = await Console.open(stack, "lina")
    await lina.sign_in()
    visitor = await visitor_in(stack, message="有人吗")
    offer = await zhangwei.frames.next("agent.offer", lambda f: f["data"]["channel"] == "chat")
    await zhangwei.call("POST", f"/api/agent/offers/{offer['data']['offer_id']}/reject")
    taken = await lina.accept_next()
    assert taken["id"] == visitor.conversation and taken["agent_id"] == "lina"
    await visitor.frames.next("status", lambda f: f["status"] == "active"
                              and f["agent"] == "李娜")
    await zhangwei.call("POST", f"/api/agent/offers/{offer['data']['offer_id']}/accept",
                        expect=(404, 409))  # too late: it is lina's
    assert [c["id"] for c in await lina.call("GET", "/api/chat/conversations")] == [taken["id"]]
    assert await zhangwei.call("GET", "/api/chat/conversations") == []


async def test_a_returning_customer_whose_last_agent_is_away_goes_to_the_queue(make_stack):
    def queues(data: dict) -> None:
        always_open(data)
        data["queues"]["sales"]["preferred_agent_seconds"] = 1

    stack = await make_stack(queues=queues)
    lina = await Console.open(stack, "lina")
    await lina.sign_in()
    regular = await visitor_in(stack)
    served = await lina.accept_next()
    await lina.call("POST", f"/api/chat/conversations/{served['id']}/end")
    await lina.call("POST", f"/api/agent/wrapups/{served['task_id']}",
                    {"disposition": "quote_sent"})
    await lina.call("POST", "/api/agent/state", {"state": "not_ready", "reason": "lunch"})
    zhangwei = await Console.open(stack, "zhangwei")
    await zhangwei.sign_in()
    await regular.start("buy")  # the same browser comes back while lina is at lunch
    await regular.connect()
    started = stack.clock()
    again = await zhangwei.accept_next(timeout=10)  # after the preferred wait, the queue
    assert again["customer_id"] == served["customer_id"]
    assert not lina.frames.taken("agent.offer")  # not offered to her at lunch
    assert stack.clock() - started >= 0.9
