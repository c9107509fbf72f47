"""The AMI link against the real Asterisk: ordered events, timeouts, drops, half-open links."""

from __future__ import annotations

import asyncio
import time

import pytest

from callcenter.ami import AmiLink, AmiTimeout, AmiUnavailable
from callcenter.ami.link import LINK_DOWN, LINK_UP, AmiEvent

pytestmark = pytest.mark.asterisk


def make_link(asterisk, port: int, **kwargs) -> AmiLink:
    """A link logged in as the test instance's tester, who may send UserEvents."""
    options = {"ping_interval": 0.5, "reconnect_max_delay": 0.5, "action_timeout": 2.0}
    options.update(kwargs)
    username, secret = asterisk.tester_login()
    return AmiLink(host="127.0.0.1", port=port, username=username, secret=secret, **options)


async def link_up(link: AmiLink) -> list[str]:
    """Start the link and wait for it to be up; the LinkUp/LinkDown markers it reports."""
    markers: list[str] = []
    link.on_event(lambda e: markers.append(e.name) if e.name in (LINK_UP, LINK_DOWN) else None)
    await link.start()
    await link.wait_up(5)
    return markers


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_user_events_arrive_in_the_order_asterisk_sent_them(asterisk):
    link = make_link(asterisk, asterisk.ami_port)
    seen: list[str] = []

    async def slow_then_fast(event: AmiEvent) -> None:
        if event.name == "UserEvent" and event.get("UserEvent") == "CcOrder":
            # A slow handler must not let later events overtake earlier ones.
            await asyncio.sleep(0.01 if int(event.get("Seq")) % 2 == 0 else 0)
            seen.append(event.get("Seq"))

    link.on_event(slow_then_fast)
    await link.start()
    await link.wait_up(5)
    try:
        for seq in range(20):
            await link.action({"Action": "UserEvent", "UserEvent": "CcOrder", "Seq": str(seq)})
        await wait_for(lambda: len(seen) == 20)
        assert seen == [str(n) for n in range(20)]
    finally:
        await link.close()


async def test_a_failing_handler_does_not_kill_the_link(asterisk):
    link = make_link(asterisk, asterisk.ami_port)
    seen: list[str] = []

    def explode(event: AmiEvent) -> None:
        if event.get("UserEvent") == "CcBoom":
            raise ValueError("handler bug")
        if event.get("UserEvent") == "CcAfter":
            seen.append("after")

    link.on_event(explode)
    await link.start()
    await link.wait_up(5)
    try:
        await link.action({"Action": "UserEvent", "UserEvent": "CcBoom"})
        await link.action({"Action": "UserEvent", "UserEvent": "CcAfter"})
        await wait_for(lambda: seen == ["after"])
        assert link.is_up
    finally:
        await link.close()


async def test_cut_link_reconnects_and_reports_down_then_up(asterisk, tcp_proxy):
    proxy = await tcp_proxy(asterisk.ami_port)
    link = make_link(asterisk, proxy.port)
    markers = await link_up(link)
    try:
        proxy.cut()
        await wait_for(lambda: markers[-2:] == [LINK_DOWN, LINK_UP], timeout=5)
        assert markers == [LINK_UP, LINK_DOWN, LINK_UP]
        reply = await link.action({"Action": "Ping"})
        assert reply.get("Response") == "Success"
    finally:
        await link.close()


async def test_half_open_link_is_detected_by_the_watchdog(asterisk, tcp_proxy):
    proxy = await tcp_proxy(asterisk.ami_port)
    link = make_link(asterisk, proxy.port, ping_interval=0.3)
    markers = await link_up(link)
    try:
        proxy.frozen = True  # nothing closes; bytes just stop
        started = time.monotonic()
        await wait_for(lambda: LINK_DOWN in markers, timeout=5)
        assert time.monotonic() - started < 3
        with pytest.raises(AmiUnavailable):
            await link.action({"Action": "Ping"})
        proxy.frozen = False
        await wait_for(lambda: markers[-1] == LINK_UP, timeout=5)
    finally:
        await link.close()


async def test_a_busy_asterisk_answering_pings_late_keeps_its_link(asterisk, tcp_proxy):
    """Under load a Ping waits behind hundreds of actions; Asterisk still talks, so the
    link is alive: dropping it would cut every action in flight."""
    proxy = await tcp_proxy(asterisk.ami_port)
    link = make_link(asterisk, proxy.port, ping_interval=0.3)
    markers = await link_up(link)
    try:
        proxy.swallow_pings = True  # no ping is answered; everything else is
        until = time.monotonic() + 2.0
        while time.monotonic() < until:
            await link.action({"Action": "UserEvent", "UserEvent": "CcBusy"})
            await asyncio.sleep(0.05)
        assert markers == [LINK_UP]
    finally:
        await link.close()


async def test_an_unanswered_action_is_never_replayed_after_reconnect(asterisk, tcp_proxy):
    """A late Originate would ring an agent for a caller long gone: no replay, ever."""
    proxy = await tcp_proxy(asterisk.ami_port)
    link = make_link(asterisk, proxy.port, ping_interval=0.3)
    replayed: list[AmiEvent] = []
    link.on_event(lambda e: replayed.append(e) if e.get("UserEvent") == "CcLate" else None)
    await link.start()
    await link.wait_up(5)
    try:
        proxy.frozen = True
        with pytest.raises(AmiTimeout):
            await link.action({"Action": "UserEvent", "UserEvent": "CcLate"}, timeout=0.2)
        await wait_for(lambda: not link.is_up, timeout=5)
        proxy.frozen = False
        await wait_for(lambda: link.connects >= 2 and link.is_up, timeout=5)
        await link.action({"Action": "UserEvent", "UserEvent": "CcMarker"})
        await asyncio.sleep(0.5)
        assert replayed == []
    finally:
        await link.close()
