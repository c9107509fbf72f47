"""The AMI link is cut mid-call and while callers wait (issue 4, test 8)."""

from __future__ import annotations

import asyncio
import time

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import energy, tone
from tests.support.voice import dial_queue, eventually, queued, wait_until

pytestmark = pytest.mark.asterisk


async def test_no_call_drops_and_waiting_callers_keep_their_order(voice_app, phones, asterisk,
                                                                   tcp_proxy):
    proxy = await tcp_proxy(asterisk.ami_port)
    app = await voice_app(ami_port=proxy.port)
    first_agent = await phones("1001", "dev-sip-1001", auto_answer=True)
    second_agent = await phones("1002", "dev-sip-1002", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=True)
    talking = await dial_queue(await phones("caller", "caller"), "sales")
    (talking_task,) = await queued(app)
    await wait_until(lambda: app.voice.calls[talking_task].bridged, timeout=15,
                     what="the first call to connect")
    second = await dial_queue(await phones("caller", "caller"), "sales")
    await queued(app, 2)
    third = await dial_queue(await phones("caller", "caller"), "sales")
    _, second_task, third_task = await queued(app, 3)

    # The link goes half-open: nothing is closed, bytes just stop. The watchdog notices.
    proxy.frozen = True
    await wait_until(lambda: not app.link.is_up, timeout=5, what="the link to be declared down")
    await asyncio.to_thread(third.hangup)  # an abandon Asterisk reports while we are blind
    await asyncio.sleep(1.0)
    proxy.frozen = False
    back = time.monotonic()
    await wait_until(lambda: app.link.is_up, timeout=5, what="the link to come back")
    assert time.monotonic() - back < 5

    # The connected call never dropped and still carries audio.
    assert talking.state == CallState.ANSWERED
    agent_leg = first_agent.incoming[0]
    heard, _ = await asyncio.gather(asyncio.to_thread(agent_leg.listen, 1.0),
                                    asyncio.to_thread(talking.play, tone(440, 1.0)))
    assert energy(heard) > 0.1

    # The engine learned about the abandon it missed, and kept the others' order.
    async def third_abandoned() -> bool:
        return (await app.store.get_interaction(third_task)).outcome == "abandoned"

    await eventually(third_abandoned, timeout=5, what="the missed abandon")
    assert second.state == CallState.ANSWERED
    app.agents.login("lina", device="1002", ready=True)
    await wait_until(lambda: second_agent.incoming, timeout=10, what="the next offer")
    await wait_until(lambda: app.voice.calls[second_task].bridged, what="the second caller")
    assert app.voice.calls[second_task].agent_id == "lina"
    for call in (talking, second):
        await asyncio.to_thread(call.hangup)


async def test_a_restarted_engine_adopts_waiting_callers_in_their_order(voice_app, phones):
    """The engine process restarts (an upgrade): callers on hold keep their place."""
    first_run = await voice_app()
    callers = [await phones("caller", "caller") for _ in range(2)]
    first = await dial_queue(callers[0], "sales")
    await queued(first_run, 1)
    second = await dial_queue(callers[1], "sales")
    first_task, second_task = await queued(first_run, 2)
    await first_run.stop()

    second_run = await voice_app()  # same config directory, same store
    await wait_until(lambda: len(second_run.voice.calls) == 2, timeout=10,
                     what="the waiting callers to be adopted")
    waiting = [t.task_id for t in second_run.routing.waiting("sales")]
    assert waiting == [first_task, second_task]

    agent_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
    second_run.agents.login("zhangwei", device="1001", ready=True)
    await wait_until(lambda: agent_phone.incoming, timeout=10, what="the first offer")
    await wait_until(lambda: second_run.voice.calls[first_task].bridged, what="first caller")
    assert second.state == CallState.ANSWERED  # still waiting, not dropped
    for call in (first, second):
        await asyncio.to_thread(call.hangup)


async def test_a_call_in_progress_across_an_engine_restart_is_closed_when_it_ends(
        voice_app, phones):
    first_run = await voice_app()
    await phones("1001", "dev-sip-1001", auto_answer=True)
    first_run.agents.login("zhangwei", device="1001", ready=True)
    call = await dial_queue(await phones("caller", "caller"), "sales")
    (task_id,) = await queued(first_run)
    await wait_until(lambda: first_run.voice.calls[task_id].bridged, timeout=15,
                     what="the call to connect")

    async def talking() -> bool:  # the engine's verdict has reached Asterisk
        reply = await first_run.link.action({
            "Action": "Getvar", "Channel": first_run.voice.calls[task_id].caller_uid,
            "Variable": "CC_CONNECTED"})
        return bool(reply.get("Value"))

    await eventually(talking, timeout=10, what="Asterisk to bridge the call")
    await first_run.stop()

    second_run = await voice_app()
    await wait_until(lambda: second_run.voice.recovery.orphans, timeout=10, what="the call adopted")
    assert call.state == CallState.ANSWERED  # the restart dropped nothing
    assert second_run.agents.sessions["zhangwei"].device == "1001"  # no new login needed
    wrapups = second_run.bus.subscribe(lambda e: e.topic == "agent.wrapup"
                                       and e.agent_id == "zhangwei")
    await asyncio.to_thread(call.hangup)

    async def closed() -> bool:
        record = await second_run.store.get_interaction(task_id)
        return record.ended_at is not None and record.outcome == "answered"

    await eventually(closed, timeout=5, what="the record to be closed")
    # The agent's wrap-up of that call, rebuilt from the store, as after any call.
    event = await asyncio.wait_for(wrapups.get(), 5)
    assert event.data["task_id"] == task_id and event.data["dispositions"]
    await second_run.agents.finish_wrapup("zhangwei", task_id, "order_placed", None)
    assert (await second_run.store.get_interaction(task_id)).disposition == "order_placed"


async def test_the_ivr_door_waits_for_a_reconnecting_link_to_check_the_channel(
        voice_app, phones, asterisk, tcp_proxy):
    """A caller whose IVR starts while the AMI link reconnects is checked once it is
    back, not refused (and sent to stand by behind callers who came later)."""
    proxy = await tcp_proxy(asterisk.ami_port)
    app = await voice_app(ami_port=proxy.port)
    call = await dial_queue(await phones("caller", "caller"), "sales")
    (task_id,) = await queued(app)
    uid = app.voice.calls[task_id].caller_uid

    proxy.refusing = True
    proxy.cut()
    await wait_until(lambda: not app.link.is_up, timeout=5, what="the link to drop")
    check = asyncio.create_task(app.voice.channel_exists(uid))
    await asyncio.sleep(0.5)
    assert not check.done(), "the check waits for the link"
    proxy.refusing = False
    assert await asyncio.wait_for(check, 5)
    assert app.link.is_up
    assert not await app.voice.channel_exists(uid + "0")  # no such channel: still refused
    await asyncio.to_thread(call.hangup)
