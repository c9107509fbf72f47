"""Blind transfer to another queue; an agent's unregistered phone takes no calls."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.simulate.phone import energy, tone
from tests.support.voice import agent_state, dial_queue, queued, wait_until

pytestmark = pytest.mark.asterisk


async def test_blind_transfer_to_another_queue_keeps_the_interaction(voice_app, phones):
    app = await voice_app()
    sales_phone = await phones("1002", "dev-sip-1002", auto_answer=True)
    support_phone = await phones("1004", "dev-sip-1004", auto_answer=True)
    app.agents.login("lina", device="1002", ready=True)  # sales only
    app.agents.login("liuyang", device="1004", ready=True)  # support only
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    await wait_until(lambda: app.voice.calls[task_id].bridged, timeout=15, what="sales")
    assert app.voice.calls[task_id].agent_id == "lina"

    await app.voice.transfer("lina", queue="support")
    await wait_until(lambda: support_phone.incoming, timeout=10, what="support to ring")
    await wait_until(lambda: app.voice.calls[task_id].bridged, what="support to answer")
    assert app.voice.calls[task_id].agent_id == "liuyang"
    assert agent_state(app, "lina") in ("wrap_up", "ready")
    agent_leg = support_phone.incoming[0]
    heard, _ = await asyncio.gather(asyncio.to_thread(agent_leg.listen, 1.0),
                                    asyncio.to_thread(call.play, tone(440, 1.0)))
    assert energy(heard) > 0.1
    assert sales_phone.incoming[0].state.name == "ENDED"

    await asyncio.to_thread(call.hangup)
    await wait_until(lambda: task_id not in app.voice.calls, what="the end of the call")
    await app.routing.flush()
    record = await app.store.get_interaction(task_id)
    assert (record.queue, record.agent_id) == ("support", "liuyang")
    assert [c["pressed"] for c in record.ivr_choices] == ["2", "1"]  # history kept
    events = [e.event for e in await app.store.events_between(0, 2e9, interaction_id=task_id)]
    assert events.count("ENTERQUEUE") == 2 and "TRANSFER" in events


async def test_an_unregistered_phone_takes_no_calls_until_it_registers(voice_app, phones):
    app = await voice_app()
    await wait_until(lambda: app.link.is_up, what="AMI")
    app.agents.login("liuyang", device="1004", ready=True)  # nothing registered as 1004
    # An earlier test's 1004 unregisters as it stops; should that REGISTER go unanswered
    # (pyVoIP gives up silently), Asterisk drops the contact at its next qualify (every
    # 15 s, 3 s to answer), and only then is the device unavailable.
    await wait_until(lambda: app.agents.sessions["liuyang"].device_ok is False, timeout=25,
                     what="the device to be seen unavailable")
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "support")
    (task_id,) = await queued(app)
    await asyncio.sleep(2.0)
    assert app.voice.calls[task_id].agent_uid is None  # no offer to a phone that isn't there

    phone = await phones("1004", "dev-sip-1004", auto_answer=True)
    await wait_until(lambda: phone.incoming, timeout=10, what="the call once it registers")
    await wait_until(lambda: app.voice.calls[task_id].bridged, what="the bridge")
    await asyncio.to_thread(call.hangup)


async def test_an_agent_busy_on_a_personal_call_gets_no_queue_call(voice_app, phones):
    app = await voice_app()
    phone = await phones("1004", "dev-sip-1004", auto_answer=True)
    app.agents.login("liuyang", device="1004", ready=True)
    personal = await asyncio.to_thread(phone.call, "600")  # the echo test, not a queue call
    await wait_until(lambda: app.agents.sessions["liuyang"].device_ok is False, timeout=5,
                     what="the busy phone to count as unavailable")
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "support")
    (task_id,) = await queued(app)
    await asyncio.sleep(2.0)
    assert not phone.incoming and app.voice.calls[task_id].agent_uid is None

    await asyncio.to_thread(personal.hangup)
    await wait_until(lambda: phone.incoming, timeout=10, what="the queue call after hanging up")
    await wait_until(lambda: app.voice.calls[task_id].bridged, what="the bridge")
    await asyncio.to_thread(call.hangup)
