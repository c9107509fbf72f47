"""``callcenter simulate`` brings the product to life: agents log in, calls queue and connect."""

from __future__ import annotations

import os

import pytest

from callcenter.simulate.traffic import Plan, simulate

pytestmark = pytest.mark.asterisk


async def test_simulated_agents_take_simulated_calls(voice_app, asterisk):
    app = await voice_app(web=True)
    plan = Plan(agents=2, calls=3, rate=1.0, talk=2.0, patience=30,
                url=f"http://127.0.0.1:{app.web_port}",
                base_port=50000 + (os.getpid() % 50) * 100)
    outcome = await simulate(app.config, plan)
    assert outcome.failures == []
    assert (outcome.placed, outcome.answered_by_ivr, outcome.reached_agent) == (3, 3, 3)
    await app.routing.flush()
    answered = [i for i in await app.store.interactions_between(0, 2e9)
                if i.outcome == "answered"]
    assert len(answered) == 3
    assert {i.agent_id for i in answered} <= {"zhangwei", "lina"}
