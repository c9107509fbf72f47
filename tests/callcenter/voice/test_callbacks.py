"""Callbacks never lose a customer (rules C1-C7 of callcenter/voice/callbacks.py).

The caller is a line of the carrier trunk (a real number as caller ID), so the callback
goes back out through the trunk to the same phone, as it would to a real customer.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import Call, dtmf, energy, tone
from callcenter.voice.callbacks import dialable
from tests.support.voice import agent_state, dial_queue, eventually, queued, wait_until

pytestmark = pytest.mark.asterisk

NUMBER = "13800138000"


def quick_callbacks(**callback):
    """Sales: no position announcements (the loop only offers the callback, which a key
    interrupts), short rings and retries."""
    def change(queues: dict) -> None:
        sales = queues["sales"]
        sales["announce"] = {"position": False, "expected_wait": False,
                             "interval_seconds": 2}
        sales["callback"] = {"enabled": True, "key": "*", "ring_seconds": 5,
                             "retry_after_seconds": 10, **callback}
    return change


async def ask_for_a_callback(call: Call) -> None:
    """Press the callback key, then confirm the caller ID (1) once asked, until the
    dialplan thanks the caller and hangs up."""
    await asyncio.to_thread(call.play, dtmf("*"))
    deadline = time.monotonic() + 40
    while call.state != CallState.ENDED and time.monotonic() < deadline:
        await asyncio.to_thread(call.play, dtmf("1"))
        await asyncio.sleep(1.0)
    assert call.state == CallState.ENDED, "the caller was never thanked and let go"


async def callback_of(app, task_id: str):
    """The callback the call ``task_id`` asked for, whatever its status."""
    for status in ("pending", "dialing", "done", "failed", "expired"):
        for row in await app.store.list_callbacks(status):
            if row.interaction_id == task_id:
                return row
    return None


async def test_a_callback_keeps_the_place_and_is_done_only_when_the_customer_answers(
        voice_app, phones, pstn):
    app = await voice_app(quick_callbacks(max_attempts=3))
    agent_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=False)
    customer = await pstn(NUMBER)  # does not answer the first time
    call = await dial_queue(customer, "sales")
    (task_id,) = await queued(app)
    await wait_until(lambda: app.voice.calls[task_id].holding, what="the caller on hold")
    await ask_for_a_callback(call)

    async def requested() -> bool:
        record = await app.store.get_interaction(task_id)
        return record.outcome == "callback" and await callback_of(app, task_id) is not None

    await eventually(requested, what="the call to leave the queue as a callback")
    request = await callback_of(app, task_id)
    assert request.number == NUMBER and request.status == "pending"

    # First attempt: the agent answers, the customer's phone rings out.
    app.agents.set_state("zhangwei", "ready")
    await wait_until(lambda: agent_phone.incoming, timeout=10, what="the agent rung first")
    await wait_until(lambda: len(customer.incoming) == 1, timeout=10,
                     what="then the customer's phone")

    async def unreached_once() -> bool:
        row = await app.store.get_callback(request.id)
        return row.status == "pending" and row.attempts == 1 and row.notes == "no answer"

    await eventually(unreached_once, timeout=15, what="an unanswered first attempt")
    assert (await app.store.get_callback(request.id)).next_attempt_at is not None
    await wait_until(lambda: agent_state(app, "zhangwei") == "ready",
                     what="the agent free again")

    # The retry: now the customer answers and talks with the agent.
    customer.auto_answer = True
    await wait_until(lambda: len(customer.incoming) == 2, timeout=25,
                     what="the retry, retry_after_seconds later")
    leg = customer.incoming[1]
    assert await asyncio.to_thread(leg.wait_state, CallState.ANSWERED, 5)
    agent_leg = agent_phone.incoming[-1]
    heard, _ = await asyncio.gather(asyncio.to_thread(leg.listen, 1.2),
                                    asyncio.to_thread(agent_leg.play, tone(660, 1.2)))
    assert energy(heard) > 0.1

    async def done() -> bool:
        return (await app.store.get_callback(request.id)).status == "done"

    await eventually(done, what="the callback done once the customer answered")
    await asyncio.to_thread(agent_leg.hangup)
    await wait_until(lambda: agent_state(app, "zhangwei") == "wrap_up", what="wrap-up")
    # Only the attempt that reached the customer counts as answered.
    history = await app.store.customer_history(
        (await app.store.get_interaction(task_id)).customer_id, limit=10)
    outcomes = sorted((e.interaction.medium, e.interaction.outcome or "")
                      for e in history)
    assert ("callback", "unreached") in outcomes
    answered = [e.interaction for e in history
                if e.interaction.medium == "callback" and e.interaction.answered_at]
    assert [i.agent_id for i in answered] == ["zhangwei"]
    assert ("pstn", "callback") in outcomes  # the call itself: neither answered nor abandoned


async def test_after_max_attempts_the_callback_fails_with_its_reason(voice_app, phones, pstn):
    app = await voice_app(quick_callbacks(max_attempts=1))
    await phones("1001", "dev-sip-1001", auto_answer=True)
    app.agents.login("zhangwei", device="1001", ready=False)
    customer = await pstn(NUMBER)
    call = await dial_queue(customer, "sales")
    (task_id,) = await queued(app)
    await wait_until(lambda: app.voice.calls[task_id].holding, what="the caller on hold")
    await ask_for_a_callback(call)
    app.agents.set_state("zhangwei", "ready")

    async def failed() -> bool:
        row = await callback_of(app, task_id)
        return row is not None and row.status == "failed"

    await eventually(failed, timeout=30, what="the callback to fail after one attempt")
    row = await callback_of(app, task_id)
    assert row.attempts == 1 and row.notes == "no answer (1 attempts)"
    await asyncio.sleep(12)  # past retry_after_seconds: nobody is called again
    assert len(customer.incoming) == 1


async def test_a_callback_past_its_deadline_expires_on_the_record(voice_app):
    app = await voice_app(quick_callbacks(deadline_minutes=1))
    request = await app.store.add_callback(NUMBER, queue="sales",
                                           requested_at=app.routing.clock() - 58)
    task_id = await app.voice.callbacks.enqueue(request)  # nobody logged in to take it
    assert task_id is not None and app.routing.task(task_id) is not None

    async def expired() -> bool:
        return (await app.store.get_callback(request.id)).status == "expired"

    await eventually(expired, timeout=10, what="the callback to expire at its deadline")
    assert app.routing.task(task_id) is None
    record = await app.store.get_interaction(task_id)
    assert record.outcome == "timeout" and record.answered_at is None
    # Asked again after the deadline (a restart, say): expired at once, never queued.
    late = await app.store.add_callback(NUMBER, queue="sales",
                                        requested_at=app.routing.clock() - 120)
    assert await app.voice.callbacks.enqueue(late) is None
    assert (await app.store.get_callback(late.id)).status == "expired"


def test_only_digits_with_an_optional_plus_are_ever_dialled():
    assert dialable("13800138000") == "13800138000"
    assert dialable(" +8613800138000 ") == "+8613800138000"
    for bad in ("caller", "1001&PJSIP/evil", "138;Hangup", "12", "", "1" * 21, "+"):
        assert dialable(bad) is None, bad
