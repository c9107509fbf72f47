"""The adapter as the chat service will use it: one conversation end to end."""

from __future__ import annotations

import asyncio

from chatbridge import (
    ChatAdapter,
    ImageMessage,
    InboundMessage,
    Sent,
    TextMessage,
    VoiceMessage,
    WeChatAdapter,
    WindowClosed,
    WindowClosedReason,
)
from tests.support.wechat import Serve, config_for
from tests.support.wechat_standin import WeChatStandIn, image_xml, text_xml, voice_xml

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300


async def test_the_adapter_is_a_chat_adapter(standin: WeChatStandIn) -> None:
    adapter = WeChatAdapter(config_for(standin))
    try:
        assert isinstance(adapter, ChatAdapter)
        assert adapter.channel == "wechat"
    finally:
        await adapter.close()


async def test_a_conversation_end_to_end(standin: WeChatStandIn, serve: Serve) -> None:
    adapter = WeChatAdapter(config_for(standin, "secure"))
    url = await serve(adapter.handle_callback)
    inbox: asyncio.Queue[InboundMessage] = asyncio.Queue()

    async def on_inbound(message: InboundMessage) -> None:
        await inbox.put(message)

    try:
        early = await standin.push(url, text_xml(OPENID, "有人吗", 1), mode="secure")
        assert early.status == 503  # not started: WeChat keeps it and retries
        await adapter.start(on_inbound)

        # The customer writes; the agent answers in text and with a picture.
        assert (await standin.push(url, text_xml(OPENID, "有人吗", 1), mode="secure")).ok
        question = await asyncio.wait_for(inbox.get(), 2)
        assert isinstance(question, TextMessage) and question.text == "有人吗"
        assert await adapter.send_text(question.sender, "您好，请讲") == Sent()
        assert await adapter.send_image(question.sender, PNG, content_type="image/png",
                                        filename="map.png") == Sent()
        [text, image] = standin.sends
        assert text.payload == {"touser": OPENID, "msgtype": "text",
                                "text": {"content": "您好，请讲"}}
        [upload] = standin.uploads
        assert (upload.data, upload.content_type) == (PNG, "image/png")
        assert image.payload["image"] == {"media_id": upload.media_id}

        # The customer sends a photo and a voice note; the agent opens both.
        photo_id = standin.add_media(b"\xff\xd8photo", "image/jpeg", "p.jpg")
        voice_id = standin.add_media(b"#!AMR\nvoice", "audio/amr", "v.amr")
        assert (await standin.push(url, image_xml(OPENID, photo_id, 2), mode="secure")).ok
        assert (await standin.push(url, voice_xml(OPENID, voice_id, 3, recognition="在吗"),
                                   mode="secure")).ok
        photo = await asyncio.wait_for(inbox.get(), 2)
        voice = await asyncio.wait_for(inbox.get(), 2)
        assert isinstance(photo, ImageMessage) and isinstance(voice, VoiceMessage)
        assert (await adapter.fetch_media(photo.media_id)).data == b"\xff\xd8photo"
        fetched = await adapter.fetch_media(voice.media_id)
        assert (fetched.data, fetched.content_type) == (b"#!AMR\nvoice", "audio/amr")
        assert voice.recognition == "在吗"

        # Two days later: the window is closed, and the agent is told so.
        standin.close_window(OPENID, 45015)
        late = await adapter.send_text(OPENID, "还需要帮助吗？")
        assert isinstance(late, WindowClosed)
        assert late.reason is WindowClosedReason.WINDOW_EXPIRED
        assert standin.token_requests == 1
    finally:
        await adapter.close()


async def test_close_lets_pending_deliveries_finish(standin: WeChatStandIn,
                                                    serve: Serve) -> None:
    adapter = WeChatAdapter(config_for(standin, "plaintext"))
    url = await serve(adapter.handle_callback)
    done: list[str | None] = []

    async def slow(message: InboundMessage) -> None:
        await asyncio.sleep(0.1)
        done.append(message.message_id)

    await adapter.start(slow)
    assert (await standin.push(url, text_xml(OPENID, "x", 10), mode="plaintext")).ok
    await adapter.close(timeout=2.0)
    assert done == ["10"]
