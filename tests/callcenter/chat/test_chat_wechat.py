"""WeChat through the engine's own callback route, against the WeChat stand-in on
loopback (secure mode): followers' messages become chats of the queue, agents' replies
go out through the customer-service API with a valid token, a closed window is a state
the agent sees, and hostile callbacks are refused without harm."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.chat import Console, always_open
from tests.support.wechat import wechat_section
from tests.support.wechat_standin import (
    WeChatStandIn,
    event_xml,
    image_xml,
    text_xml,
    voice_xml,
)

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32


@pytest.fixture
async def standin():
    async with WeChatStandIn() as server:
        yield server


async def wechat_stack(make_stack, standin, **extra):
    stack = await make_stack(queues=always_open,
                             callcenter=wechat_section(standin, **extra))
    return stack, stack.url("/chat/wechat")


async def test_a_follower_chats_with_an_agent_through_the_customer_service_api(
        make_stack, standin):
    stack, url = await wechat_stack(make_stack, standin)
    agent = await Console.open(stack, "zhangwei")
    await agent.sign_in()
    replies = await standin.push_with_retries(url, text_xml(OPENID, "你好，我想买企业版", 5001),
                                              mode="secure", retry_even_if_ok=True)
    assert [r.ok for r in replies] == [True, True, True]  # WeChat's three tries, all answered
    conv = await agent.accept_next()
    assert conv["medium"] == "wechat" and conv["queue"] == "sales"
    detail = await agent.call("GET", f"/api/chat/conversations/{conv['id']}")
    assert [m["body"] for m in detail["messages"]] == ["你好，我想买企业版"]  # stored once
    assert detail["pop"]["customer"]["identities"][0]["kind"] == "wechat_openid"

    sent = await agent.reply(conv["id"], "您好！企业版每年 999 元。")
    delivery = await agent.frames.next("chat.delivery")
    assert delivery["data"] == {"conversation_id": conv["id"], "message_id": sent["id"],
                                "status": "sent", "error": None}
    [record] = standin.sends
    assert record.touser == OPENID and record.msgtype == "text"
    assert record.payload["text"]["content"] == "您好！企业版每年 999 元。"
    assert "您好" in record.raw.decode("utf-8")  # UTF-8, Chinese not escaped
    assert standin.token_requests == 1 and standin.api_errors == []  # a valid token

    # an image from the follower is fetched and kept; one from the agent is uploaded
    media = standin.add_media(PNG, "image/png", "photo.png")
    assert (await standin.push(url, image_xml(OPENID, media, 5002), mode="secure")).ok
    image = await agent.message(conv["id"])
    assert image["type"] == "image" and standin.media_gets == [media]
    async with agent.http.get(f"/api/chat/files/{image['file']['id']}") as response:
        assert await response.read() == PNG
    async with agent.http.post(f"/api/chat/conversations/{conv['id']}/files", data=PNG,
                               headers={"Content-Type": "image/png",
                                        "X-File-Name": "map.png"}) as response:
        assert response.status == 200
    await agent.frames.next("chat.delivery", lambda f: f["data"]["status"] == "sent")
    assert standin.sends[-1].msgtype == "image" and standin.uploads[-1].data == PNG
    voice = standin.add_media(b"#!AMR\n" + b"\x00" * 20, "audio/amr", "v.amr")
    assert (await standin.push(url, voice_xml(OPENID, voice, 5003, recognition="还有折扣吗"),
                               mode="secure")).ok
    said = await agent.message(conv["id"])
    assert said["body"] == "[语音] 还有折扣吗" and said["file"]["type"] == "audio/amr"


async def test_a_closed_window_is_shown_with_its_reason_and_reopens(make_stack, standin):
    stack, url = await wechat_stack(make_stack, standin)
    customer = await stack.customer("王女士", phone="13812345678", openid=OPENID)
    agent = await Console.open(stack, "zhangwei")
    await agent.sign_in()
    assert (await standin.push(url, text_xml(OPENID, "在吗", 6001), mode="secure")).ok
    conv = await agent.accept_next()
    assert conv["customer_id"] == customer
    path = f"/api/chat/conversations/{conv['id']}"

    for errcode, reason in ((45015, "window_expired"), (45047, "quota_exhausted")):
        standin.close_window(OPENID, errcode)
        sent = await agent.reply(conv["id"], f"测试 {errcode}")
        refused = await agent.frames.next("chat.delivery",
                                          lambda f, m=sent["id"]: f["data"]["message_id"] == m)
        assert refused["data"]["status"] == "refused" and refused["data"]["error"] == reason
        closed = await agent.frames.next("chat.conversation", lambda f: f["data"][
            "conversation"]["window"] is not None)
        window = closed["data"]["conversation"]["window"]
        assert (window["reason"], window["errcode"]) == (reason, errcode)
        assert "WeChat" in window["advice"]
        detail = await agent.call("GET", path)
        assert detail["window"]["reason"] == reason and detail["callback_possible"] is True
        assert detail["messages"][-1]["status"] == "refused"
        # no telephone in this stack: the callback answers so, it does not fail silently
        answer = await agent.call("POST", f"{path}/callback", expect=503)
        assert "telephone" in answer["message"]
        standin.closed_windows.clear()
        assert (await standin.push(url, text_xml(OPENID, "我又来了", 6002 + errcode),
                                   mode="secure")).ok
        reopened = await agent.frames.next("chat.conversation", lambda f: f["data"][
            "conversation"]["window"] is None)
        assert reopened["data"]["conversation_id"] == conv["id"]
    assert [s.payload["text"]["content"] for s in standin.sends] == []  # nothing got through


async def test_menu_choice_picks_the_queue_and_unfollowing_closes_the_window(
        make_stack, standin):
    stack, url = await wechat_stack(make_stack, standin, menu_queues={"MENU_HELP": "support"})
    agent = await Console.open(stack, "wangfang")
    await agent.sign_in()
    assert (await standin.push(url, event_xml(OPENID, "CLICK", event_key="MENU_HELP"),
                               mode="secure")).ok
    assert (await standin.push(url, text_xml(OPENID, "耳机没声音", 7001), mode="secure")).ok
    conv = await agent.accept_next()
    assert conv["queue"] == "support"
    assert (await standin.push(url, event_xml(OPENID, "unsubscribe"), mode="secure")).ok
    closed = await agent.frames.next("chat.conversation", lambda f: f["data"][
        "conversation"]["window"] is not None)
    assert closed["data"]["conversation"]["window"]["reason"] == "not_subscribed"


async def test_hostile_callbacks_are_refused_and_the_engine_serves_on(make_stack, standin):
    stack, url = await wechat_stack(make_stack, standin)
    xml = text_xml(OPENID, "hi", 8001)
    params, body = standin.callback_request(xml, mode="secure")
    bad = await standin.post(url, {**params, "msg_signature": "f" * 40}, body)
    assert (bad.status, bad.text) == (403, "bad msg_signature")
    unsigned = {k: v for k, v in params.items() if k not in ("signature", "msg_signature")}
    assert (await standin.post(url, unsigned, body)).status == 403
    replay = await standin.push(url, xml, mode="secure", timestamp=int(time.time()) - 301)
    assert (replay.status, replay.text) == (403,
                                            "timestamp too old (replayed or delayed request)")
    bomb = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>')
    assert (await standin.push(url, bomb, mode="secure")).status == 400
    xxe = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<xml><Content>&x;</Content></xml>')
    assert (await standin.push(url, xxe, mode="secure")).status == 400
    params, _ = standin.callback_request(xml, mode="secure")
    assert (await standin.post(url, params, b"<xml><Encrypt>\xff</Encrypt></xml>")).status == 400
    assert (await standin.post(url, params, b"<xml>" + b"x" * 70_000 + b"</xml>")).status == 413
    async with (await stack.client()).get(url) as response:  # URL check without a signature
        assert response.status == 403
    assert await stack.deps.store.open_conversations() == []  # nothing got in
    assert (await standin.verify_url(url, echostr="e123", encrypted=True)).text == "e123"
    assert (await standin.push(url, xml, mode="secure")).ok
    await asyncio.sleep(0.3)
    [conv] = await stack.deps.store.open_conversations()
    assert conv.medium == "wechat"
