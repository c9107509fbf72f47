"""Waiting callers, unanswered offers and abandons (issue 4, tests 2, 3 and 4)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import energy, tone
from callcenter.voice.phrases import counted_family
from tests.support.voice import agent_state, dial_queue, eventually, history, queued, wait_until

pytestmark = pytest.mark.asterisk


async def test_waiting_caller_hears_position_then_gets_the_agent_who_goes_ready(
        voice_app, phones, asterisk):
    app = await voice_app()
    agent_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=False)
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    voice_call = app.voice.calls[task_id]

    # Nobody is ready: the engine announces position 1 and the holding loop says it.
    await wait_until(lambda: voice_call.position is not None, what="a position announcement")
    assert voice_call.position[0] == 1
    reply = await app.link.action({"Action": "Getvar", "Channel": voice_call.caller_uid,
                                   "Variable": "CC_POSITION"})
    assert reply.get("Value") == "1"
    log_start = asterisk.messages_log.stat().st_size

    def said_next_in_line() -> bool:
        with asterisk.messages_log.open(errors="replace") as log:
            log.seek(log_start)
            return f"{counted_family('position', 'en')}-1" in log.read()

    await wait_until(said_next_in_line, timeout=20, what="'you are next' to be played")
    assert call.state == CallState.ANSWERED and not agent_phone.incoming

    app.agents.set_state("zhangwei", "ready")
    await wait_until(lambda: agent_phone.incoming, timeout=10, what="the offer to ring")
    await wait_until(lambda: voice_call.bridged, what="the bridge")
    await asyncio.to_thread(call.hangup)
    await wait_until(lambda: agent_state(app, "zhangwei") == "wrap_up", what="wrap-up")


async def test_a_queue_that_announces_nothing_keeps_no_position_on_the_channel(
        voice_app, phones):
    """Its callers' holding loop says neither position nor wait (CC_ANNOUNCE no): the
    engine still knows the position (console, wallboard) but sends Asterisk no Setvar."""
    app = await voice_app(lambda queues: queues["sales"].update(
        announce={"position": False, "expected_wait": False, "interval_seconds": 30}))
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    voice_call = app.voice.calls[task_id]
    await wait_until(lambda: voice_call.position is not None, what="a position")
    await app.routing.flush()
    reply = await app.link.action({"Action": "Getvar", "Channel": voice_call.caller_uid,
                                   "Variable": "CC_ANNOUNCE"})
    assert reply.get("Value") == "no"
    reply = await app.link.action({"Action": "Getvar", "Channel": voice_call.caller_uid,
                                   "Variable": "CC_POSITION"})
    assert not reply.get("Value")
    await asyncio.to_thread(call.hangup)


async def test_unanswered_offer_goes_to_the_next_agent_and_marks_the_first(voice_app, phones):
    app = await voice_app(lambda queues: queues["sales"].update(missed_offers_before_not_ready=1))
    silent = await phones("1001", "dev-sip-1001", auto_answer=False)
    answering = await phones("1002", "dev-sip-1002", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=True)  # longest idle: offered first
    await asyncio.sleep(0.5)
    app.agents.login("lina", device="1002", ready=True)
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)

    await wait_until(lambda: silent.incoming, timeout=10, what="the first agent's phone")
    await wait_until(lambda: answering.incoming, timeout=15, what="the second agent's phone")
    await wait_until(lambda: app.voice.calls[task_id].bridged, what="the bridge")
    assert app.voice.calls[task_id].agent_id == "lina"
    assert agent_state(app, "zhangwei") == "not_ready"
    assert app.routing.agent("zhangwei").reason == "missed offers"
    assert silent.incoming[0].state == CallState.ENDED  # stopped ringing
    events = await history(app, task_id)
    assert events[:4] == ["ENTERQUEUE", "OFFER", "RINGNOANSWER", "OFFER"]
    assert "CONNECT" in events
    await asyncio.to_thread(call.hangup)


async def agent_phone_ringing(app, phones):
    """A caller to sales rings zhangwei's phone, which does not answer; returns the
    phone, the caller's call and the task."""
    agent_phone = await phones("1001", "dev-sip-1001", auto_answer=False)
    app.agents.login("zhangwei", device="1001", ready=True)
    call = await dial_queue(await phones("caller", "caller"), "sales")
    (task_id,) = await queued(app)
    await wait_until(lambda: agent_phone.incoming, timeout=10, what="the agent's phone to ring")
    return agent_phone, call, task_id


