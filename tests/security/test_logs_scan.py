"""A whole run's logs carry no secret and no whole phone number (issue 10, "Done when").

The engine runs as an operator would run it at its most verbose (``logs.configure`` at
DEBUG), with the real local Asterisk: a console login (a wrong password first, then the
password change the first login asks for), the agent signing in and opening the live
socket, a caller with a real-looking number through the IVR to the agent's phone, the
wrap-up with the number in the notes, an admin reading the caller's history, logout.
Every record any logger of the engine writes is formatted as the log file would get it
and scanned for the AMI and AGI secrets, the SIP passwords, every console password
typed, every session token handed out, and the caller's number.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from pyVoIP.VoIP import CallState, PhoneStatus

from callcenter import logs
from callcenter.app import App
from callcenter.simulate.phone import Phone
from callcenter.storage.masking import mask_number
from callcenter.webkit.endpoints import COOKIE
from tests.support.voice import dial_queue, wait_until

pytestmark = pytest.mark.asterisk

NUMBER = "13812345678"
NEW_PASSWORD = "Quartz-Lantern-4471-desk"
ADMIN_PASSWORD = "Copper-Meadow-9183-ops"


class Lines(logging.Handler):
    """Every record, as the engine's log file would have it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logs.KeyValueFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("pyVoIP", "tests")):  # the test's phones, not the engine
            return
        self.lines.append(self.format(record))


