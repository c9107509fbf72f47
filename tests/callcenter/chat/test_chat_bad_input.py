"""What visitors may not do to the engine: every bad request gets a clear answer, the
socket closes with a code that says why, and the engine goes on serving the others."""

from __future__ import annotations

import asyncio
import base64
import os
import struct

import aiohttp
import pytest

import chatbridge.web_widget
from tests.support.chat import Console, Visitor, always_open, chat_with_agent, set_chat

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def open_stack(make_stack, **web):
    return await make_stack(queues=always_open, callcenter=set_chat(**web))


async def raw_socket(stack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket opened by hand, to send frames no well-behaved client would."""
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.root.web_port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /api/widget/ws HTTP/1.1\r\nHost: 127.0.0.1:{stack.root.web_port}\r\n"
                  f"Origin: {stack.origin}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


def frame(payload: bytes, opcode: int = 0x1) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    size = len(payload)
    header = struct.pack("!BB", 0x80 | opcode, 0x80 | size) if size < 126 else \
        struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    return header + mask + masked


async def close_code(reader: asyncio.StreamReader) -> int:
    """Read server frames until its close frame; its status code."""
    async with asyncio.timeout(5):
        while True:
            first, second = await reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
            payload = await reader.readexactly(size)
            if first & 0x0F == 0x8:
                return struct.unpack("!H", payload[:2])[0]


async def test_a_socket_must_authenticate_with_the_conversations_token(make_stack, monkeypatch):
    stack = await open_stack(make_stack)
    visitor = await Visitor.open(stack)
    await visitor.start()
    ws = await visitor.http.ws_connect("/api/widget/ws")
    await ws.send_json({"t": "msg", "id": "a", "text": "hi"})  # no auth first
    await ws.receive()
    assert ws.close_code == 4001
    ws = await visitor.http.ws_connect("/api/widget/ws")
    await ws.send_json({"t": "auth", "conversation": visitor.conversation, "token": "guess"})
    await ws.receive()
    assert ws.close_code == 4004
    elsewhere = await stack.client(origin="https://evil.example")  # a page of another site
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await elsewhere.ws_connect("/api/widget/ws")
    assert refused.value.status == 403
    monkeypatch.setattr(chatbridge.web_widget, "AUTH_TIMEOUT", 0.2)
    ws = await visitor.http.ws_connect("/api/widget/ws")
    await ws.receive()  # silence
    assert ws.close_code == 4001
    assert (await visitor.connect())["conversation"]["status"] == "message"  # still serving


async def test_oversized_binary_and_invalid_utf8_frames_close_the_socket(make_stack):
    stack = await open_stack(make_stack, **{"limits.max_frame_bytes": 1024})
    visitor = await Visitor.open(stack)
    await visitor.start()
    await visitor.connect()
    await visitor.send({"t": "msg", "id": "big", "text": "x" * 2000})
    assert await visitor.frames.closed == aiohttp.WSCloseCode.MESSAGE_TOO_BIG

    reader, writer = await raw_socket(stack)
    writer.write(frame(b'{"t": "auth", "token": "\xff\xfe"}'))  # not UTF-8
    assert await close_code(reader) == aiohttp.WSCloseCode.INVALID_TEXT
    writer.close()
    reader, writer = await raw_socket(stack)
    await visitor.connect()  # a fresh socket of the same visitor
    writer.close()
    await visitor.frames.ws.send_bytes(b"\x00\x01")
    assert await visitor.frames.closed == aiohttp.WSCloseCode.UNSUPPORTED_DATA


async def test_garbage_frames_get_errors_then_the_door(make_stack):
    stack = await open_stack(make_stack)
    visitor = await Visitor.open(stack)
    await visitor.start()
    await visitor.connect()
    for bad in ("not json", "[1, 2]", '{"t": "msg", "id": "../x", "text": "hi"}',
                '{"t": "msg", "id": "ok", "text": 5}', '{"t": "shout"}'):
        await visitor.frames.ws.send_str(bad)
        error = await visitor.frames.next("error")
        assert error["code"] in ("bad_frame", "bad_message")
    for _ in range(chatbridge.web_widget.BAD_FRAMES):
        await visitor.frames.ws.send_str("{")
    assert await visitor.frames.closed == aiohttp.WSCloseCode.POLICY_VIOLATION


async def test_a_flooding_visitor_is_limited_then_disconnected_and_others_go_on(make_stack):
    stack = await open_stack(make_stack, **{"limits.messages_per_minute": 5,
                                            "limits.max_message_chars": 50})
    agent = await Console.open(stack, "zhangwei")
    await agent.sign_in()
    flooder = await Visitor.open(stack)
    await flooder.start()
    await flooder.connect()
    await flooder.say("x" * 51, "long", ack=False)
    assert (await flooder.frames.next("error"))["code"] == "too_long"
    for i in range(5):
        await flooder.say(f"m{i}")
    await flooder.say("m5", "m5", ack=False)
    assert (await flooder.frames.next("error", lambda f: f["id"] == "m5"))["code"] == \
        "rate_limited"
    for i in range(20):
        await flooder.send({"t": "msg", "id": f"f{i}", "text": "flood"})
    assert await flooder.frames.closed == aiohttp.WSCloseCode.POLICY_VIOLATION
    stored = await stack.deps.store.conversation_messages(flooder.conversation)
    assert [m.body for m in stored] == [f"m{i}" for i in range(5)]

    calm = await Visitor.open(stack)
    await calm.start()
    await calm.connect()
    await calm.say("您好")  # the engine still serves everyone else


async def test_the_pre_chat_form_refuses_bad_values_and_too_many_new_chats(make_stack):
    stack = await open_stack(make_stack, **{"limits.conversations_per_hour": 2,
                                            "require_contact": True})
    http = await stack.client()
    for body, field in (({"topic": "nope", "email": "a@b.cn"}, "topic"),
                        ({"topic": "buy", "phone": "call me"}, "phone"),
                        ({"topic": "buy", "email": "not-an-address"}, "email"),
                        ({"topic": "buy"}, "phone"),  # require_contact
                        ({"topic": "buy", "phone": "13800000000", "extra": 1}, "extra")):
        async with http.post("/api/widget/conversations", json=body) as response:
            assert response.status == 422, await response.text()
            assert field in str((await response.json())["details"][0]["loc"])
    for raw in (b"{not json", b'{"topic": "\xff\xfe"}'):
        async with http.post("/api/widget/conversations", data=raw,
                             headers={"Content-Type": "application/json"}) as response:
            assert response.status == 422
    for _ in range(2):
        async with http.post("/api/widget/conversations",
                             json={"topic": "buy", "phone": "13800000000"}) as response:
            assert response.status == 201
    async with http.post("/api/widget/conversations",
                         json={"topic": "buy", "phone": "13800000000"}) as response:
        assert response.status == 429
        assert 0 < int(response.headers["Retry-After"]) <= 3600


async def upload(visitor: Visitor, data: bytes, content_type: str, *, name: str = "a.png",
                 chunked: bool = False) -> aiohttp.ClientResponse:
    async def body():
        yield data

    async with visitor.http.post(
            f"/api/widget/conversations/{visitor.conversation}/files",
            data=body() if chunked else data,
            headers={**visitor.auth, "Content-Type": content_type,
                     "X-File-Name": name}) as response:
        await response.read()
        return response


async def test_uploads_obey_size_type_and_count_limits(make_stack):
    stack = await open_stack(make_stack, **{"uploads.max_bytes": 2048,
                                            "uploads.per_conversation": 2})
    agent = await Console.open(stack, "zhangwei")
    await agent.sign_in()
    visitor = await Visitor.open(stack)
    await visitor.start()
    await visitor.connect()
    conv = await agent.accept_next()
    assert (await upload(visitor, b"\x00" * 4096, "image/png")).status == 413
    assert (await upload(visitor, b"\x00" * 4096, "image/png", chunked=True)).status == 413
    assert (await upload(visitor, b"MZ\x90\x00", "application/x-msdownload")).status == 415
    assert (await upload(visitor, b"<html><script>", "image/png")).status == 415  # not a PNG
    assert (await upload(visitor, b"", "image/png")).status == 422
    assert (await upload(visitor, PNG, "image/png", name="%E5%9B%BE.png")).status == 201
    message = await agent.message(conv["id"])
    assert message["type"] == "image" and message["file"]["name"] == "图.png"
    async with agent.http.get(f"/api/chat/files/{message['file']['id']}") as response:
        assert response.status == 200 and await response.read() == PNG
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
    assert (await upload(visitor, b"%PDF-1.4 x", "application/pdf", name="a.pdf")).status == 201
    assert (await upload(visitor, PNG, "image/png")).status == 429  # per_conversation: 2
    stranger = await Console.open(stack, "lina")
    async with stranger.http.get(f"/api/chat/files/{message['file']['id']}") as response:
        assert response.status == 403


async def test_uploads_off_and_widget_off(make_stack):
    stack = await open_stack(make_stack, **{"uploads.enabled": False})
    visitor = await Visitor.open(stack)
    await visitor.start()
    assert (await upload(visitor, PNG, "image/png")).status == 409
    off = await open_stack(make_stack, enabled=False)
    http = await off.client()
    for path in ("/chat/widget.js", "/chat/widget", "/api/widget/config", "/api/widget/ws"):
        async with http.get(path) as response:
            assert response.status == 404, path
    async with http.post("/api/widget/conversations", json={"topic": "buy"}) as response:
        assert response.status == 404


@pytest.mark.parametrize("origins", [[], ["https://shop.example.com"]])
async def test_only_allowed_sites_may_frame_the_widget(make_stack, origins):
    stack = await open_stack(make_stack, allowed_origins=origins)
    http = await stack.client()
    async with http.get("/chat/widget") as response:
        policy = response.headers["Content-Security-Policy"]
    ancestors = policy.split("frame-ancestors ")[1].split(";")[0].split()
    public = stack.config.callcenter.web.public_origin
    assert ancestors == ["'self'", public, *origins]
    async with http.get("/agent") as response:
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_read_marks_cannot_run_ahead_of_the_messages(make_stack):
    stack = await open_stack(make_stack)
    agent, visitor, conv = await chat_with_agent(stack)
    first = await agent.reply(conv["id"], "第一条")
    await visitor.hear("第一条")
    await visitor.send({"t": "read", "upto": 10**12})  # a mark on messages yet to come
    mark = await agent.frames.next("chat.read")
    assert mark["data"]["upto"] == first["id"]
    second = await agent.reply(conv["id"], "第二条")
    await visitor.hear("第二条")
    for i in range(50):  # a flood of marks: one event at most, for what exists
        await visitor.send({"t": "got", "upto": 10**12 + i})
    await visitor.say("好的")  # after the marks, in order
    detail = await agent.call("GET", f"/api/chat/conversations/{conv['id']}")
    assert detail["visitor_read"] == first["id"] < second["id"]
    marks = agent.frames.taken("chat.read")
    assert [m["data"]["upto"] for m in marks] == [second["id"]]
