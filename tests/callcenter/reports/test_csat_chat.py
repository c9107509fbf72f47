"""CSAT from chats: the WeChat rating message (reports.csat.wechat_rating) against the
local WeChat stand-in, through the engine's own callback route (secure mode)."""

from __future__ import annotations

import time

import pytest

from chatbridge.accounts import RATING_TEXT, THANKS_TEXT
from tests.support.chat import Console, always_open
from tests.support.voice import wait_until
from tests.support.wechat import wechat_section
from tests.support.wechat_standin import WeChatStandIn, text_xml

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


@pytest.fixture
async def standin():
    async with WeChatStandIn() as server:
        yield server


def rating(on: bool):
    def change(data: dict) -> None:
        data.setdefault("reports", {}).setdefault("csat", {})["wechat_rating"] = on
    return change


async def served_chat(make_stack, standin, *, on: bool, msg_id: int):
    """A follower's chat, answered by zhangwei, then ended by her."""
    section = wechat_section(standin)
    stack = await make_stack(queues=always_open,
                             callcenter=lambda data: (section(data), rating(on)(data)))
    url = stack.url("/chat/wechat")
    agent = await Console.open(stack, "zhangwei")
    await agent.sign_in()
    assert (await standin.push(url, text_xml(OPENID, "耳机怎么连接手机？", msg_id),
                               mode="secure")).ok
    conv = await agent.accept_next()
    await agent.reply(conv["id"], "长按电源键三秒即可配对。")
    await agent.frames.next("chat.delivery", lambda f: f["data"]["status"] == "sent")
    await agent.call("POST", f"/api/chat/conversations/{conv['id']}/end")
    return stack, url, agent, conv


async def sent(standin: WeChatStandIn, count: int) -> None:
    await wait_until(lambda: len(standin.sends) >= count, what=f"{count} message(s) sent")


def texts(standin: WeChatStandIn) -> list[str]:
    return [s.payload["text"]["content"] for s in standin.sends if s.msgtype == "text"]


async def test_a_wechat_follower_rates_the_chat_with_one_digit(make_stack, standin):
    stack, url, agent, conv = await served_chat(make_stack, standin, on=True, msg_id=9001)
    await sent(standin, 2)  # the agent's reply, then the rating request
    assert texts(standin) == ["长按电源键三秒即可配对。", RATING_TEXT["zh"]]

    # "5", retried by WeChat as it does: one rating, thanked once, no new chat
    replies = await standin.push_with_retries(url, text_xml(OPENID, "5", 9002),
                                              mode="secure", retry_even_if_ok=True)
    assert all(r.ok for r in replies)
    await sent(standin, 3)
    assert texts(standin)[2:] == [THANKS_TEXT["zh"]]
    [csat] = await stack.deps.store.csat_between(0, time.time() + 60)
    assert (csat.score, csat.source, csat.channel, csat.medium, csat.agent_id, csat.queue) \
        == (5, "wechat", "chat", "wechat", "zhangwei", "sales")
    assert csat.interaction_id == conv["task_id"]
    assert (await stack.deps.store.get_conversation(conv["id"])).rating == 5

    # the wait is over: a later "4" is an ordinary first message, a chat of its own
    assert (await standin.push(url, text_xml(OPENID, "4", 9003), mode="secure")).ok
    second = await agent.accept_next()
    assert second["id"] != conv["id"]
    detail = await agent.call("GET", f"/api/chat/conversations/{second['id']}")
    assert [m["body"] for m in detail["messages"]] == ["4"]
    assert len(await stack.deps.store.csat_between(0, time.time() + 60)) == 1
    assert len(standin.sends) == 3


async def test_anything_but_a_digit_from_1_to_5_is_a_new_chat(make_stack, standin):
    stack, url, agent, conv = await served_chat(make_stack, standin, on=True, msg_id=9101)
    await sent(standin, 2)
    assert (await standin.push(url, text_xml(OPENID, "6", 9102), mode="secure")).ok
    second = await agent.accept_next()
    assert second["id"] != conv["id"]
    assert await stack.deps.store.csat_between(0, time.time() + 60) == []
    assert texts(standin)[-1] == RATING_TEXT["zh"]  # no thanks


async def test_with_the_rating_off_nobody_is_asked_and_a_digit_is_a_chat(make_stack, standin):
    stack, url, agent, conv = await served_chat(make_stack, standin, on=False, msg_id=9201)
    assert (await standin.push(url, text_xml(OPENID, "5", 9202), mode="secure")).ok
    second = await agent.accept_next()  # the follower's "5" is a chat, so nobody was asked
    assert second["id"] != conv["id"]
    assert texts(standin) == ["长按电源键三秒即可配对。"]
    assert await stack.deps.store.csat_between(0, time.time() + 60) == []