@pytest.fixture
def engine_logs() -> Iterator[Lines]:
    """The engine's logging as ``callcenter run`` sets it up, at DEBUG, captured."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level,
             {name: logging.getLogger(name).level for name in ("panoramisk", "aiohttp.access")})
    logs.configure("DEBUG")
    lines = Lines()
    root.addHandler(lines)
    try:
        yield lines
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


def pstn_caller(asterisk, ports, number: str) -> Phone:
    """A caller from the carrier's address (127.0.0.2, the trunk ``carrier`` matched by
    IP: no registration), so the call arrives with ``number`` as its caller ID."""
    low, high = ports.rtp(10)
    phone = Phone(server="127.0.0.1", port=asterisk.sip_port, username=number, password="-",
                  my_ip="127.0.0.2", sip_port=ports.sip(), rtp_low=low, rtp_high=high)
    voip = phone._phone

    def register() -> bool:  # a trunk does not register
        voip._status = PhoneStatus.REGISTERED
        return True

    voip.sip.register = register
    return phone


def token_of(client: aiohttp.ClientSession) -> str:
    return next(c.value for c in client.cookie_jar if c.key == COOKIE)


async def login(base: str, username: str, password: str) -> tuple[aiohttp.ClientSession, int]:
    client = aiohttp.ClientSession(base_url=base, headers={"Origin": base},
                                   cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with client.post("/api/auth/login", json={"username": username,
                                                    "password": password}) as response:
        return client, response.status


async def own_password(client: aiohttp.ClientSession, old: str, new: str) -> None:
    async with client.post("/api/me/password", json={"current_password": old,
                                                     "new_password": new}) as response:
        assert response.status == 200, await response.text()


def secrets_of(app: App, asterisk) -> dict[str, str]:
    config = app.config_store.config
    found = {"AMI secret": config.callcenter.ami.secret.get_secret_value(),
             "AMI secret (test Asterisk)": asterisk.ami_secret,
             "AGI secret": asterisk.agi_secret}
    for agent in config.agents:
        if agent.sip_password is not None:
            found[f"SIP password of {agent.id}"] = agent.sip_password.get_secret_value()
        if agent.password is not None:
            found[f"console password of {agent.id}"] = agent.password.get_secret_value()
    return found


async def test_a_whole_call_leaves_no_secret_and_no_whole_number_in_the_logs(
        engine_logs, voice_app, phones, asterisk, ports, tmp_path: Path):
    app = await voice_app(web=True)
    secrets = secrets_of(app, asterisk)
    base = f"http://127.0.0.1:{app.web_port}"
    await wait_until(lambda: app.link.is_up, what="AMI link")
    zhang = app.config_store.config.agent("zhangwei")
    agent_phone = await phones("1001", zhang.sip_password.get_secret_value(), auto_answer=True)
    clients: list[aiohttp.ClientSession] = []
    caller = pstn_caller(asterisk, ports, NUMBER)
    try:
        # Console: a typo first, then the initial password, then one's own.
        initial = zhang.password.get_secret_value()
        secrets["mistyped password"] = initial + "x"
        secrets["chosen password"] = NEW_PASSWORD
        client, status = await login(base, "zhangwei", initial + "x")
        clients.append(client)
        assert status == 401
        client, status = await login(base, "zhangwei", initial)
        clients.append(client)
        assert status == 200
        secrets["first session token"] = token_of(client)
        await own_password(client, initial, NEW_PASSWORD)
        secrets["session token"] = token_of(client)
        async with client.post("/api/agent/login", json={"device": "1001",
                                                         "ready": True}) as response:
            assert response.status == 200, await response.text()
        socket = await client.ws_connect("/api/ws")

        # The call: IVR (English, sales), queue, the agent's phone answers.
        await asyncio.to_thread(caller.start)
        call = await dial_queue(caller, "sales")
        offer = None
        while offer is None:
            frame = await socket.receive_json(timeout=20)
            offer = frame if frame["topic"] == "agent.offer" else None
        task_id = offer["data"]["task_id"]
        assert NUMBER not in str(offer)
        await wait_until(lambda: task_id in app.voice.calls
                         and app.voice.calls[task_id].bridged, timeout=15,
                         what="the bridge")
        await asyncio.sleep(1.0)
        await asyncio.to_thread(call.hangup)
        await wait_until(lambda: task_id not in app.voice.calls, what="the call to end")
        queue = app.config_store.config.queues[offer["data"]["queue"]]
        async with client.post(f"/api/agent/wrapups/{task_id}", json={
                "disposition": queue.dispositions[0].code,
                "notes": f"请回电 {NUMBER}"}) as response:
            assert response.status in (200, 204), await response.text()

        # An admin reads the caller's history; everyone logs out.
        admin_password = app.config_store.config.agent("admin").password.get_secret_value()
        admin, status = await login(base, "admin", admin_password)
        clients.append(admin)
        assert status == 200
        secrets["admin's first session token"] = token_of(admin)
        secrets["admin's chosen password"] = ADMIN_PASSWORD
        await own_password(admin, admin_password, ADMIN_PASSWORD)
        secrets["admin's session token"] = token_of(admin)
        record = await app.store.get_interaction(task_id)
        assert record is not None and record.customer_id is not None
        async with admin.get(f"/api/customers/{record.customer_id}/history") as response:
            assert response.status == 200
            assert NUMBER in await response.text()  # an admin sees numbers: the number was
            # known to the engine all along
        for session in (client, admin):
            async with session.post("/api/auth/logout") as response:
                assert response.status == 200
        await asyncio.to_thread(agent_phone.incoming[0].wait_state, CallState.ENDED, 5)
    finally:
        caller.stop()
        for session in clients:
            await session.close()
        await app.stop()

    lines = engine_logs.lines
    for event in ("auth.login_failed", "auth.login", "auth.password_changed", "voice.queued",
                  "voice.answered", "app.stopped"):  # each stage logged: the scan saw it
        assert any(f" {event} " in f"{line} " for line in lines), event
    assert any(mask_number(NUMBER) in line for line in lines), \
        "no line mentions the caller at all, masked: is the number reaching the engine?"
    leaks = []
    for what, secret in {**secrets, "the caller's number": NUMBER}.items():
        assert len(secret) >= 6, f"{what} is too short to scan for"
        leaks += [f"{what}: {line}" for line in lines if secret in line]
    assert not leaks, "\n".join(leaks[:20])
