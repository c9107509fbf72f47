"""Real softphones (issue 9): a phone that registers from another address than the
engine's is an agent's phone like any other, and is rung for a call."""

from __future__ import annotations

import asyncio

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import Phone, energy, tone
from tests.support.voice import (
    agent_state,
    dial_queue,
    hands_free,
    make_config,
    queued,
    wait_until,
)

pytestmark = pytest.mark.asterisk

ELSEWHERE = "127.0.0.3"  # another loopback address: not the engine's, not the carrier's


async def test_an_agent_phone_registered_from_another_address_receives_a_call(
        voice_app, phones, asterisk, ports):
    app = await voice_app()
    low, high = ports.rtp(10)
    agent_phone = Phone(server="127.0.0.1", port=asterisk.sip_port, username="1001",
                        password="dev-sip-1001", my_ip=ELSEWHERE, sip_port=ports.sip(),
                        rtp_low=low, rtp_high=high, auto_answer=True)
    await asyncio.to_thread(agent_phone.start)
    try:
        contacts = await asyncio.to_thread(asterisk.cli, "pjsip show contacts")
        assert f"1001/sip:1001@{ELSEWHERE}" in contacts, contacts
        app.agents.login("zhangwei", device="1001", ready=True)
        await wait_until(lambda: app.agents.sessions["zhangwei"].device_ok,
                         what="the phone seen registered")
        call = await dial_queue(await phones("caller", "caller"), "sales")
        (task_id,) = await queued(app)
        await wait_until(lambda: agent_phone.incoming, timeout=15, what="the agent rung")
        await wait_until(lambda: app.voice.calls[task_id].bridged, what="the bridge")
        leg = agent_phone.incoming[0]
        heard, _ = await asyncio.gather(asyncio.to_thread(leg.listen, 1.2),
                                        asyncio.to_thread(call.play, tone(660, 1.2)))
        assert energy(heard) > 0.1  # media reaches the phone at its own address
        await asyncio.to_thread(call.hangup)
        await wait_until(lambda: agent_state(app, "zhangwei") == "wrap_up", what="wrap-up")
        assert call.state == CallState.ENDED
    finally:
        await asyncio.to_thread(agent_phone.stop)


async def test_a_phone_that_vanished_without_unregistering_gets_no_calls(
        voice_app, phones):
    """Agents' contacts are qualified: one that stops answering is unreachable, its agent
    unavailable for calls (though still registered), and available again when it answers."""
    app = await voice_app()
    gone = await phones("1001", "dev-sip-1001", auto_answer=True)
    other = await phones("1002", "dev-sip-1002", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=True)
    app.agents.login("lina", device="1002", ready=False)
    await wait_until(lambda: app.routing.agent("zhangwei").presence.value == "ready",
                     what="zhangwei ready")
    gone.unplug()
    await wait_until(lambda: not app.agents.sessions["zhangwei"].device_ok, timeout=40,
                     what="the unreachable phone taken out of calls")
    app.agents.set_state("lina", "ready")
    call = await dial_queue(await phones("caller", "caller"), "sales")
    (task_id,) = await queued(app)
    await wait_until(lambda: app.voice.calls[task_id].bridged, timeout=20,
                     what="the call served by the reachable agent")
    assert app.voice.calls[task_id].agent_id == "lina" and not gone.incoming
    await asyncio.to_thread(call.hangup)
    assert other.incoming


async def test_the_agent_is_told_when_a_second_device_replaces_their_phone(
        voice_app, phones, asterisk, ports):
    app = await voice_app()
    await phones("1001", "dev-sip-1001", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=True)
    told = app.bus.subscribe(lambda e: e.topic == "agent.phone" and e.agent_id == "zhangwei"
                             and "replaced_by" in e.data)
    low, high = ports.rtp(10)
    second = Phone(server="127.0.0.1", port=asterisk.sip_port, username="1001",
                   password="dev-sip-1001", my_ip=ELSEWHERE, sip_port=ports.sip(),
                   rtp_low=low, rtp_high=high, auto_answer=True)
    await asyncio.to_thread(second.start)
    try:
        event = await asyncio.wait_for(told.get(), 10)
        assert event.data["replaced_by"].startswith(ELSEWHERE)
        contacts = await asyncio.to_thread(asterisk.cli, "pjsip show contacts")
        assert f"1001/sip:1001@{ELSEWHERE}" in contacts and "1001/sip:1001@127.0.0.1" \
            not in contacts, contacts
    finally:
        await asyncio.to_thread(second.stop)


def _invites(phone: Phone) -> list[bytes]:
    return [raw for raw in phone.received if raw.startswith(b"INVITE ")]


async def test_an_agent_who_answers_hands_free_is_rung_with_auto_answer(
        voice_app, phones, tmp_path, asterisk):
    """agents.yaml ``auto_answer``: the ring to the agent's phone asks it to pick up by
    itself (Call-Info answer-after=0); an agent without it is rung plainly."""
    hands_free(make_config(tmp_path, asterisk), "zhangwei")
    app = await voice_app()
    handsfree_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
    plain = await phones("1002", "dev-sip-1002", auto_answer=True)
    caller = await phones("caller", "caller")
    for agent_id, device, phone in (("zhangwei", "1001", handsfree_phone), ("lina", "1002", plain)):
        app.agents.login(agent_id, device=device, ready=True)
        await wait_until(lambda: app.agents.sessions[agent_id].device_ok,  # noqa: B023
                         what=f"{agent_id}'s phone seen registered")
        call = await dial_queue(caller, "sales")
        await wait_until(lambda: _invites(phone), timeout=15,  # noqa: B023
                         what=f"{agent_id} rung")
        await asyncio.to_thread(call.hangup)
        await wait_until(lambda: not app.voice.calls, what="the call over")
        app.agents.logout(agent_id)
    ring = _invites(handsfree_phone)[0]  # (re-INVITEs may follow: the connected line)
    assert b"Call-Info: <sip:127.0.0.1>;answer-after=0" in ring, ring.decode()
    ring = _invites(plain)[0]
    assert b"answer-after" not in ring, ring.decode()
