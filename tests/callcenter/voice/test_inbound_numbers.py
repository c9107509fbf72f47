"""Several 400 numbers (issue 9): the dialled number decides where a call enters.

The sample's VIP line (4008009999, ``ivr.yaml`` ``numbers``) enters at a queue node:
straight to the vip queue, no menu and no key pressed, with that node's priority and
skills; the agent's screen-pop shows the number dialled and the line's label.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from pyVoIP.VoIP import CallState

from tests.support.voice import edit_yaml, make_config, queued, wait_until

pytestmark = pytest.mark.asterisk

VIP_LINE = "4008009999"


async def test_a_call_to_the_vip_line_reaches_its_queue_with_no_key_pressed(
        tmp_path, asterisk, voice_app, phones):
    directory = make_config(tmp_path, asterisk)

    def vip_node(data: dict) -> None:  # the node's own priority and skills apply
        data["nodes"]["to_vip"].update(priority=150, skills={"vip": 75})

    edit_yaml(directory / "ivr.yaml", vip_node)
    app = await voice_app()
    assert app.config.ivr.entry_for(VIP_LINE)[0] == "to_vip"
    offers = app.bus.subscribe(lambda e: e.topic == "agent.offer")
    await phones("1001", "dev-sip-1001", auto_answer=False)
    wangfang_phone = await phones("1003", "dev-sip-1003", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=True)  # vip 70: below the node's 75
    app.agents.login("wangfang", device="1003", ready=True)  # vip 80

    caller = await phones("caller", "caller")
    dialled_at = time.monotonic()
    call = await asyncio.to_thread(caller.call, VIP_LINE)
    assert await asyncio.to_thread(call.wait_state, CallState.ANSWERED, 10), call.state
    # Not a single key: the number alone routes the call.
    (task_id,) = await queued(app, timeout=15)
    print(f"\nthe VIP line: queued {time.monotonic() - dialled_at:.1f} s after dialling, "
          "no key pressed")
    event = await asyncio.wait_for(offers.get(), 15)
    assert (event.data["task_id"], event.data["queue"], event.agent_id) == (
        task_id, "vip", "wangfang")  # only the agent with the node's skills
    interaction = event.data["pop"]["interaction"]
    assert interaction["dialled"] == VIP_LINE
    assert interaction["label"] == {"zh": "贵宾专线", "en": "VIP line"}
    assert interaction["ivr_choices"] == []  # no language, no menu: no step at all
    record = await app.store.get_interaction(task_id)
    assert record.queue == "vip" and record.attributes["dialed"] == VIP_LINE
    await wait_until(lambda: app.voice.calls[task_id].bridged, timeout=15,
                     what="wangfang to answer")
    await app.routing.flush()
    events = await app.store.events_between(0, 2e9, interaction_id=task_id)
    enter = next(e for e in events if e.event == "ENTERQUEUE")
    assert enter.data["priority"] == 150  # the node's priority, not the queue's 100
    assert wangfang_phone.incoming
    await asyncio.to_thread(call.hangup)