def ringing_heard_before_dial_begin(app) -> list[str]:
    """From now on the engine hears each agent leg's Newstate(Ringing) before its
    DialBegin, as Asterisk sends them when the phone answers INVITE with 180 faster than
    the dialling thread publishes DialBegin (seen on a loaded machine)."""
    handlers = app.voice._handlers  # the engine's door for AMI events
    dial_begin, newstate = list(handlers["DialBegin"]), list(handlers["Newstate"])
    held: dict[str, object] = {}
    swapped: list[str] = []

    async def hold_dial_begin(event):
        held[event.get("DestUniqueid")] = event

    async def ringing_then_dial_begin(event):
        uid = event.get("Uniqueid")
        for handler in newstate:
            await handler(event)
        if uid in held and event.get("ChannelStateDesc") == "Ringing":
            swapped.append(uid)
            late = held.pop(uid)
            for handler in dial_begin:
                await handler(late)

    handlers["DialBegin"], handlers["Newstate"] = [hold_dial_begin], [ringing_then_dial_begin]
    return swapped


@pytest.mark.parametrize("order", ["dial_begin_first", "ringing_first"])
async def test_the_agent_console_hears_the_phone_ring_once_whatever_the_event_order(
        voice_app, phones, order):
    app = await voice_app()
    swapped = ringing_heard_before_dial_begin(app) if order == "ringing_first" else None
    rings = app.bus.subscribe(lambda e: e.topic == "agent.ringing")
    _, call, task_id = await agent_phone_ringing(app, phones)
    event = await asyncio.wait_for(rings.get(), 5)
    assert event.data["task_id"] == task_id
    assert event.data["offer_id"] == app.voice.calls[task_id].offer_id
    if swapped is not None:
        assert swapped, "the Ringing was delivered before the DialBegin"
    await asyncio.sleep(0.5)
    assert rings.queue.empty(), "rang once"
    await asyncio.to_thread(call.hangup)


async def test_caller_hanging_up_while_waiting_is_an_abandon(voice_app, phones):
    app = await voice_app()
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(call.hangup)

    async def abandoned() -> bool:
        record = await app.store.get_interaction(task_id)
        return record.outcome == "abandoned"

    await eventually(abandoned, what="the abandon to be recorded")
    assert task_id not in app.voice.calls
    assert app.routing.task(task_id) is None


async def test_caller_hanging_up_while_the_agent_rings_stops_the_ringing(voice_app, phones):
    app = await voice_app()
    agent_phone, call, task_id = await agent_phone_ringing(app, phones)
    ringing = agent_phone.incoming[0]
    assert ringing.state == CallState.RINGING

    await asyncio.to_thread(call.hangup)
    await wait_until(lambda: ringing.state == CallState.ENDED, timeout=3,
                     what="the agent's phone to stop ringing")
    channels = await app.link.event_list({"Action": "CoreShowChannels"})
    assert not [c for c in channels if c.get("Channel").startswith("PJSIP/1001")]
    await wait_until(lambda: agent_state(app, "zhangwei") == "ready", what="agent free again")

    async def abandoned() -> bool:
        return (await app.store.get_interaction(task_id)).outcome == "abandoned"

    await eventually(abandoned, what="the abandon to be recorded")


