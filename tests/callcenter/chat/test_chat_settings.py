"""Chat settings doing what their comments say (the ones not shown elsewhere): a topic's
skills decide who may take its chats; a visitor away longer than idle_end_minutes ends."""

from __future__ import annotations

import asyncio

from tests.support.chat import Console, Visitor, always_open, set_chat


async def test_a_topics_skills_decide_who_may_take_its_chats(make_stack):
    stack = await make_stack(queues=always_open)
    liuyang = await Console.open(stack, "liuyang")  # support 50, no billing
    await liuyang.sign_in()
    visitor = await Visitor.open(stack)
    await visitor.start("bill")  # support queue, plus billing: 30
    await asyncio.sleep(0.3)
    assert not liuyang.frames.taken("agent.offer")
    task = stack.chat.convs.get(visitor.conversation).task_id
    assert stack.deps.routing.task(task).state.value == "waiting"
    wangfang = await Console.open(stack, "wangfang")  # support 90, billing 70
    await wangfang.sign_in()
    assert (await wangfang.accept_next())["topic"] == "bill"


async def test_a_visitor_away_longer_than_idle_end_minutes_is_ended(make_stack):
    stack = await make_stack(queues=always_open, settings={"chat_tick": 0.05},
                             callcenter=set_chat(idle_end_minutes=2))
    agent = await Console.open(stack, "zhangwei")
    await agent.sign_in()
    away, present = await Visitor.open(stack), await Visitor.open(stack)
    for visitor in (away, present):
        await visitor.start("buy")
        await visitor.connect()
        await agent.accept_next()
    await away.drop()
    stack.clock.advance(90)
    await asyncio.sleep(0.3)
    assert stack.chat.convs.get(away.conversation).status == "active"  # not yet
    stack.clock.advance(60)
    wrapup = await agent.frames.next("agent.wrapup")
    assert wrapup["data"]["task_id"] == stack.chat.convs.get(away.conversation).task_id
    record = await stack.deps.store.get_conversation(away.conversation)
    assert (record.status, record.ended_by) == ("ended", "idle")
    assert stack.chat.convs.get(present.conversation).status == "active"  # still there


async def test_a_message_left_for_later_waits_however_long_the_visitor_is_away(make_stack):
    stack = await make_stack(queues=always_open, settings={"chat_tick": 0.05},
                             callcenter=set_chat(idle_end_minutes=2))
    visitor = await Visitor.open(stack)
    assert (await visitor.start("buy", message="请回电话"))["status"] == "message"
    await visitor.connect()
    await visitor.drop()
    stack.clock.advance(3600)
    await asyncio.sleep(0.3)
    assert stack.chat.convs.get(visitor.conversation).status == "message"
