"""The browser phones' door: Asterisk's HTTP server with SIP over WebSocket.

It listens on sip_bind only (loopback here), shows no status page or server banner, and
whoever connects proves every REGISTER and INVITE with the agent's SIP password, as a
desk phone does.
"""

from __future__ import annotations

import hashlib
import re
import uuid

import aiohttp
import pytest

pytestmark = pytest.mark.asterisk


class SipOverWebSocket:
    """A bare SIP client over WebSocket: one request at a time, digest auth by hand."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, user: str) -> None:
        self.ws, self.user = ws, user
        self.call_id, self.tag, self.cseq = uuid.uuid4().hex, uuid.uuid4().hex[:8], 0
        self.aor = f"sip:{user}@127.0.0.1"

    async def request(self, method: str, target: str, password: str | None = None) -> str:
        """Send ``method``; answer a digest challenge with ``password``; the final reply."""
        reply = await self._send(method, target, None)
        if password is not None and reply.startswith("SIP/2.0 401"):
            challenge = re.search(r'WWW-Authenticate: Digest (.*)', reply).group(1)
            fields = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
            ha1 = _md5(f"{self.user}:{fields['realm']}:{password}")
            ha2 = _md5(f"{method}:{target}")
            nc, cnonce = "00000001", uuid.uuid4().hex[:8]
            response = _md5(f"{ha1}:{fields['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            reply = await self._send(method, target, (
                f'Digest username="{self.user}", realm="{fields["realm"]}", '
                f'nonce="{fields["nonce"]}", uri="{target}", response="{response}", '
                f'algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"'
                + (f', opaque="{fields["opaque"]}"' if "opaque" in fields else "")))
        return reply

    async def _send(self, method: str, target: str, authorization: str | None) -> str:
        self.cseq += 1
        body = ""
        extra = ""
        if method == "INVITE":
            body = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                    "t=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
            extra = "Content-Type: application/sdp\r\n"
        if authorization:
            extra += f"Authorization: {authorization}\r\n"
        await self.ws.send_str(
            f"{method} {target} SIP/2.0\r\n"
            f"Via: SIP/2.0/WS test.invalid;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:{self.user}@127.0.0.1>;tag={self.tag}\r\n"
            f"To: <{self.aor if method == 'REGISTER' else target}>\r\n"
            f"Call-ID: {self.call_id}\r\nCSeq: {self.cseq} {method}\r\n"
            f"Contact: <sip:{self.user}@test.invalid;transport=ws>\r\nExpires: 60\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n{body}")
        while True:  # provisional replies (100 Trying) and Asterisk's OPTIONS pass by
            reply = (await self.ws.receive(timeout=5)).data
            if re.match(r"SIP/2.0 [2-6]\d\d", reply):
                return reply


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # SIP digest is MD5


async def test_the_websocket_door_asks_each_agents_sip_password(voice_app, asterisk):
    await voice_app()  # writes the agents' endpoints, desk and browser, and reloads PJSIP
    url = f"ws://127.0.0.1:{asterisk.ws_port}/ws"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, protocols=("sip",)) as ws:
            phone = SipOverWebSocket(ws, "1001-web")
            registrar = "sip:127.0.0.1"
            assert (await phone.request("REGISTER", registrar)).startswith("SIP/2.0 401")
            wrong = await phone.request("REGISTER", registrar, "dev-sip-1002")
            assert wrong.startswith(("SIP/2.0 401", "SIP/2.0 403")), wrong.splitlines()[0]
            # No call to the 400 number (or anywhere) without the password either.
            invite = await phone.request("INVITE", "sip:4008001234@127.0.0.1")
            assert invite.startswith(("SIP/2.0 401", "SIP/2.0 403")), invite.splitlines()[0]
            right = await phone.request("REGISTER", registrar, "dev-sip-1001")
            assert right.startswith("SIP/2.0 200"), right.splitlines()[0]
            # A connection that proved itself once is asked again: nothing is remembered.
            assert (await phone.request("REGISTER", registrar)).startswith("SIP/2.0 401")
        # Someone else's name: the same answer as a wrong password.
        async with session.ws_connect(url, protocols=("sip",)) as ws:
            stranger = SipOverWebSocket(ws, "nobody")
            reply = await stranger.request("REGISTER", "sip:127.0.0.1", "dev-sip-1001")
            assert reply.startswith(("SIP/2.0 401", "SIP/2.0 403")), reply.splitlines()[0]
        # Nothing else is served, and nothing says what runs there.
        async with session.get(f"http://127.0.0.1:{asterisk.ws_port}/httpstatus") as response:
            assert response.status == 404
            assert "Server" not in response.headers


async def test_the_websocket_door_listens_on_sip_bind_only(asterisk):
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.2:{asterisk.ws_port}/ws")
