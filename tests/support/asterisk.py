"""The real local Asterisk for tests, loopback ports, and a TCP relay a test can cut."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from asterisk import local_asterisk


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _udp_free(port: int) -> bool:
    """Nobody holds this UDP port on any address (a wildcard bind fails otherwise)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class AsteriskInstance:
    name: str
    root: Path
    instance: Path
    instance_inside: str
    ami_port: int
    sip_port: int
    agi_port: int
    ami_user: str
    ami_secret: str
    agi_secret: str
    rtp_start: int
    rtp_end: int
    carrier_port: int = 5070
    ws_port: int = 8088
    """SIP over WebSocket (Asterisk's HTTP server): browser phones register here."""
    """Where the carrier trunk (127.0.0.2) is called: a test's PSTN phone listens here."""

    @property
    def messages_log(self) -> Path:
        return self.instance / "log" / "messages.log"

    def host_path(self, inside: str) -> Path:
        """Where a path Asterisk reports (inside its root) is on this host."""
        return self.root / inside.lstrip("/")

    def cli(self, command: str) -> str:
        """Asterisk's CLI (its control socket): what the AMI user may not do."""
        return local_asterisk.cli(self.root, self.name, command)

    def tester_login(self) -> tuple[str, str]:
        """A second AMI login, in this test instance only, that may also send
        ``UserEvent`` (the "user" write class the engine's login lacks): the AMI link's
        tests use it to make events in a known order."""
        conf = self.instance / "etc" / "manager.conf"
        if f"[{TESTER[0]}]" not in conf.read_text():
            with conf.open("a") as out:
                out.write(f"\n[{TESTER[0]}]\nsecret = {TESTER[1]}\ndeny = 0.0.0.0/0.0.0.0\n"
                          "permit = 127.0.0.1/255.255.255.255\nread = all\n"
                          "write = call,user,reporting\n")
            self.cli("manager reload")
        return TESTER


TESTER = ("cc-tester", "cc-tester-secret")


# A registering caller for pyVoIP (which must register), in the tests' Asterisk only: a
# shipped configuration never has an account whose password is its name.
TEST_CALLER = """
[caller](cc-phone)
context = from-pstn
dtmf_mode = inband
auth = caller
aors = caller

[caller](cc-aor)
; One phone at a time: a new registration replaces a stale one (a phone that
; died without unregistering), so calls to "caller" (callbacks) reach the
; live phone. Several test callers can still all place calls.

[caller](cc-auth)
username = caller
password = caller
"""


def start_instance(name: str) -> AsteriskInstance:
    # RTP ranges per process so parallel runs never collide.
    rtp_start = 20000 + (os.getpid() % 50) * 400
    params = {"AMI_PORT": str(free_port()), "SIP_PORT": str(free_port(socket.SOCK_DGRAM)),
              "AGI_PORT": str(free_port()), "WS_PORT": str(free_port()),
              "RTP_START": str(rtp_start),
              "RTP_END": str(rtp_start + 199), "AMI_USER": "cc-test",
              "AMI_SECRET": "cc-test-secret", "AGI_SECRET": "cc-test-agi-key",
              "CARRIER_PORT": str(free_port(socket.SOCK_DGRAM, "127.0.0.2"))}
    try:
        info = local_asterisk.start(local_asterisk.default_root(), name, params,
                                    files={"include/pjsip_local.conf": TEST_CALLER})
    except local_asterisk.CannotRun as exc:
        pytest.fail(f"the local Asterisk cannot run here: {exc}")
    return AsteriskInstance(
        name=name, root=Path(info["root"]), instance=Path(info["instance"]),
        instance_inside=info["instance_inside"], ami_port=int(params["AMI_PORT"]),
        sip_port=int(params["SIP_PORT"]), agi_port=int(params["AGI_PORT"]),
        ami_user=params["AMI_USER"], ami_secret=params["AMI_SECRET"],
        agi_secret=params["AGI_SECRET"], rtp_start=rtp_start, rtp_end=rtp_start + 199,
        carrier_port=int(params["CARRIER_PORT"]), ws_port=int(params["WS_PORT"]))


class PortPool:
    """Hands out SIP and RTP ports for test phones, none shared with Asterisk."""

    def __init__(self, rtp_base: int) -> None:
        self._next_rtp = rtp_base

    def sip(self) -> int:
        return free_port(socket.SOCK_DGRAM)

    def rtp(self, count: int = 20) -> tuple[int, int]:
        """``count`` UDP ports that nobody holds now. Other test sessions on the machine
        (their Asterisk's RTP, their phones) can hold ports anywhere in this pool: a phone
        given one of those failed to answer ("Address already in use"), so each range is
        checked, not assumed."""
        while True:
            low = self._next_rtp
            self._next_rtp += count
            if self._next_rtp + count > 65000:
                self._next_rtp = 30000
            if all(_udp_free(port) for port in range(low, low + count)):
                return low, low + count - 1


class TcpProxy:
    """A loopback TCP relay a test can cut (RST both ways), freeze (a half-open link),
    make swallow AMI pings (an Asterisk too busy to answer them, still talking) or make
    refuse new connections (an Asterisk not reachable yet)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.frozen = False
        self.swallow_pings = False
        self.refusing = False
        self._server = None
        self._pairs: list[tuple[object, object]] = []

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader, writer) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._pairs.append((writer, up_writer))

        async def pump(src, dst, upstream: bool) -> None:
            pending = b""
            try:
                while data := await src.read(65536):
                    if upstream and self.swallow_pings:  # whole actions only
                        *actions, pending = (pending + data).split(b"\r\n\r\n")
                        data = b"".join(a + b"\r\n\r\n" for a in actions
                                        if b"Action: Ping" not in a)
                    if not self.frozen:  # frozen: bytes vanish, nothing is closed
                        dst.write(data)
                        await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))

    def cut(self) -> None:
        for client, upstream in self._pairs:
            client.transport.abort()
            upstream.transport.abort()
        self._pairs.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
