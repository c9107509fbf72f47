"""No caller dropped, none served twice: SIPp load through faults (issue 16, small size).

2 queues x 10 agents, ~4 calls/s for 24 s, 5 s talk; the engine is `callcenter
run` with its managed Asterisk; an AMI observer independent of the engine counts.
The full size (9 x 15, ~45 and ~200 waiting) is `bench/chaos.py`.
"""

from __future__ import annotations

import pytest

from callcenter.simulate.chaos import FAULTS, LoadPlan, run
from callcenter.simulate.observer import out_of_order

pytestmark = pytest.mark.asterisk


@pytest.mark.parametrize("fault", FAULTS)
async def test_every_caller_is_served_once_through_the_fault(fault, tmp_path):
    plan = LoadPlan(fault=fault)
    result = await run(plan, tmp_path)
    t = result.tally
    late = out_of_order(result.callers)
    story = (f"{result.line()}\nleft behind: {result.leaked_channels[:5]}\n"
             f"out of order: {late[:10]}\n{result.engine_log}\n"
             "the late callers in the engine's log:\n"
             + result.log_about(c.task for c in result.callers
                                if c.task and any(c.uid in line for line in late[:10])))
    # Calls placed while Asterisk itself restarts never reach it (SIPp sees no answer).
    reached = 0.8 if fault == "asterisk_restart" else 0.95
    assert t.callers >= plan.rate * plan.arrivals_s * reached, story
    assert t.dropped == 0, story
    assert t.served_twice == 0, story
    assert t.leaked == 0, story
    assert t.order_violations == 0, story
    assert t.still_waiting == 0, story
    assert t.served + t.lost_with_asterisk >= t.callers, story  # the rest died with Asterisk
    if fault == "baseline":
        assert t.lost_with_asterisk == 0, story
        return
    assert t.resume_s is not None and t.resume_s <= 5.0, story
    assert t.agents_after_resume == plan.agents, story  # nobody had to sign in again
    if fault == "engine_kill":
        assert t.outage_callers > 0 and t.outage_served == t.outage_callers, story
        assert t.lost_with_asterisk == 0, story
    if fault == "ami_cut":
        assert t.lost_with_asterisk == 0, story
