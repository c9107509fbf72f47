"""Messages, closed hours and voicemail (rules V1-V4 of callcenter/voice/messages.py):
a closed queue records the caller's message, which becomes a task an agent receives
once the queue opens."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import tone
from callcenter.voice.messages import CHANNEL, MessageDesk, MessageError
from tests.support.voice import (
    agent_state,
    dial_queue,
    edit_yaml,
    eventually,
    queued,
    wait_until,
)

pytestmark = pytest.mark.asterisk

NUMBER = "13800138000"
CLOSED = {"timezone": "Asia/Shanghai", "weekly": {},
          "closed_action": {"prompt": {"zh": "现在是非工作时间。", "en": "We are closed."},
                            "goto": "voicemail"}}


def closed_sales(queues: dict) -> None:
    queues["sales"]["business_hours"] = CLOSED


async def messages_of(app) -> list:
    return await app.store.open_interactions(channel=CHANNEL)


async def test_a_closed_queue_records_a_message_that_an_agent_receives_when_it_opens(
        voice_app, phones, pstn, asterisk, tmp_path):
    app = await voice_app(closed_sales)
    await phones("1001", "dev-sip-1001", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=True)
    since = asterisk.messages_log.stat().st_size
    caller = await dial_queue(await pstn(NUMBER), "sales", language="en")

    def recording_started() -> bool:
        with asterisk.messages_log.open(errors="replace") as log:
            log.seek(since)
            return "Record(" in log.read()

    await wait_until(recording_started, timeout=30, what="the caller's message recorded")
    await asyncio.to_thread(caller.play, tone(440, 2.5))
    await asyncio.to_thread(caller.hangup)

    async def taken_in() -> bool:
        found = await messages_of(app)
        return bool(found) and bool(await app.store.list_recordings(found[0].id))

    await eventually(taken_in, timeout=20, what="the message stored as a recording")
    (message,) = await messages_of(app)
    assert message.medium == "voicemail" and message.queue == "sales"
    (recording,) = await app.store.list_recordings(message.id)
    assert recording.status == "complete" and Path(recording.path).exists()
    assert recording.size > 16_000 * 2  # about 2.5 s of the caller's tone
    customer = await app.store.get_customer(message.customer_id)
    assert any(i.value == NUMBER for i in customer.identities)
    # Closed: not offered, though an agent is ready.
    await asyncio.sleep(1.0)
    assert app.routing.channel_of(message.id) is None
    assert agent_state(app, "zhangwei") == "ready"

    # The queue opens (its hours change): the message is offered to the ready agent.
    edit_yaml(tmp_path / "config" / "queues.yaml",
              lambda data: data["queues"]["sales"].pop("business_hours"))
    app.reload()
    await wait_until(lambda: message.id in app.routing.agent("zhangwei").offered_tasks,
                     timeout=15, what="the message offered to the agent")
    view = app.routing.agent("zhangwei")
    offer_id = view.offers[view.offered_tasks.index(message.id)]
    assert app.agents.offer(offer_id).channel == CHANNEL
    app.agents.accept("zhangwei", offer_id)
    await wait_until(lambda: message.id in app.routing.agent("zhangwei").connected,
                     what="the message taken")

    desk = app.deps.need(MessageDesk)
    assert await desk.recording("zhangwei", message.id) == Path(recording.path)
    with pytest.raises(MessageError):
        await desk.recording("lina", message.id)  # not hers
    app.agents.set_state("zhangwei", "not_ready")  # the callback waits: nobody is rung
    called = await desk.call_back("zhangwei", message.id)
    assert called["number"] != NUMBER and called["number"].endswith(NUMBER[-4:])
    assert (await app.store.get_interaction(called["task_id"])).medium == "callback"
    await desk.done("zhangwei", message.id)
    await app.routing.flush()
    finished = await app.store.get_interaction(message.id)
    assert finished.agent_id == "zhangwei" and finished.answered_at is not None
    assert finished.ended_at is not None and finished.outcome == "answered"
    assert message.id not in app.routing.agent("zhangwei").connected
    assert caller.state == CallState.ENDED


async def test_a_voicemail_escalation_takes_a_message_from_a_waiting_caller(
        voice_app, pstn, asterisk):
    app = await voice_app(lambda queues: queues["sales"].update(
        escalation=[{"after_seconds": 3, "action": "voicemail"}],
        callback={"enabled": False}))
    since = asterisk.messages_log.stat().st_size
    caller = await dial_queue(await pstn(NUMBER), "sales", language="zh")
    (call_task,) = await queued(app)

    def recording() -> bool:
        with asterisk.messages_log.open(errors="replace") as log:
            log.seek(since)
            return "Record(" in log.read()

    await wait_until(recording, timeout=30, what="the waiting caller sent to leave a message")
    await asyncio.to_thread(caller.play, tone(440, 2.0))
    await asyncio.to_thread(caller.hangup)

    async def queued_message() -> bool:
        found = await messages_of(app)
        return bool(found) and app.routing.channel_of(found[0].id) == CHANNEL

    await eventually(queued_message, timeout=20, what="the message queued (sales is open)")
    (message,) = await messages_of(app)
    assert message.attributes["call"] == call_task
    assert message.attributes["language"] == "zh"
    await app.routing.flush()
    call = await app.store.get_interaction(call_task)
    assert call.outcome == "timeout"  # waited out the queue: not an abandon
    events = [e.event for e in await app.store.events_between(0, 2e9,
                                                               interaction_id=call_task)]
    assert "EXITWITHTIMEOUT" in events and "ABANDON" not in events
