"""The API client against the stand-in over loopback HTTP: tokens, sends, media."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from chatbridge import (
    ChannelTransportError,
    MediaTooLarge,
    Sent,
    WeChatApiClient,
    WeChatApiError,
    WindowClosed,
    WindowClosedReason,
)
from tests.support.wechat import config_for
from tests.support.wechat_standin import WeChatStandIn

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def make_client(standin: WeChatStandIn) -> AsyncIterator[Callable[..., WeChatApiClient]]:
    clients: list[WeChatApiClient] = []

    def _make(clock: Callable[[], float] | None = None, **overrides: Any) -> WeChatApiClient:
        kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
        client = WeChatApiClient(config_for(standin, "secure", **overrides), **kwargs)
        clients.append(client)
        return client

    yield _make
    for client in clients:
        await client.close()


# --------------------------------------------------------------------- tokens


async def test_token_is_fetched_once_and_reused(standin: WeChatStandIn,
                                                make_client: Callable[..., WeChatApiClient]
                                                ) -> None:
    client = make_client()
    assert await client.send_text(OPENID, "您好，客服小王为您服务") == Sent()
    assert await client.send_text(OPENID, "请问有什么可以帮您？") == Sent()
    assert standin.token_requests == 1 and client.token_fetches == 1
    assert [s.payload["text"]["content"] for s in standin.sends] == [
        "您好，客服小王为您服务", "请问有什么可以帮您？"]


async def test_json_body_is_utf8_without_ascii_escapes(standin: WeChatStandIn,
                                                       make_client: Callable[..., WeChatApiClient]
                                                       ) -> None:
    await make_client().send_text(OPENID, "退款已处理 ✓")
    [record] = standin.sends
    assert "退款已处理 ✓".encode() in record.raw
    assert b"\\u" not in record.raw
    assert record.content_type.startswith("application/json")
    assert json.loads(record.raw) == {"touser": OPENID, "msgtype": "text",
                                      "text": {"content": "退款已处理 ✓"}}


async def test_token_is_refreshed_before_it_expires(standin: WeChatStandIn,
                                                    make_client: Callable[..., WeChatApiClient]
                                                    ) -> None:
    clock = FakeClock()
    client = make_client(clock)  # the stand-in's tokens live 7200 s, refreshed 300 s early
    await client.send_text(OPENID, "one")
    clock.now += 7200 - 300 - 1
    await client.send_text(OPENID, "two")
    assert standin.token_requests == 1
    clock.now += 2
    await client.send_text(OPENID, "three")
    assert standin.token_requests == 2
    assert standin.api_errors == []  # refreshed ahead of time, never refused


async def test_short_lived_tokens_are_refreshed_at_half_life(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    standin.token_ttl_s = 120  # shorter than the 300 s margin
    clock = FakeClock()
    client = make_client(clock)
    first = await client.access_token()
    clock.now += 59
    assert await client.access_token() == first
    clock.now += 2
    assert await client.access_token() != first
    assert standin.token_requests == 2


async def test_concurrent_senders_share_one_token_fetch(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    standin.token_delay_s = 0.2  # everyone arrives while the first fetch is under way
    client = make_client()
    results = await asyncio.gather(*(client.send_text(OPENID, f"m{i}") for i in range(20)))
    assert results == [Sent()] * 20
    assert standin.token_requests == 1
    assert len(standin.sends) == 20


async def test_concurrent_senders_share_one_refresh_after_expiry(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    client = make_client()
    await client.send_text(OPENID, "warm up")
    standin.expire_tokens()  # WeChat-side expiry the client could not foresee
    standin.token_delay_s = 0.1
    results = await asyncio.gather(*(client.send_text(OPENID, f"m{i}") for i in range(10)))
    assert results == [Sent()] * 10
    assert standin.token_requests == 2  # ten 42001 answers, one refresh
    assert [code for _, code in standin.api_errors] == [42001] * 10


async def test_invalid_token_is_refreshed_and_the_call_retried_once(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    client = make_client()
    await client.send_text(OPENID, "first")
    standin.reject_next_token_uses(40001)
    assert await client.send_text(OPENID, "second") == Sent()
    assert standin.token_requests == 2
    assert standin.api_errors == [("custom/send", 40001)]
    assert [s.payload["text"]["content"] for s in standin.sends] == ["first", "second"]


async def test_the_retry_happens_only_once(standin: WeChatStandIn,
                                           make_client: Callable[..., WeChatApiClient]
                                           ) -> None:
    client = make_client()
    standin.reject_next_token_uses(40001, count=2)
    with pytest.raises(WeChatApiError) as info:
        await client.send_text(OPENID, "doomed")
    assert info.value.errcode == 40001 and info.value.operation == "custom/send"
    assert standin.token_requests == 2 and standin.sends == []


async def test_a_wrong_secret_is_a_clear_error_without_the_secret(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    client = make_client(app_secret="not-the-secret")
    with pytest.raises(WeChatApiError) as info:
        await client.send_text(OPENID, "x")
    assert (info.value.operation, info.value.errcode) == ("token", 40125)
    assert "not-the-secret" not in str(info.value)
    # Failures are not cached: the next call asks again.
    with pytest.raises(WeChatApiError):
        await client.access_token()
    assert standin.token_requests == 2


# ---------------------------------------------------------------- window closed


@pytest.mark.parametrize(("errcode", "reason"), [
    (45015, WindowClosedReason.WINDOW_EXPIRED),
    (45047, WindowClosedReason.QUOTA_EXHAUSTED),
    (43004, WindowClosedReason.NOT_SUBSCRIBED),
])
async def test_closed_window_is_a_typed_result(standin: WeChatStandIn,
                                               make_client: Callable[..., WeChatApiClient],
                                               errcode: int, reason: WindowClosedReason
                                               ) -> None:
    client = make_client()
    standin.close_window(OPENID, errcode)
    result = await client.send_text(OPENID, "还在吗？")
    assert isinstance(result, WindowClosed)
    assert (result.reason, result.errcode) == (reason, errcode)
    assert result.advice and result.errmsg
    assert standin.sends == []
    other = "oOtherCustomer000000000000000"
    assert await client.send_text(other, "hi") == Sent()  # only that customer is affected


@pytest.mark.parametrize(("send", "errcode"), [
    (lambda c: c.send_text("not-an-openid", "x"), 40003),
    (lambda c: c.send_image(OPENID, "MEDIA_nope"), 40007),
    (lambda c: c.send_custom({"touser": OPENID, "msgtype": "news", "news": {}}), 40008),
])
async def test_other_errcodes_raise_with_errcode_and_errmsg(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient],
        send: Callable[[WeChatApiClient], Any], errcode: int) -> None:
    with pytest.raises(WeChatApiError) as info:
        await send(make_client())
    assert info.value.errcode == errcode and info.value.errmsg
    assert f"errcode={errcode}" in str(info.value)


async def test_empty_text_and_missing_touser_are_refused_locally(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    client = make_client()
    with pytest.raises(ValueError):
        await client.send_text(OPENID, "")
    with pytest.raises(ValueError):
        await client.send_custom({"msgtype": "text", "text": {"content": "x"}})
    assert standin.token_requests == 0


# ----------------------------------------------------------------------- media


async def test_upload_then_send_image_and_voice(standin: WeChatStandIn,
                                                make_client: Callable[..., WeChatApiClient]
                                                ) -> None:
    client = make_client()
    media_id = await client.upload_media(JPEG, filename="报价单.jpg")
    [upload] = standin.uploads
    assert (upload.media_id, upload.media_type, upload.data) == (media_id, "image", JPEG)
    assert upload.content_type == "image/jpeg" and upload.filename == "image.jpg"
    assert await client.send_image(OPENID, media_id) == Sent()
    voice_id = await client.upload_media(b"#!AMR\n" + b"\x00" * 64, media_type="voice",
                                         filename="v.amr", content_type="audio/amr")
    assert await client.send_voice(OPENID, voice_id) == Sent()
    assert [(s.msgtype, s.payload[s.msgtype]["media_id"]) for s in standin.sends] == [
        ("image", media_id), ("voice", voice_id)]
    assert standin.uploads[1].filename == "v.amr"


async def test_upload_retries_with_a_fresh_form_after_40001(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    client = make_client()
    await client.access_token()
    standin.reject_next_token_uses(40001)
    media_id = await client.upload_media(JPEG)
    assert standin.uploads[-1].media_id == media_id and standin.uploads[-1].data == JPEG


async def test_upload_size_limits_are_checked_before_sending(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    client = make_client(max_media_bytes=1000)
    with pytest.raises(MediaTooLarge) as info:
        await client.upload_media(JPEG)
    assert info.value.limit == 1000 and info.value.size == len(JPEG)
    with pytest.raises(MediaTooLarge):
        await make_client().upload_media(b"x" * (64 * 1024 + 1), media_type="thumb")
    with pytest.raises(ValueError):
        await client.upload_media(b"x", media_type="file")
    assert standin.token_requests == 0 and standin.uploads == []


async def test_fetch_media_returns_bytes_type_and_name(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    media_id = standin.add_media(JPEG, "image/jpeg", "photo.jpg")
    media = await make_client().get_media(media_id)
    assert (media.data, media.content_type, media.filename) == (JPEG, "image/jpeg", "photo.jpg")
    assert standin.media_gets == [media_id]


async def test_fetch_media_errors(standin: WeChatStandIn,
                                  make_client: Callable[..., WeChatApiClient]) -> None:
    client = make_client()
    with pytest.raises(WeChatApiError) as info:
        await client.get_media("MEDIA_unknown")
    assert info.value.errcode == 40007
    big = standin.add_media(b"x" * 5000, "audio/amr", "v.amr")
    with pytest.raises(MediaTooLarge):
        await client.get_media(big, max_bytes=4096)
    assert (await client.get_media(big, max_bytes=5000)).size == 5000


async def test_fetch_media_limit_holds_without_content_length(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    standin.media_chunked = True
    client = make_client()
    big = standin.add_media(b"y" * 5000, "image/png", "p.png")
    with pytest.raises(MediaTooLarge) as info:
        await client.get_media(big, max_bytes=4096)
    assert info.value.size is None  # found out while reading, not from a header
    media = await client.get_media(big, max_bytes=5000)
    assert (media.data, media.content_type) == (b"y" * 5000, "image/png")


async def test_fetch_media_retries_after_an_invalid_token(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    client = make_client()
    media_id = standin.add_media(JPEG)
    await client.access_token()
    standin.reject_next_token_uses(42001)
    assert (await client.get_media(media_id)).data == JPEG
    assert standin.token_requests == 2


# ------------------------------------------------------------------- transport


async def test_unreachable_api_is_a_transport_error_without_secrets(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    client = make_client(api_base=f"http://127.0.0.1:{port}")
    with pytest.raises(ChannelTransportError) as info:
        await client.send_text(OPENID, "x")
    assert standin.app_secret not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_slow_api_times_out(standin: WeChatStandIn,
                                  make_client: Callable[..., WeChatApiClient]) -> None:
    standin.token_delay_s = 0.5
    client = make_client(http_timeout_s=0.1)
    with pytest.raises(ChannelTransportError, match="TimeoutError"):
        await client.access_token()


async def test_a_passed_in_session_is_used_and_left_open(
        standin: WeChatStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        client = WeChatApiClient(config_for(standin), session=session)
        assert await client.send_text(OPENID, "x") == Sent()
        await client.close()
        assert not session.closed


async def test_logs_carry_no_token_secret_or_openid(
        standin: WeChatStandIn, make_client: Callable[..., WeChatApiClient],
        caplog: pytest.LogCaptureFixture) -> None:
    client = make_client()
    with caplog.at_level(logging.DEBUG, logger="chatbridge"):
        await client.send_text(OPENID, "x")
        standin.reject_next_token_uses(40001)
        await client.send_text(OPENID, "y")
        standin.close_window(OPENID)
        await client.send_text(OPENID, "z")
    messages = {r.getMessage() for r in caplog.records}
    assert {"wechat.token.refreshed", "wechat.token.rejected", "wechat.send.ok",
            "wechat.send.window_closed"} <= messages
    dumped = " ".join(str(vars(r)) for r in caplog.records)
    for secret in (OPENID, standin.app_secret, *standin._tokens):
        assert secret not in dumped
