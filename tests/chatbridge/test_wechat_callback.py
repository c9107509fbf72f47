"""The callback endpoint over loopback HTTP, with the stand-in playing WeChat."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from chatbridge import InboundMessage, Subscribed, TextMessage, TtlDedup, WeChatCallback
from tests.support.wechat import Endpoint, MakeEndpoint, Serve, config_for
from tests.support.wechat_standin import WeChatStandIn, event_xml, text_xml

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
OTHER = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
MODES = ["plaintext", "compatible", "secure"]


async def nothing_more_arrives(endpoint: Endpoint, count: int) -> None:
    """Give background deliveries a chance, then check none beyond ``count`` happened."""
    await endpoint.callback.drain(timeout=1.0)
    await asyncio.sleep(0.02)
    assert len(endpoint.received) == count


# ------------------------------------------------------------------ URL verification


async def test_url_verification_answers_echostr(standin: WeChatStandIn,
                                                make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("plaintext")
    reply = await standin.verify_url(endpoint.url, echostr="5837397520665436492")
    assert (reply.status, reply.text) == (200, "5837397520665436492")


async def test_url_verification_in_secure_mode_decrypts_echostr(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure")
    reply = await standin.verify_url(endpoint.url, echostr="echo-7781", encrypted=True)
    assert (reply.status, reply.text) == (200, "echo-7781")
    plain = await standin.verify_url(endpoint.url, echostr="echo-plain")
    assert (plain.status, plain.text) == (200, "echo-plain")


async def test_url_verification_refusals(standin: WeChatStandIn,
                                         make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure")
    session = standin._session
    assert session is not None
    now = str(int(time.time()))

    async def get(params: dict[str, str]) -> tuple[int, str]:
        async with session.get(endpoint.url, params=params) as resp:
            return resp.status, await resp.text()

    good = {"signature": standin.sign(now, "n1"), "timestamp": now, "nonce": "n1",
            "echostr": "e1"}
    assert await get(good) == (200, "e1")
    assert await get({**good, "signature": "0" * 40}) == (403, "bad signature")
    assert await get({k: v for k, v in good.items() if k != "signature"}) \
        == (403, "missing signature")
    old = str(int(time.time()) - 301)
    assert (await get({**good, "timestamp": old, "signature": standin.sign(old, "n1")}))[0] \
        == 403
    assert await get({k: v for k, v in good.items() if k != "echostr"}) \
        == (400, "missing echostr")
    encrypted = standin.encrypt("e2")
    bad_msg_sig = {**good, "echostr": encrypted, "msg_signature": standin.sign("x", "y")}
    assert await get(bad_msg_sig) == (403, "bad msg_signature")


# ---------------------------------------------------------------- messages per mode


@pytest.mark.parametrize("mode", MODES)
async def test_message_is_accepted_and_delivered(standin: WeChatStandIn,
                                                 make_endpoint: MakeEndpoint,
                                                 mode: str) -> None:
    endpoint = await make_endpoint(mode)
    reply = await standin.push(endpoint.url, text_xml(OPENID, f"你好 ({mode})", 1001),
                               mode=mode)
    assert reply.ok, reply
    [message] = await endpoint.wait_for(1)
    assert isinstance(message, TextMessage)
    assert (message.text, message.sender, message.message_id) == (f"你好 ({mode})", OPENID,
                                                                  "1001")


async def test_compatible_mode_reads_the_encrypted_copy(standin: WeChatStandIn,
                                                        make_endpoint: MakeEndpoint) -> None:
    # A forger who can replay a query cannot change the (unsigned) plain copy alone.
    endpoint = await make_endpoint("compatible")
    params, body = standin.callback_request(text_xml(OPENID, "real", 1002), mode="compatible")
    forged = body.replace(b"<![CDATA[real]]>", b"<![CDATA[forged]]>", 1)
    assert forged != body
    assert (await standin.post(endpoint.url, params, forged)).ok
    [message] = await endpoint.wait_for(1)
    assert isinstance(message, TextMessage) and message.text == "real"


async def test_secure_mode_checks_msg_signature_not_just_signature(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure")
    params, body = standin.callback_request(text_xml(OPENID, "hi", 1003), mode="secure")
    # The query signature is valid, msg_signature is not: must be refused.
    bad = {**params, "msg_signature": standin.sign(params["timestamp"], params["nonce"],
                                                   "some other Encrypt")}
    reply = await standin.post(endpoint.url, bad, body)
    assert (reply.status, reply.text) == (403, "bad msg_signature")
    missing = {k: v for k, v in params.items() if k != "msg_signature"}
    reply = await standin.post(endpoint.url, missing, body)
    assert (reply.status, reply.text) == (403, "missing msg_signature")
    # A bad query signature is refused even when msg_signature is right.
    reply = await standin.post(endpoint.url, {**params, "signature": "0" * 40}, body)
    assert (reply.status, reply.text) == (403, "bad signature")
    await nothing_more_arrives(endpoint, 0)
    assert (await standin.post(endpoint.url, params, body)).ok  # the genuine one passes
    await endpoint.wait_for(1)


async def test_secure_mode_refuses_plaintext_bodies(standin: WeChatStandIn,
                                                    make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure")
    params, body = standin.callback_request(text_xml(OPENID, "hi", 1004), mode="plaintext")
    reply = await standin.post(endpoint.url, params, body)
    assert (reply.status, reply.text) == (403, "missing msg_signature")
    # Even with a msg_signature, a body without Encrypt is refused.
    params["msg_signature"] = standin.sign(params["timestamp"], params["nonce"], "")
    reply = await standin.post(endpoint.url, params, body)
    assert (reply.status, reply.text) == (400, "no Encrypt field in an encrypted callback")
    await nothing_more_arrives(endpoint, 0)


async def test_compatible_mode_without_msg_signature_reads_the_signed_plain_copy(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("compatible")
    params, body = standin.callback_request(text_xml(OPENID, "plain", 1010), mode="compatible")
    del params["msg_signature"]
    assert (await standin.post(endpoint.url, {**params, "signature": "0" * 40}, body)).status \
        == 403
    assert (await standin.post(endpoint.url, params, body)).ok
    [message] = await endpoint.wait_for(1)
    assert isinstance(message, TextMessage) and message.text == "plain"


async def test_plaintext_mode_refuses_encrypted_bodies(standin: WeChatStandIn,
                                                       make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("plaintext")
    reply = await standin.push(endpoint.url, text_xml(OPENID, "hi", 1005), mode="secure")
    assert reply.status == 400 and "plaintext mode" in reply.text


@pytest.mark.parametrize("mode", MODES)
async def test_bad_missing_and_replayed_signatures(standin: WeChatStandIn,
                                                   make_endpoint: MakeEndpoint,
                                                   mode: str) -> None:
    endpoint = await make_endpoint(mode)
    xml = text_xml(OPENID, "hi", 1006)
    params, body = standin.callback_request(xml, mode=mode)
    key = "signature" if mode == "plaintext" else "msg_signature"
    assert (await standin.post(endpoint.url, {**params, key: "f" * 40}, body)).status == 403
    unsigned = {k: v for k, v in params.items() if k not in ("signature", "msg_signature")}
    assert (await standin.post(endpoint.url, unsigned, body)).status == 403
    old = int(time.time()) - 301
    replay = await standin.push(endpoint.url, xml, mode=mode, timestamp=old)
    assert (replay.status, replay.text) == (403,
                                            "timestamp too old (replayed or delayed request)")
    future = await standin.push(endpoint.url, xml, mode=mode, timestamp=int(time.time()) + 301)
    assert (future.status, future.text) == (403, "timestamp too far in the future")
    await nothing_more_arrives(endpoint, 0)


async def test_appid_mismatch_is_refused(standin: WeChatStandIn,
                                         make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure")
    reply = await standin.push(endpoint.url, text_xml(OPENID, "hi", 1007), mode="secure",
                               app_id="wx9999999999999999")
    assert (reply.status, reply.text) == (403, "message is for another appid")
    await nothing_more_arrives(endpoint, 0)


async def test_oversized_and_hostile_bodies_are_refused_and_the_server_lives_on(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("plaintext", max_body_bytes=4096)
    big = text_xml(OPENID, "x" * 5000, 1008)
    reply = await standin.push(endpoint.url, big, mode="plaintext")
    assert reply.status == 413
    bomb = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>')
    params, _ = standin.callback_request(text_xml(OPENID, "x", 1), mode="plaintext")
    reply = await standin.post(endpoint.url, params, bomb)
    assert reply.status == 400 and "forbidden XML construct" in reply.text
    reply = await standin.post(endpoint.url, params, b"<xml><Content>\xff</Content></xml>")
    assert (reply.status, reply.text) == (400, "body is not valid UTF-8")
    assert (await standin.push(endpoint.url, text_xml(OPENID, "ok", 1009),
                               mode="plaintext")).ok
    [message] = await endpoint.wait_for(1)
    assert message.message_id == "1009"


async def test_secure_mode_inner_xml_is_checked_too(standin: WeChatStandIn,
                                                    make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure")
    inner = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
             '<xml><Content>&x;</Content></xml>')
    reply = await standin.push(endpoint.url, inner, mode="secure")
    assert reply.status == 400 and "forbidden XML construct" in reply.text


async def test_streamed_body_without_length_is_cut_at_the_limit(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("plaintext", max_body_bytes=4096)
    params, _ = standin.callback_request(text_xml(OPENID, "x", 1), mode="plaintext")

    async def chunks():
        for _ in range(100):
            yield b"<a>" + b"x" * 1000 + b"</a>"

    assert standin._session is not None
    async with standin._session.post(endpoint.url, params=params, data=chunks()) as resp:
        assert resp.status == 413


async def test_other_methods_are_not_allowed(standin: WeChatStandIn,
                                             make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("plaintext")
    assert standin._session is not None
    async with standin._session.put(endpoint.url, data=b"x") as resp:
        assert resp.status == 405


# -------------------------------------------------------------------- idempotency


@pytest.mark.parametrize("mode", ["plaintext", "secure"])
async def test_retries_of_one_message_are_delivered_once(standin: WeChatStandIn,
                                                         make_endpoint: MakeEndpoint,
                                                         mode: str) -> None:
    endpoint = await make_endpoint(mode)
    xml = text_xml(OPENID, "只一次", 2001)
    replies = await standin.push_with_retries(endpoint.url, xml, mode=mode, attempts=3,
                                              retry_even_if_ok=True)
    assert [r.ok for r in replies] == [True, True, True]
    await endpoint.wait_for(1)
    await nothing_more_arrives(endpoint, 1)
    assert (await standin.push(endpoint.url, text_xml(OPENID, "新的", 2002), mode=mode)).ok
    await endpoint.wait_for(2)
    assert [m.message_id for m in endpoint.received] == ["2001", "2002"]


async def test_events_are_deduplicated_by_sender_and_create_time(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure")
    stamp = int(time.time())
    for xml in [event_xml(OPENID, "subscribe", create_time=stamp),
                event_xml(OPENID, "subscribe", create_time=stamp),  # a retry
                event_xml(OPENID, "subscribe", create_time=stamp + 1),
                event_xml(OTHER, "subscribe", create_time=stamp)]:
        assert (await standin.push(endpoint.url, xml, mode="secure")).ok
    await endpoint.wait_for(3)
    await nothing_more_arrives(endpoint, 3)
    assert all(isinstance(m, Subscribed) for m in endpoint.received)
    assert sorted((m.sender, m.created_at) for m in endpoint.received) == sorted(
        [(OPENID, stamp), (OPENID, stamp + 1), (OTHER, stamp)])


async def test_the_dedup_key_is_exposed_for_persistent_dedup(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("plaintext")
    await standin.push(endpoint.url, text_xml(OPENID, "a", 2003), mode="plaintext")
    [message] = await endpoint.wait_for(1)
    assert message.dedup_key == "wechat:gh_standin0001:msg:2003"


async def test_a_dedup_memory_passed_in_is_the_one_used(standin: WeChatStandIn,
                                                         serve: Serve) -> None:
    shared = TtlDedup(ttl_s=60, max_entries=10)
    first = WeChatCallback(config_for(standin, "plaintext"), dedup=shared)
    second = WeChatCallback(config_for(standin, "plaintext"), dedup=shared)
    endpoints = [Endpoint(await serve(cb.handle), cb) for cb in (first, second)]
    for endpoint in endpoints:
        endpoint.callback.set_consumer(endpoint.consumer)
        assert (await standin.push(endpoint.url, text_xml(OPENID, "x", 2004),
                                   mode="plaintext")).ok
    await endpoints[0].wait_for(1)
    assert "wechat:gh_standin0001:msg:2004" in shared
    await nothing_more_arrives(endpoints[1], 0)
    for endpoint in endpoints:
        await endpoint.callback.aclose()


# ------------------------------------------------------------------- the 5 s rule


async def test_answer_is_immediate_while_the_consumer_is_slow(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure", consumer=False)
    release = asyncio.Event()
    started: list[str] = []
    finished: list[str] = []

    async def slow(message: InboundMessage) -> None:
        started.append(message.message_id or "")
        await release.wait()  # a consumer stuck far beyond WeChat's 5 s
        finished.append(message.message_id or "")

    endpoint.callback.set_consumer(slow)
    replies = []
    for msg_id in (3001, 3002, 3003):
        replies.append(await standin.push(endpoint.url, text_xml(OPENID, "hi", msg_id),
                                          mode="secure", timeout=1.0))
    other = await standin.push(endpoint.url, text_xml(OTHER, "hi", 3004), mode="secure",
                               timeout=1.0)
    assert all(r.ok for r in [*replies, other]), [*replies, other]
    assert max(r.elapsed_s for r in [*replies, other]) < 1.0
    await asyncio.sleep(0.05)
    # One customer's messages wait for each other (order); other customers do not.
    assert sorted(started) == ["3001", "3004"]
    assert endpoint.callback.pending == 4
    release.set()
    assert await endpoint.callback.drain(timeout=2.0)
    assert [m for m in finished if m != "3004"] == ["3001", "3002", "3003"]


async def test_a_failing_consumer_does_not_reach_wechat_or_stop_delivery(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint,
        caplog: pytest.LogCaptureFixture) -> None:
    endpoint = await make_endpoint("plaintext", consumer=False)
    seen: list[str | None] = []

    async def flaky(message: InboundMessage) -> None:
        seen.append(message.message_id)
        if message.message_id == "4001":
            raise RuntimeError("database down")

    endpoint.callback.set_consumer(flaky)
    with caplog.at_level(logging.ERROR, logger="chatbridge.wechat"):
        for msg_id in (4001, 4002):
            assert (await standin.push(endpoint.url, text_xml(OPENID, "x", msg_id),
                                       mode="plaintext")).ok
        assert await endpoint.callback.drain(timeout=2.0)
    assert seen == ["4001", "4002"]
    assert any(r.getMessage() == "wechat.deliver.failed" for r in caplog.records)


async def test_without_a_consumer_wechat_is_told_to_retry(standin: WeChatStandIn,
                                                          make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure", consumer=False)
    xml = text_xml(OPENID, "early", 5001)
    early = await standin.push(endpoint.url, xml, mode="secure")
    assert early.status == 503
    endpoint.callback.set_consumer(endpoint.consumer)
    retry = await standin.push(endpoint.url, xml, mode="secure")  # not taken for a duplicate
    assert retry.ok
    [message] = await endpoint.wait_for(1)
    assert message.message_id == "5001"


async def test_backlog_limit(standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("plaintext", consumer=False, max_pending_deliveries=2)
    release = asyncio.Event()

    async def stuck(message: InboundMessage) -> None:
        await release.wait()

    endpoint.callback.set_consumer(stuck)
    statuses = [(await standin.push(endpoint.url, text_xml(OPENID, "x", i),
                                    mode="plaintext")).status for i in (6001, 6002, 6003)]
    assert statuses == [200, 200, 503]
    release.set()
    assert await endpoint.callback.drain(timeout=2.0)
    assert (await standin.push(endpoint.url, text_xml(OPENID, "x", 6003), mode="plaintext")).ok


async def test_aclose_cancels_what_does_not_finish(standin: WeChatStandIn,
                                                   make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("plaintext", consumer=False)
    cancelled = asyncio.Event()

    async def forever(message: InboundMessage) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    endpoint.callback.set_consumer(forever)
    assert (await standin.push(endpoint.url, text_xml(OPENID, "x", 7001), mode="plaintext")).ok
    await endpoint.callback.aclose(timeout=0.1)
    assert cancelled.is_set() and endpoint.callback.pending == 0
    after = await standin.push(endpoint.url, text_xml(OPENID, "x", 7002), mode="plaintext")
    assert after.status == 503


# ------------------------------------------------------------------------ logging


async def test_logs_carry_no_openid_token_or_key(standin: WeChatStandIn,
                                                 make_endpoint: MakeEndpoint,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    endpoint = await make_endpoint("secure")
    with caplog.at_level(logging.DEBUG, logger="chatbridge"):
        await standin.push(endpoint.url, text_xml(OPENID, "x", 8001), mode="secure")
        await standin.push(endpoint.url, text_xml(OPENID, "x", 8001), mode="secure")
        await standin.push(endpoint.url, text_xml(OPENID, "x", 8002), mode="secure",
                           timestamp=1)
        await endpoint.wait_for(1)
    assert {"wechat.callback.accepted", "wechat.callback.duplicate",
            "wechat.callback.rejected"} <= {r.getMessage() for r in caplog.records}
    dumped = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    for secret in (OPENID, standin.token, standin.encoding_aes_key):
        assert secret not in dumped
    assert "oUpF…eS6o" in dumped


# ------------------------------------------------------------- direct (no HTTP)


def test_process_can_be_used_without_aiohttp(standin: WeChatStandIn) -> None:
    callback = WeChatCallback(config_for(standin, "secure"))
    params, body = standin.callback_request(text_xml(OPENID, "直接", 9001), mode="secure")
    message = callback.process(params, body)
    assert isinstance(message, TextMessage) and message.text == "直接"


async def test_a_keeper_stores_before_the_answer_and_its_failure_asks_for_a_retry(
        standin: WeChatStandIn, make_endpoint: MakeEndpoint) -> None:
    endpoint = await make_endpoint("secure")
    kept: list[str | None] = []
    failing = [True]

    async def keeper(message: InboundMessage) -> None:
        if failing[0]:
            raise RuntimeError("disk full")
        kept.append(message.message_id)
        assert not endpoint.received  # stored before anyone is handed the message

    endpoint.callback.set_consumer(endpoint.consumer, keeper)
    xml = text_xml(OPENID, "hi", 9001)
    assert (await standin.push(endpoint.url, xml, mode="secure")).status == 503
    failing[0] = False
    assert (await standin.push(endpoint.url, xml, mode="secure")).ok  # the retry gets in
    [message] = await endpoint.wait_for(1)
    assert kept == ["9001"] == [message.message_id]
