"""Shared fixtures. The real local Asterisk starts once per test session, only if asked for."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from asterisk import local_asterisk
from callcenter.app import App, AsteriskSite
from callcenter.config import ConfigStore
from callcenter.simulate.phone import Phone
from tests.support.asterisk import AsteriskInstance, PortPool, TcpProxy, start_instance
from tests.support.voice import make_config
from tests.support.webstack import browser, make_stack, screenshots, web_stack

__all__ = ["browser", "make_stack", "screenshots", "web_stack"]  # the console stack's fixtures

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("CALLCENTER_TEST_ARTIFACTS", REPO / "test-artifacts"))


@pytest.fixture(scope="session")
def asterisk() -> Iterator[AsteriskInstance]:
    """A real Asterisk 22 on loopback ports of its own; its logs are kept on failure."""
    instance = start_instance(f"test-{os.getpid()}")
    try:
        yield instance
    finally:
        local_asterisk.stop(instance.root, instance.name)
        logs = ARTIFACTS / "asterisk-logs"
        logs.mkdir(parents=True, exist_ok=True)
        for log in (instance.instance / "log").glob("*.log"):
            (logs / log.name).write_bytes(log.read_bytes())


@pytest.fixture(scope="session")
def ports() -> PortPool:
    return PortPool(30000 + (os.getpid() % 50) * 400)


@pytest.fixture
async def tcp_proxy():
    proxies: list[TcpProxy] = []

    async def make(target_port: int) -> TcpProxy:
        proxy = await TcpProxy(target_port).start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        await proxy.close()


@pytest.fixture
def phones(asterisk, ports):
    """Make registered pyVoIP phones; all are stopped at the end."""
    made: list[Phone] = []

    async def make(username: str, password: str, **kwargs) -> Phone:
        low, high = ports.rtp(10)
        phone = Phone(server="127.0.0.1", port=asterisk.sip_port, username=username,
                      password=password, sip_port=ports.sip(), rtp_low=low, rtp_high=high,
                      **kwargs)
        await asyncio.to_thread(phone.start)
        made.append(phone)
        return phone

    yield make
    for phone in made:
        phone.stop()
    # A leaked RTP thread (non-daemon) would keep the test process from ever exiting.
    deadline = time.monotonic() + 2
    while (leaked := [t for t in threading.enumerate() if t.name.startswith("RTP")
                      and t.is_alive()]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leaked, f"{len(leaked)} pyVoIP RTP thread(s) still running"


@pytest.fixture
def pstn(asterisk, ports):
    """A phone on the carrier's side (127.0.0.2, no registration): it calls in with its
    number as caller ID and receives what Asterisk sends the carrier (callbacks)."""
    made: list[Phone] = []

    async def make(number: str, **kwargs) -> Phone:
        low, high = ports.rtp(10)
        phone = Phone(server="127.0.0.1", port=asterisk.sip_port, username=number,
                      password="-", my_ip="127.0.0.2", sip_port=asterisk.carrier_port,
                      rtp_low=low, rtp_high=high, trunk=True, **kwargs)
        await asyncio.to_thread(phone.start)
        made.append(phone)
        return phone

    yield make
    for phone in made:
        phone.stop()


@pytest.fixture
async def voice_app(tmp_path, asterisk):
    """Start the whole engine (without the web consoles) against the test Asterisk."""
    apps: list[App] = []

    async def start(queue_changes: Callable[[dict], None] | None = None,
                    ami_port: int | None = None, web: bool = False) -> App:
        directory = make_config(tmp_path, asterisk, queue_changes, ami_port)
        app = App(ConfigStore.open(directory), web=web, demo=True,  # the sample's passwords
                  site=AsteriskSite(host_root=str(asterisk.root),
                                    files_dir=asterisk.instance_inside, cli=asterisk.cli))
        await app.start()
        apps.append(app)
        return app

    yield start
    for app in apps:
        await app.stop()


