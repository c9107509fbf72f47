"""Wrap-up forms: a required disposition holds the next contact, a form is given once
while it is open, a timed wrap-up can be extended, and a supervisor's correction is kept
in the history (tier 2, the real engine and store)."""

from __future__ import annotations

import pytest

import acd
from callcenter.agents.services import AgentService
from tests.support.webstack import database_of, next_topic, start_stack


async def chat_handled(stack, client, ws, queue: str = "sales") -> str:
    """A chat offered to zhangwei, taken and ended: its wrap-up starts."""
    task = await stack.chat_arrives(queue, await stack.customer("Wang", phone="13700000000"))
    offer = (await next_topic(ws, "agent.offer"))["data"]
    async with client.post(f"/api/agent/offers/{offer['offer_id']}/accept") as response:
        assert response.status == 200
    await stack.deps.routing.flush()
    stack.end_chat(task, "zhangwei")
    assert (await next_topic(ws, "agent.wrapup"))["data"]["task_id"] == task
    await stack.deps.routing.flush()
    return task


async def signed_in(stack, username: str = "zhangwei", device: str = "1001"):
    client = await stack.client(username)
    ws = await client.ws_connect("/api/ws")
    async with client.post("/api/agent/login", json={"device": device, "ready": True}) as r:
        assert r.status == 200
    return client, ws


async def elapse(stack, seconds: float) -> None:
    """Move the test clock on; the engine's next input fires what fell due (rule T2)."""
    stack.clock.advance(seconds)
    stack.deps.routing.logout("nobody")  # an input the engine ignores
    await stack.deps.routing.flush()


async def test_a_required_disposition_holds_the_slot_until_the_form_is_in(web_stack):
    stack = web_stack
    zhang, ws = await signed_in(stack)  # two chat slots
    first = await chat_handled(stack, zhang, ws)
    second = await chat_handled(stack, zhang, ws)
    wrapups = {w["task_id"]: w for w in await (await zhang.get("/api/agent/wrapups")).json()}
    assert wrapups.keys() == {first, second}
    assert wrapups[first]["require_disposition"] and wrapups[first]["ends_at"] is None
    assert wrapups[first]["ended_at"] is not None

    await elapse(stack, 600)  # far past the queue's wrapup_seconds (10)
    third = await stack.chat_arrives("sales", None)
    await stack.deps.routing.flush()
    assert set(stack.deps.routing.agent("zhangwei").wrapping) == {first, second}
    assert stack.deps.routing.task(third).state is acd.TaskState.WAITING  # no slot free
    async with zhang.post(f"/api/agent/wrapups/{first}/extend", json={"seconds": 30}) as r:
        assert r.status == 409  # nothing to extend: it lasts until the form is sent
    async with zhang.post(f"/api/agent/wrapups/{first}", json={"notes": "no code"}) as r:
        assert r.status == 422 and (await r.json())["details"][0]["loc"] == ["disposition"]
    async with zhang.post(f"/api/agent/wrapups/{first}",
                          json={"disposition": "quote_sent"}) as r:
        assert r.status == 200
    offer = (await next_topic(ws, "agent.offer"))["data"]
    assert offer["task_id"] == third


async def test_a_form_still_owed_after_a_restart_still_holds_its_slot(tmp_path):
    first = await start_stack(tmp_path / "first")
    try:
        zhang, ws = await signed_in(first)  # two chat slots, both taken by forms owed
        owed = [await chat_handled(first, zhang, ws), await chat_handled(first, zhang, ws)]
        await first.need(AgentService).saved()
    finally:
        await first.close()

    second = await start_stack(tmp_path / "second", callcenter=database_of(tmp_path / "first"))
    try:
        routing = second.deps.routing
        assert set(routing.agent("zhangwei").wrapping) == set(owed)
        waiting = await second.chat_arrives("sales", None)
        await routing.flush()
        assert routing.task(waiting).state is acd.TaskState.WAITING
        await second.need(AgentService).finish_wrapup("zhangwei", owed[0], "quote_sent", None)
        await routing.flush()
        assert routing.task(waiting).state is acd.TaskState.OFFERED
    finally:
        await second.close()


def optional_support(data: dict) -> None:
    data["queues"]["support"]["require_disposition"] = False  # wrap-up on a 20 s timer


async def test_a_wrapup_form_is_given_once_and_only_while_open(make_stack):
    stack = await make_stack(queues=optional_support)
    zhang, ws = await signed_in(stack)
    task = await chat_handled(stack, zhang, ws)
    async with zhang.post(f"/api/agent/wrapups/{task}", json={
            "disposition": "order_placed", "notes": "first"}) as r:
        assert r.status == 200
    async with zhang.post(f"/api/agent/wrapups/{task}", json={
            "disposition": "not_interested"}) as r:
        assert r.status == 409
        assert "a supervisor can correct it" in (await r.json())["message"]
    record = await stack.deps.store.get_interaction(task)
    assert (record.disposition, record.notes) == ("order_placed", "first")
    history = await stack.deps.store.events_between(0, 2e9, interaction_id=task)
    assert [(e.agent, e.data) for e in history if e.event == "DISPOSITION"] == [
        ("zhangwei", {"disposition": "order_placed", "notes": "first"})]
    async with zhang.get("/api/agent/wrapups") as response:
        assert await response.json() == []

    # A form not sent by the end of a timed wrap-up: open for four hours, then over.
    late = await chat_handled(stack, zhang, ws, queue="support")
    await elapse(stack, 30)
    assert stack.deps.routing.agent("zhangwei").wrapping == ()
    async with zhang.get("/api/agent/wrapups") as response:
        (still_open,) = await response.json()
    assert still_open["task_id"] == late and still_open["ends_at"] is None
    await elapse(stack, 4 * 3600)
    zhang = await stack.client("zhangwei")  # a new session: the first one went idle
    async with zhang.get("/api/agent/wrapups") as response:
        assert late not in [w["task_id"] for w in await response.json()]
    async with zhang.post(f"/api/agent/wrapups/{late}", json={
            "disposition": "resolved"}) as r:
        assert r.status == 409
        assert "over" in (await r.json())["message"]


