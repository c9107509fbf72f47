"""``/api/phone/ws``: the browser phone's SIP over WebSocket, relayed to the real Asterisk
once the web door has checked the session, the page's origin and the agent's phone."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.asterisk import free_port

CALL_ID = "relay-test-1"
REGISTER = ("REGISTER sip:127.0.0.1 SIP/2.0\r\n"
            "Via: SIP/2.0/WS relay.invalid;branch=z9hG4bK-relay1\r\n"
            "Max-Forwards: 70\r\n"
            "To: <sip:1001-web@127.0.0.1>\r\n"
            "From: <sip:1001-web@127.0.0.1>;tag=relay1\r\n"
            f"Call-ID: {CALL_ID}\r\n"
            "CSeq: 1 REGISTER\r\n"
            "Contact: <sip:1001-web@relay.invalid;transport=ws>\r\n"
            "Expires: 60\r\n"
            "Content-Length: 0\r\n\r\n")


async def _refused(client: aiohttp.ClientSession) -> int:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/api/phone/ws", protocols=("sip",))
    return info.value.status


async def test_the_door_checks_session_origin_and_phone(make_stack):
    stack = await make_stack()
    assert await _refused(await stack.client()) == 401  # nobody signed in
    assert await _refused(await stack.client("zhangwei", origin="https://evil.example")) == 403
    assert await _refused(await stack.client("admin")) == 403  # no browser phone


@pytest.mark.asterisk
async def test_sip_goes_through_to_asterisk_and_back(make_stack, asterisk):
    stack = await make_stack(callcenter=lambda data: data["asterisk"].update(
        websocket_port=asterisk.ws_port))
    client = await stack.client("zhangwei")
    socket = await client.ws_connect("/api/phone/ws", protocols=("sip",))
    assert socket.protocol == "sip"  # JsSIP insists on it
    await socket.send_str(REGISTER)
    answer = await socket.receive_str(timeout=5)
    assert answer.startswith("SIP/2.0 "), answer  # Asterisk's own answer (a challenge)
    assert f"Call-ID: {CALL_ID}" in answer
    await socket.close()


async def test_an_unreachable_phone_server_is_a_clear_503(make_stack):
    stack = await make_stack(callcenter=lambda data: data["asterisk"].update(
        websocket_port=free_port()))
    assert await _refused(await stack.client("zhangwei")) == 503
