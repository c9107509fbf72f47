"""An agent's call controls on the real Asterisk: hold (the caller hears music), resume,
mute, hang up from the console, blind transfer to a number through the trunk; each step
in the interaction's history."""

from __future__ import annotations

import asyncio

import pytest
from pyVoIP.VoIP import CallState

from callcenter.errors import FieldError
from callcenter.simulate.phone import energy
from callcenter.voice.base import VoiceError
from tests.support.audio import heard, share_near
from tests.support.voice import agent_state, dial_queue, history, queued, wait_until

pytestmark = pytest.mark.asterisk


async def connected_call(voice_app, phones, *, extension="1001", agent="zhangwei"):
    app = await voice_app()
    phone = await phones(extension, f"dev-sip-{extension}", auto_answer=True)
    await wait_until(lambda: app.link.is_up, what="AMI link")
    app.agents.login(agent, device=extension, ready=True)
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    await wait_until(lambda: app.voice.calls[task_id].bridged, timeout=15, what="the bridge")
    await wait_until(lambda: phone.incoming, what="the agent's leg")
    leg = phone.incoming[0]
    await asyncio.sleep(0.5)
    return app, call, leg, task_id


async def test_hold_plays_music_resume_and_mute_and_hang_up_from_the_console(
        voice_app, phones):
    app, call, leg, task_id = await connected_call(voice_app, phones)
    controls = app.voice.controls
    events = app.bus.subscribe(lambda e: e.topic == "call.control")

    held = await app.voice.hold("zhangwei", True)
    assert held["held"] and held["task_id"] == task_id
    assert (await asyncio.wait_for(events.get(), 2)).agent_id == "zhangwei"
    await asyncio.sleep(0.5)
    on_hold = await heard(call, leg, 880)  # the agent speaks; the caller hears music
    agent_hears = await heard(leg, call, 440)  # the caller speaks; the agent hears nothing
    print(f"\non hold: caller hears {energy(on_hold):.3f} RMS ({share_near(on_hold, 880):.2f} "
          f"of it the agent's 880 Hz); agent hears {energy(agent_hears):.3f}")
    assert energy(on_hold) > 0.02 and share_near(on_hold, 880) < 0.2
    assert energy(agent_hears) < 0.02
    with pytest.raises(VoiceError):
        await controls.hold("zhangwei")

    resumed = await app.voice.hold("zhangwei", False)
    assert not resumed["held"] and resumed["hold_seconds"] > 2
    await asyncio.sleep(0.5)
    back = await heard(call, leg, 880)
    agent_back = await heard(leg, call, 440)
    assert energy(back) > 0.1 and share_near(back, 880) > 0.5
    assert energy(agent_back) > 0.1 and share_near(agent_back, 440) > 0.5

    await app.voice.mute("zhangwei", True)
    muted = await heard(call, leg, 880)
    still_hears = await heard(leg, call, 440)
    assert energy(muted) < 0.02, energy(muted)
    assert energy(still_hears) > 0.1
    await app.voice.mute("zhangwei", False)
    assert energy(await heard(call, leg, 880)) > 0.1

    await app.voice.hangup("zhangwei")
    assert await asyncio.to_thread(call.wait_state, CallState.ENDED, 5)
    await wait_until(lambda: task_id not in app.voice.calls, what="the end of the call")
    await wait_until(lambda: agent_state(app, "zhangwei") in ("wrap_up", "ready"),
                     what="wrap-up")
    steps = await history(app, task_id)
    assert [s for s in steps if s in ("HOLD", "UNHOLD", "MUTE", "UNMUTE", "HANGUP")] == [
        "HOLD", "UNHOLD", "MUTE", "UNMUTE", "HANGUP"]
    assert steps.index("HANGUP") < steps.index("COMPLETEAGENT")  # the agent ended it
    record = await app.store.get_interaction(task_id)
    assert record.attributes["holds"] == 1 and record.attributes["hold_seconds"] > 2


async def test_a_caller_who_hangs_up_on_hold_ends_the_agents_leg(voice_app, phones):
    app, call, leg, task_id = await connected_call(voice_app, phones)
    await app.voice.hold("zhangwei", True)
    await asyncio.sleep(0.5)
    await asyncio.to_thread(call.hangup)
    assert await asyncio.to_thread(leg.wait_state, CallState.ENDED, 5)
    await wait_until(lambda: task_id not in app.voice.calls, what="the end of the call")
    assert app.voice.controls.state("zhangwei")["task_id"] is None


async def test_blind_transfer_from_hold_to_a_number_through_the_trunk(voice_app, phones, pstn):
    app, call, leg, task_id = await connected_call(voice_app, phones)
    outside = await pstn("13900001111", auto_answer=True)  # the carrier's side
    await app.voice.hold("zhangwei", True)
    with pytest.raises(FieldError):  # refused: the call stays on hold, still controlled
        await app.voice.transfer("zhangwei", queue="nowhere")
    assert app.voice.controls.state("zhangwei")["held"]
    await app.voice.transfer("zhangwei", number="13900001111")
    await wait_until(lambda: outside.incoming, what="the number to ring")
    far = outside.incoming[0]
    assert await asyncio.to_thread(far.wait_state, CallState.ANSWERED, 5)
    assert await asyncio.to_thread(leg.wait_state, CallState.ENDED, 5)
    await asyncio.sleep(0.5)
    assert energy(await heard(far, call, 440)) > 0.1
    await wait_until(lambda: agent_state(app, "zhangwei") in ("wrap_up", "ready"),
                     what="wrap-up")
    await asyncio.to_thread(call.hangup)
    await wait_until(lambda: task_id not in app.voice.calls, what="the engine to forget it")
    await app.routing.flush()
    events = await app.store.events_between(0, 2e9, interaction_id=task_id)
    out = next(e for e in events if e.event == "TRANSFEROUT")
    assert "13900001111" not in str(out.data) and out.agent == "zhangwei"