async def test_a_form_for_a_contact_still_connected_is_refused(web_stack):
    zhang, ws = await signed_in(web_stack)
    task = await web_stack.chat_arrives("sales", None)
    offer = (await next_topic(ws, "agent.offer"))["data"]
    async with zhang.post(f"/api/agent/offers/{offer['offer_id']}/accept"):
        pass
    await web_stack.deps.routing.flush()
    async with zhang.post(f"/api/agent/wrapups/{task}",
                          json={"disposition": "quote_sent"}) as r:
        assert r.status == 409 and "still connected" in (await r.json())["message"]
    assert (await web_stack.deps.store.get_interaction(task)).disposition is None


async def test_a_timed_wrapup_can_be_extended(make_stack):
    def optional(data: dict) -> None:
        data["queues"]["sales"]["require_disposition"] = False

    stack = await make_stack(queues=optional)
    zhang, ws = await signed_in(stack)
    task = await chat_handled(stack, zhang, ws)
    (wrapup,) = await (await zhang.get("/api/agent/wrapups")).json()
    assert wrapup["ends_at"] == pytest.approx(stack.clock() + 10, abs=1)  # wrapup_seconds
    async with zhang.post(f"/api/agent/wrapups/{task}/extend", json={"seconds": 30}) as r:
        assert r.status == 200
        assert (await r.json())["ends_at"] == wrapup["ends_at"] + 30
    await elapse(stack, 20)
    assert stack.deps.routing.agent("zhangwei").wrapping == (task,)  # 40 s now, not 10
    await elapse(stack, 21)
    assert stack.deps.routing.agent("zhangwei").wrapping == ()
    async with zhang.post(f"/api/agent/wrapups/{task}/extend", json={"seconds": 30}) as r:
        assert r.status == 409  # over
    async with zhang.post(f"/api/agent/wrapups/{task}/extend", json={"seconds": 9999}) as r:
        assert r.status == 422


async def test_a_supervisor_corrects_a_disposition_and_the_history_keeps_it(web_stack):
    stack = web_stack
    zhang, ws = await signed_in(stack)
    task = await chat_handled(stack, zhang, ws, queue="support")  # zhaolei watches support
    async with zhang.post(f"/api/agent/wrapups/{task}", json={
            "disposition": "ticket_opened", "notes": "sold"}) as r:
        assert r.status == 200
    path = f"/api/interactions/{task}/disposition"
    change = {"disposition": "resolved", "notes": "solved on the call", "reason": "review"}
    async with zhang.patch(path, json=change) as r:
        assert r.status == 403  # agents do not correct
    supervisor = await stack.client("zhaolei")
    async with supervisor.patch(path, json={**change, "disposition": "bogus"}) as r:
        assert r.status == 422
    async with supervisor.patch(path, json={"disposition": "resolved"}) as r:
        assert r.status == 422  # a reason is required
    async with supervisor.patch(path, json=change) as r:
        assert r.status == 200, await r.text()
        assert await r.json() == {"task_id": task, "disposition": "resolved",
                                  "notes": "solved on the call"}
    record = await stack.deps.store.get_interaction(task)
    assert (record.disposition, record.notes) == ("resolved", "solved on the call")
    history = await stack.deps.store.events_between(0, 2e9, interaction_id=task)
    (edit,) = [e for e in history if e.event == "DISPOSITION_EDIT"]
    assert edit.data == {"by": "zhaolei", "reason": "review",
                         "before": {"disposition": "ticket_opened", "notes": "sold"},
                         "after": {"disposition": "resolved", "notes": "solved on the call"}}
    async with supervisor.patch("/api/interactions/nope/disposition", json=change) as r:
        assert r.status == 404


async def test_a_supervisor_corrects_only_the_queues_they_watch(web_stack):
    stack = web_stack
    zhang, ws = await signed_in(stack)
    task = await chat_handled(stack, zhang, ws)  # sales: team east's
    supervisor = await stack.client("zhaolei")  # supervises north only (copy_config)
    async with supervisor.patch(f"/api/interactions/{task}/disposition", json={
            "disposition": "quote_sent", "reason": "review"}) as r:
        assert r.status == 403
    admin = await stack.client("admin")
    async with admin.patch(f"/api/interactions/{task}/disposition", json={
            "disposition": "quote_sent", "reason": "review"}) as r:
        assert r.status == 200
