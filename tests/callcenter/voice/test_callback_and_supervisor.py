"""Supervisors listen, then barge (issue 4, test 6); callbacks are in test_callbacks.py."""

from __future__ import annotations

import asyncio

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import energy, tone
from tests.support.voice import dial_queue, queued, wait_until

pytestmark = pytest.mark.asterisk


async def test_supervisor_listens_then_barges(voice_app, phones):
    app = await voice_app()
    await phones("1001", "dev-sip-1001", auto_answer=True)  # the agent answers by itself
    supervisor_phone = await phones("1090", "dev-sip-1090", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=True)
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    await wait_until(lambda: app.voice.calls[task_id].bridged, timeout=15, what="the bridge")
    await wait_until(lambda: app.voice.calls[task_id].agent_channel, what="the agent channel")

    with pytest.raises(ValueError):
        await app.voice.spy("zhaolei", "lina", "listen")  # lina is not on a call
    await app.voice.spy("zhaolei", "zhangwei", "listen")
    await wait_until(lambda: supervisor_phone.incoming, timeout=10, what="the supervisor's phone")
    supervisor = supervisor_phone.incoming[0]
    assert await asyncio.to_thread(supervisor.wait_state, CallState.ANSWERED, 5)
    await asyncio.sleep(1.0)

    # Listening: the supervisor hears the caller; the caller does not hear the supervisor.
    heard_by_supervisor, _ = await asyncio.gather(
        asyncio.to_thread(supervisor.listen, 1.2), asyncio.to_thread(call.play, tone(440, 1.2)))
    assert energy(heard_by_supervisor) > 0.05
    heard_by_caller, _ = await asyncio.gather(
        asyncio.to_thread(call.listen, 1.2), asyncio.to_thread(supervisor.play, tone(990, 1.2)))
    assert energy(heard_by_caller) < 0.02

    await app.voice.spy("zhaolei", "zhangwei", "barge")
    await asyncio.sleep(1.5)
    assert len(supervisor_phone.incoming) == 1  # switched mode without ringing again
    heard_by_caller, _ = await asyncio.gather(
        asyncio.to_thread(call.listen, 1.2), asyncio.to_thread(supervisor.play, tone(990, 1.2)))
    assert energy(heard_by_caller) > 0.05
    await asyncio.to_thread(call.hangup)
    assert await asyncio.to_thread(supervisor.wait_state, CallState.ENDED, 5)
