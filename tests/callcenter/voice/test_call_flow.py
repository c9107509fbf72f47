"""A caller through the IVR to an agent's phone, with audio both ways, recorded (tests 1, 7)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import dtmf, energy, silence, tone
from tests.support.audio import dominant_frequency
from tests.support.voice import eventually, wait_until

pytestmark = pytest.mark.asterisk


async def test_caller_is_queued_by_skill_and_talks_to_the_agent(voice_app, phones):
    app = await voice_app()
    agent_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
    await wait_until(lambda: app.link.is_up, what="AMI link")
    app.agents.login("zhangwei", device="1001", ready=True)
    caller = await phones("caller", "caller")

    call = await asyncio.to_thread(caller.call, "4008001234")
    assert await asyncio.to_thread(call.wait_state, CallState.ANSWERED, 10)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(call.play, dtmf("2") + silence(1.2) + dtmf("1"))

    await wait_until(lambda: agent_phone.incoming, timeout=15, what="the agent's phone to ring")
    agent_call = agent_phone.incoming[0]
    assert await asyncio.to_thread(agent_call.wait_state, CallState.ANSWERED, 5)
    task_id = next(iter(app.voice.calls))
    await wait_until(lambda: app.voice.calls[task_id].bridged, what="the bridge")
    await asyncio.sleep(0.5)

    # Both directions carry audio: each side plays a tone while the other listens.
    caller_to_agent, _ = await asyncio.gather(
        asyncio.to_thread(agent_call.listen, 1.5),
        asyncio.to_thread(call.play, tone(440, 1.5)))
    heard_by_caller, _ = await asyncio.gather(
        asyncio.to_thread(call.listen, 1.5),
        asyncio.to_thread(agent_call.play, tone(880, 1.5)))
    assert energy(caller_to_agent) > 0.1, energy(caller_to_agent)
    assert energy(heard_by_caller) > 0.1, energy(heard_by_caller)

    await asyncio.to_thread(call.hangup)
    await wait_until(lambda: task_id not in app.voice.calls, what="the call to end")
    await wait_until(lambda: app.routing.agent("zhangwei").state.value == "wrap_up",
                     what="wrap-up")
    await app.routing.flush()
    record = await app.store.get_interaction(task_id)
    assert record.queue == "sales"
    assert record.agent_id == "zhangwei"
    assert [c["pressed"] for c in record.ivr_choices] == ["2", "1"]
    assert record.arrived_at <= record.offered_at <= record.answered_at <= record.ended_at
    assert record.outcome == "answered"
    await wait_until(lambda: app.routing.agent("zhangwei").state.value == "ready", timeout=5,
                     what="ready after wrap-up")
    assert await asyncio.to_thread(agent_call.wait_state, CallState.ENDED, 5)

    # The recording: mixed, caller and agent files, each leg with its own side's voice.
    async def recorded() -> bool:
        rows = await app.store.list_recordings(task_id)
        return len(rows) == 3 and all(r.status == "complete" for r in rows)

    await eventually(recorded, what="the recordings")
    recordings = {r.leg: r for r in await app.store.list_recordings(task_id)}
    assert set(recordings) == {"mixed", "caller", "agent"}
    assert all(r.status == "complete" for r in recordings.values())
    assert dominant_frequency(Path(recordings["caller"].path)) == pytest.approx(440, abs=15)
    assert dominant_frequency(Path(recordings["agent"].path)) == pytest.approx(880, abs=15)
    assert Path(recordings["mixed"].path).stat().st_size > 16000