async def test_an_answer_the_engine_no_longer_wants_is_refused_and_the_caller_waits_on(
        voice_app, phones, monkeypatch):
    """An agent answers just as the offer is taken back (under load the hang-up that
    withdraws a ring can arrive late): the engine refuses that answer, the agent's leg
    is dropped before any bridge, and the caller goes back to hold in their place and
    is served by the next agent: neither dropped nor served twice."""
    from callcenter.voice import recipes

    lost_hangup = recipes.hangup
    monkeypatch.setattr(recipes, "hangup", lambda uid, cause=16: {"Action": "Ping"})
    app = await voice_app(lambda queues: queues["sales"].update(offer_timeout_seconds=2))
    slow = await phones("1001", "dev-sip-1001", auto_answer=False)
    other = await phones("1002", "dev-sip-1002", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=True)  # longest idle: offered first
    await asyncio.sleep(0.5)
    app.agents.login("lina", device="1002", ready=True)
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    await wait_until(lambda: slow.incoming, timeout=10, what="the first agent's phone")
    ring = next(iter(app.voice.calls[task_id].rings.values()))
    assert ring.agent_id == "zhangwei"
    await wait_until(lambda: ring.withdrawn, timeout=5,
                     what="the offer to be withdrawn (its hang-up lost)")
    assert slow.incoming[0].state == CallState.RINGING  # still ringing: the hang-up was lost

    await asyncio.to_thread(slow.incoming[0].voip.answer)  # the late answer
    await wait_until(lambda: other.incoming, timeout=10, what="the next agent's phone")
    await wait_until(lambda: app.voice.calls[task_id].bridged, what="the next agent")
    assert app.voice.calls[task_id].agent_id == "lina"
    assert await asyncio.to_thread(slow.incoming[0].wait_state, CallState.ENDED, 5)
    assert call.state == CallState.ANSWERED  # the caller never dropped
    heard, _ = await asyncio.gather(asyncio.to_thread(other.incoming[0].listen, 1.0),
                                    asyncio.to_thread(call.play, tone(440, 1.0)))
    assert energy(heard) > 0.1
    monkeypatch.setattr(recipes, "hangup", lost_hangup)
    await asyncio.to_thread(call.hangup)

    async def answered_by_lina() -> bool:
        record = await app.store.get_interaction(task_id)
        return record.outcome == "answered" and record.agent_id == "lina"

    await eventually(answered_by_lina, what="the record: answered by lina")


async def test_a_queued_caller_sent_back_to_the_ivr_keeps_their_one_task(
        voice_app, phones, caplog):
    """A returning engine wakes the callers who waited for it in standby, while one of
    them may have retried on their own and been queued already (seen under load: 74 of
    500 callers queued twice, answered and refused in a loop). Sent to the IVR again,
    a queued caller goes back to hold with the same task, without a second walk, and
    is served once."""
    from callcenter.voice import dialplan, recipes

    caplog.set_level(logging.INFO, logger="callcenter.voice.intake")
    app = await voice_app()
    agent_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=False)
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    voice_call = app.voice.calls[task_id]
    await wait_until(lambda: voice_call.holding, what="the caller on hold")
    dialled = (await app.store.get_interaction(task_id)).attributes["dialed"]
    # as if the first walk had been cut short before it set everything
    await app.link.action(recipes.setvar(voice_call.caller_uid, f"__{dialplan.LEG_TASK}", ""))

    await app.link.action(recipes.redirect(voice_call.caller_uid, dialplan.IVR, dialled))
    await wait_until(lambda: "voice.requeued" in caplog.text, timeout=10,
                     what="the IVR to hand the caller back to hold")
    for name in (dialplan.TASK, dialplan.LEG_TASK):
        reply = await app.link.action({"Action": "Getvar", "Channel": voice_call.caller_uid,
                                       "Variable": name})
        assert reply.get("Value") == task_id, name
    assert list(app.voice.calls) == [task_id]

    app.agents.set_state("zhangwei", "ready")
    await wait_until(lambda: voice_call.bridged, timeout=15, what="the bridge")
    assert len(agent_phone.incoming) == 1
    assert [r.id for r in await app.store.open_interactions(channel="voice")] == [task_id]
    await asyncio.to_thread(call.hangup)
