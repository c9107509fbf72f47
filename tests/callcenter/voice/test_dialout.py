"""Dial-out from the console on the real Asterisk: the agent's phone rings, then the number
through the trunk with the configured caller ID (seen in the carrier's INVITE); both hear
each other; the outbound interaction is stored and linked to the number's customer, and its audio is
recorded from when the number answers (callcenter.yaml ``outbound_recording``); the agent
is not ready while dialling and ready again after."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pyVoIP.VoIP import CallState

from callcenter.voice.base import VoiceError
from callcenter.voice.dialout import OUTBOUND
from callcenter.webkit.principal import Principal
from tests.support.audio import dominant_frequency, heard, share_near
from tests.support.voice import agent_state, eventually, wait_until

pytestmark = pytest.mark.asterisk

NUMBER = "13900001111"
ZHANGWEI = Principal(username="zhangwei", role="agent", agent_id="zhangwei",
                     display_name="张伟")


async def signed_in(app, phones, *, auto_answer: bool = True):
    phone = await phones("1001", "dev-sip-1001", auto_answer=auto_answer)
    await wait_until(lambda: app.link.is_up, what="AMI link")
    app.agents.login("zhangwei", device="1001", ready=True)
    await wait_until(lambda: app.agents.sessions["zhangwei"].registered, what="registered")
    return phone


async def test_an_agent_dials_out_with_the_configured_caller_id(voice_app, phones, pstn):
    app = await voice_app()
    agent_phone = await signed_in(app, phones)
    outside = await pstn(NUMBER, auto_answer=True)
    progress = app.bus.subscribe(lambda e: e.topic == "call.outbound")
    caller_id = app.config_store.config.callcenter.asterisk.outbound_caller_id
    assert caller_id == "4008001234"  # the sample's

    result = await app.voice.dial(ZHANGWEI, number=NUMBER)
    task_id = result["task_id"]
    assert NUMBER not in result["number"]
    assert agent_state(app, "zhangwei") == "not_ready"
    assert app.routing.agent("zhangwei").reason == OUTBOUND
    await wait_until(lambda: outside.incoming, timeout=15, what="the number to ring")
    far = outside.incoming[0]
    assert await asyncio.to_thread(far.wait_state, CallState.ANSWERED, 5)
    invite = next(m for m in outside.received if m.startswith(b"INVITE"))
    from_line = next(line for line in invite.split(b"\r\n") if line.lower().startswith(b"from:"))
    assert caller_id.encode() in from_line and b"1001" not in from_line, from_line
    leg = agent_phone.incoming[0]
    await asyncio.sleep(0.5)
    assert share_near(await heard(far, leg, 880), 880) > 0.5  # the customer hears the agent
    assert share_near(await heard(leg, far, 440), 440) > 0.5  # and the agent the customer

    with pytest.raises(VoiceError, match="on a call"):
        await app.voice.dial(ZHANGWEI, number=NUMBER)
    await app.voice.hangup("zhangwei")
    assert await asyncio.to_thread(far.wait_state, CallState.ENDED, 5)
    await wait_until(lambda: agent_state(app, "zhangwei") == "ready", what="ready again")
    record = await app.store.get_interaction(task_id)
    assert (record.direction, record.channel, record.medium, record.agent_id,
            record.outcome) == ("outbound", "voice", "pstn", "zhangwei", "answered")
    assert record.arrived_at <= record.answered_at <= record.ended_at
    customer = await app.store.find_customer("phone", NUMBER)
    assert record.customer_id == customer.id
    statuses = []
    while not progress.queue.empty():
        statuses.append(progress.queue.get_nowait().data["status"])
    assert statuses == ["ringing_agent", "dialing", "answered", "ended"], statuses

    # Recorded as the sample says (split_legs): each direction's file holds its own side.
    async def recorded() -> bool:
        rows = await app.store.list_recordings(task_id)
        return len(rows) == 3 and all(r.status == "complete" for r in rows)

    await eventually(recorded, what="the recordings")
    recordings = {r.leg: Path(r.path) for r in await app.store.list_recordings(task_id)}
    assert dominant_frequency(recordings["caller"]) == pytest.approx(440, abs=15)
    assert dominant_frequency(recordings["agent"]) == pytest.approx(880, abs=15)
    assert recordings["mixed"].stat().st_size > 16000


async def test_an_unanswered_dial_out_is_recorded_unreached(voice_app, phones, pstn):
    app = await voice_app()
    await signed_in(app, phones)
    outside = await pstn(NUMBER, auto_answer=False)
    task_id = (await app.voice.dial(ZHANGWEI, number=NUMBER))["task_id"]
    await wait_until(lambda: outside.incoming, timeout=15, what="the number to ring")
    await app.voice.hangup("zhangwei")  # the agent gives up before the customer answers
    await wait_until(lambda: app.voice.dialout.of_agent("zhangwei") is None, what="the end")
    record = await app.store.get_interaction(task_id)
    assert record.outcome == "unreached" and record.answered_at is None
    assert record.attributes["reason"] == "agent hung up"
    assert agent_state(app, "zhangwei") == "ready"
    assert await app.store.list_recordings(task_id) == []  # nothing to record: no rows


def asterisk_setting(app, **update) -> None:
    """The voice feature reads callcenter.yaml's ``asterisk`` section with ``update``."""
    config = app.voice.deps.config()
    asterisk = config.callcenter.asterisk.model_copy(update=update)
    changed = config.model_copy(update={"callcenter": config.callcenter.model_copy(
        update={"asterisk": asterisk})})
    app.voice.deps.config = lambda: changed


