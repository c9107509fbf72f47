"""Agents come back from an engine restart as they were, including the engine's own
"phone offline": an agent it set away because the phone dropped is ready again when the
phone registers, after a restart as before one (under load, a crash in that moment left
whole queues with nobody ready)."""

from __future__ import annotations

from callcenter.agents.services import PHONE_OFFLINE, AgentService
from tests.support.webstack import database_of, start_stack


async def test_an_agent_set_away_for_a_dropped_phone_is_ready_again_after_a_restart(tmp_path):
    first = await start_stack(tmp_path / "first")
    try:
        agents = first.need(AgentService)
        agents.login("zhangwei", "1001", ready=True)
        agents.login("lina", "1002", ready=False)
        agents.device_health("1001", False, registered=False)  # the phone dropped
        agents.device_health("1002", False, registered=False)
        assert first.deps.routing.agent("zhangwei").reason == PHONE_OFFLINE
        await agents.saved()
    finally:
        await first.close()

    second = await start_stack(tmp_path / "second", callcenter=database_of(tmp_path / "first"))
    try:
        agents = second.need(AgentService)
        view = second.deps.routing.agent("zhangwei")
        assert (view.presence.value, view.reason) == ("not_ready", PHONE_OFFLINE)
        agents.device_health("1001", True, registered=True)  # Asterisk: registered again
        agents.device_health("1002", True, registered=True)
        assert second.deps.routing.agent("zhangwei").presence.value == "ready"
        # lina chose not ready herself: her phone coming back does not change that.
        assert second.deps.routing.agent("lina").presence.value == "not_ready"
    finally:
        await second.close()


async def test_a_burst_of_presence_changes_is_stored_as_it_ended(web_stack):
    agents = web_stack.need(AgentService)
    store = web_stack.deps.store
    agents.login("zhangwei", "1001", ready=True)
    agents.login("lina", "1002", ready=False)
    agents.login("wangfang", "1003", ready=True)
    agents.set_state("zhangwei", "not_ready", "lunch")  # no device given: 1001 is kept
    agents.set_state("lina", "ready")
    agents.logout("wangfang")
    await agents.saved()
    saved = {p.agent_id: (p.presence, p.reason, p.device)
             for p in await store.logged_in_agents()}
    assert saved == {"zhangwei": ("not_ready", "lunch", "1001"),
                     "lina": ("ready", None, "1002")}
