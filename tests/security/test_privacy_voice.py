"""What an agent's phone learns about the caller follows the console's masking rule."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.voice import dial_queue, queued, wait_until

pytestmark = pytest.mark.asterisk
NUMBER = "13812345678"


async def test_the_agents_phone_never_gets_the_callers_whole_number(voice_app, phones):
    app = await voice_app()
    agent_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=False)
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    # As a PSTN caller would arrive: a real number as the caller id.
    await app.link.action({"Action": "Setvar", "Channel": app.voice.calls[task_id].caller_uid,
                           "Variable": "CALLERID(num)", "Value": NUMBER})
    app.agents.set_state("zhangwei", "ready")
    await wait_until(lambda: app.voice.calls[task_id].bridged, timeout=15,
                     what="the call to connect")
    await asyncio.sleep(2.0)  # time for any connected-line update after the answer
    seen = b"".join(agent_phone.received)
    assert b"INVITE" in seen and b'"sales ' in seen  # the identity the engine chose
    assert NUMBER.encode() not in seen
    await asyncio.to_thread(call.hangup)
