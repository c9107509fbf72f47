"""No caller stranded behind a free agent (issue 9): rule Q3's re-offer, end to end.

The only agent of the queue misses (or refuses) the first ring; once the queue's
``reoffer_after_seconds`` pause is over the caller is offered to that agent again and
served, well before ``max_wait_seconds``. While the pause runs the wallboard says the
caller waits with no eligible agent, and the log tells the story line by line.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import Call
from callcenter.wallboard.services import WallboardService
from tests.support.voice import agent_state, dial_queue, history, queued, wait_until

pytestmark = pytest.mark.asterisk

PAUSE = 3
MAX_WAIT = 120


def one_agent_sales(queues: dict) -> None:
    queues["sales"].update(offer_timeout_seconds=4, reoffer_after_seconds=PAUSE,
                           max_wait_seconds=MAX_WAIT, missed_offers_before_not_ready=2)


def lines(caplog, event: str, interaction: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.getMessage() == event and getattr(r, "interaction", None) == interaction]


@pytest.mark.parametrize("first_ring", ["missed", "busy"])
async def test_the_only_agent_who_missed_the_first_ring_is_offered_the_caller_again(
        voice_app, phones, caplog, first_ring):
    caplog.set_level(logging.INFO)
    app = await voice_app(one_agent_sales)

    def answer_the_second(call: Call) -> None:
        if len(agent_phone.incoming) == 1:
            if first_ring == "busy":
                call.busy()  # 486 Busy Here
            return  # missed: let it ring until the engine gives up
        call.voip.answer()

    agent_phone = await phones("1001", "dev-sip-1001", on_incoming=answer_the_second)
    app.agents.login("zhangwei", device="1001", ready=True)
    caller = await phones("caller", "caller")
    call = await dial_queue(caller, "sales")
    (task_id,) = await queued(app)
    queued_at = time.monotonic()
    voice_call = app.voice.calls[task_id]

    await wait_until(lambda: agent_phone.incoming, timeout=10, what="the first ring")
    view = None

    def declined() -> bool:
        nonlocal view
        view = app.routing.task(task_id)
        return view is not None and "zhangwei" in view.declined

    await wait_until(declined, timeout=10, what="the first offer to fail")
    failed_at = time.monotonic()
    # The pause: the agent is free and ready, the caller waits, and the wallboard says why.
    assert agent_state(app, "zhangwei") == "ready" and not view.eligible
    tile = next(q for q in app.deps.need(WallboardService).snapshot()["queues"]
                if q["id"] == "sales")
    assert tile["waiting"] == 1 and tile["no_eligible"] == 1

    await wait_until(lambda: len(agent_phone.incoming) >= 2, timeout=PAUSE + 10,
                     what="the second ring, to the same agent")
    rung_again = time.monotonic()
    assert rung_again - failed_at >= PAUSE - 0.5  # not at once: after the pause
    await wait_until(lambda: voice_call.bridged, timeout=10, what="the bridge")
    served_after = time.monotonic() - queued_at
    print(f"\n{first_ring} first ring: re-offered {rung_again - failed_at:.1f} s after it failed "
          f"(pause {PAUSE} s); served {served_after:.1f} s after queueing "
          f"(max wait {MAX_WAIT} s)")
    assert voice_call.agent_id == "zhangwei"
    assert served_after < MAX_WAIT / 4, served_after
    assert agent_phone.incoming[1].state == CallState.ANSWERED
    tile = next(q for q in app.deps.need(WallboardService).snapshot()["queues"]
                if q["id"] == "sales")
    assert tile["no_eligible"] == 0

    events = await history(app, task_id)
    missed = "RINGNOANSWER" if first_ring == "missed" else "REJECT"
    assert events[:5] == ["ENTERQUEUE", "OFFER", missed, "OFFER", "CONNECT"], events

    await wait_until(lambda: lines(caplog, "voice.bridged", task_id), timeout=5,
                     what="the bridge to be logged")
    await asyncio.to_thread(call.hangup)
    await wait_until(lambda: lines(caplog, "voice.hangup", task_id), timeout=10,
                     what="the hang-up to be logged")
    # "Why did this caller wait?": one INFO line per step, each naming the interaction,
    # the agent and the device.
    for event, count in (("voice.offer", 2), ("voice.ringing", 2), ("voice.missed", 1),
                         ("voice.answered", 1), ("voice.bridged", 1), ("voice.hangup", 1)):
        found = lines(caplog, event, task_id)
        assert len(found) == count, (event, found)
        for record in found:
            assert record.levelno == logging.INFO
            assert (record.agent, record.device) == ("zhangwei", "1001"), record.__dict__
    (miss,) = lines(caplog, "voice.missed", task_id)
    if first_ring == "busy":
        assert miss.status == "BUSY" and "486" in miss.cause, miss.__dict__
    else:
        assert miss.status == "NOANSWER" and miss.cause
