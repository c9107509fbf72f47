"""The private Asterisk answers AMI and the 400 number: the ground the product stands on."""

from __future__ import annotations

import asyncio

import pytest
from panoramisk import Manager
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import Phone

pytestmark = pytest.mark.asterisk


async def test_ami_login_and_core_status(asterisk):
    manager = Manager(host="127.0.0.1", port=asterisk.ami_port, username=asterisk.ami_user,
                      secret=asterisk.ami_secret, ping_delay=0)
    await manager.connect()
    try:
        reply = await manager.send_action({"Action": "CoreStatus"})
        assert reply.Response == "Success"
        assert int(reply.CoreCurrentCalls) >= 0
        settings = await manager.send_action({"Action": "CoreSettings"})
        assert settings.AsteriskVersion.startswith("22.")
    finally:
        manager.close()


async def test_caller_dials_the_400_number_and_waits_while_no_engine_answers(asterisk, ports):
    """A pyVoIP phone registers, dials 4008001234, and is answered by the inbound context.

    No IVR server listens in this test (as when the engine is down): the caller is
    not hung up but held with music, and the IVR is tried again every few seconds."""
    manager = Manager(host="127.0.0.1", port=asterisk.ami_port, username=asterisk.ami_user,
                      secret=asterisk.ami_secret, ping_delay=0)
    answered_exten: list[str] = []

    def on_newstate(_manager, event):
        if event.get("ChannelStateDesc") == "Up" and event.get("Context") == "from-pstn":
            answered_exten.append(event.get("Exten"))

    standby: list[str] = []

    def on_user_event(_manager, event):
        if event.get("UserEvent") == "CallCenterStandby":
            standby.append(event.get("Since"))

    manager.register_event("Newstate", on_newstate)
    manager.register_event("UserEvent", on_user_event)
    await manager.connect()
    low, high = ports.rtp()
    phone = Phone(server="127.0.0.1", port=asterisk.sip_port, username="caller",
                  password="caller", sip_port=ports.sip(), rtp_low=low, rtp_high=high)
    try:
        await asyncio.to_thread(phone.start)
        call = await asyncio.to_thread(phone.call, "4008001234")
        for _ in range(200):
            if answered_exten:
                break
            await asyncio.sleep(0.05)
        assert answered_exten == ["4008001234"]
        for _ in range(200):  # the first try, and one retry CC_ENGINE_RETRY (3 s) later
            if len(standby) >= 2:
                break
            await asyncio.sleep(0.05)
        assert len(standby) >= 2 and len(set(standby)) == 1, standby  # one wait, kept
        assert call.state == CallState.ANSWERED
        await asyncio.to_thread(call.hangup)
    finally:
        await asyncio.to_thread(phone.stop)
        manager.close()