async def test_a_dial_out_is_not_recorded_when_outbound_recording_is_off(voice_app, phones,
                                                                          pstn):
    app = await voice_app()
    await signed_in(app, phones)
    outside = await pstn(NUMBER, auto_answer=True)
    policy = app.voice.deps.config().callcenter.asterisk.outbound_recording
    asterisk_setting(app, outbound_recording=policy.model_copy(update={"enabled": False}))
    task_id = (await app.voice.dial(ZHANGWEI, number=NUMBER))["task_id"]
    await wait_until(lambda: outside.incoming, timeout=15, what="the number to ring")
    assert await asyncio.to_thread(outside.incoming[0].wait_state, CallState.ANSWERED, 5)
    await app.voice.hangup("zhangwei")
    await wait_until(lambda: app.voice.dialout.of_agent("zhangwei") is None, what="the end")
    assert (await app.store.get_interaction(task_id)).outcome == "answered"
    assert await app.store.list_recordings(task_id) == []


async def test_without_an_outbound_caller_id_nobody_dials_out(voice_app, phones):
    app = await voice_app()
    await signed_in(app, phones)
    asterisk_setting(app, outbound_caller_id=None)
    with pytest.raises(VoiceError, match="outbound_caller_id"):
        await app.voice.dial(ZHANGWEI, number=NUMBER)
    assert agent_state(app, "zhangwei") == "ready"


async def test_an_agent_calls_back_their_own_customer_from_the_profile(voice_app, phones, pstn):
    app = await voice_app()
    await signed_in(app, phones)
    outside = await pstn(NUMBER, auto_answer=True)
    store = app.store
    mine = await store.find_or_create_customer("phone", NUMBER, name="王女士")
    await store.create_interaction("voice", medium="pstn", customer_id=mine.id, queue="sales",
                                   agent_id="zhangwei", outcome="answered")
    stranger = await store.find_or_create_customer("phone", "13900002222", name="李先生")
    await store.create_interaction("voice", medium="pstn", customer_id=stranger.id,
                                   queue="sales", agent_id="lina", outcome="answered")
    user = ZHANGWEI
    with pytest.raises(PermissionError):  # not zhangwei's customer: no call, no number
        await app.voice.dial(user, customer_id=stranger.id)
    result = await app.voice.dial(user, customer_id=mine.id)
    await wait_until(lambda: outside.incoming, timeout=15, what="the customer's phone")
    assert await asyncio.to_thread(outside.incoming[0].wait_state, CallState.ANSWERED, 5)
    record = await store.get_interaction(result["task_id"])
    assert record.customer_id == mine.id and record.direction == "outbound"
    await app.voice.hangup("zhangwei")
    await wait_until(lambda: app.voice.dialout.of_agent("zhangwei") is None, what="the end")
