"""The agent console API against the real engine: presence, offers over the WebSocket,
accept / reject, wrap-up (tier 2)."""

from __future__ import annotations

import json

import acd
from tests.support.webstack import next_topic, no_topic


async def test_console_shows_softphone_settings(web_stack):
    client = await web_stack.client("zhangwei")
    async with client.get("/api/agent/console") as response:
        assert response.status == 200
        console = await response.json()
    assert console["profile"]["extension"] == "1001"
    assert console["softphone"] == {"server": "127.0.0.1", "port": 5060, "transport": "UDP",
                                    "username": "1001", "password": "dev-sip-1001",
                                    "password_hint": "sip_password",
                                    "browser": {"device": "1001-web", "username": "1001-web",
                                                "domain": "127.0.0.1",
                                                "websocket": "/api/phone/ws"}}
    assert console["reasons"] == ["break", "lunch", "training", "meeting", "other"]
    assert console["status"]["state"] == "logged_out"


async def test_console_tells_softphones_the_public_address(make_stack):
    """asterisk.public_address is what a softphone on another machine registers to."""
    def public(data: dict) -> None:
        data["asterisk"].update(public_address="pbx.example.com", sip_port=5080,
                                websocket_port=8443)
    stack = await make_stack(callcenter=public)
    client = await stack.client("wangfang")
    async with client.get("/api/agent/console") as response:
        softphone = (await response.json())["softphone"]
    assert (softphone["server"], softphone["port"], softphone["username"],
            softphone["password"]) == ("pbx.example.com", 5080, "1003", "dev-sip-1003")
    # The browser phone's socket opens on the console's own origin (the engine relays it).
    assert softphone["browser"]["websocket"] == "/api/phone/ws"
    assert softphone["browser"]["domain"] == "pbx.example.com"


async def test_agent_goes_ready_and_not_ready_in_the_engine(web_stack):
    engine = web_stack.deps.routing
    client = await web_stack.client("zhangwei")
    async with client.post("/api/agent/login", json={"device": "1001"}) as response:
        assert response.status == 200
        assert (await response.json())["state"] == "not_ready"
    async with client.post("/api/agent/state", json={"state": "ready"}) as response:
        assert response.status == 200
        assert (await response.json())["state"] == "ready"
    assert engine.agent("zhangwei").state is acd.AgentState.READY
    assert engine.agent("zhangwei").presence is acd.Presence.READY
    async with client.post("/api/agent/state", json={"state": "not_ready",
                                                     "reason": "lunch"}) as response:
        assert response.status == 200
        body = await response.json()
    assert body["state"] == "not_ready" and body["reason"] == "lunch"
    assert engine.agent("zhangwei").reason == "lunch"
    await web_stack.deps.routing.flush()
    states = await web_stack.deps.store.agent_states_since(0, agent_id="zhangwei")
    assert [s.state for s in states][-2:] == ["ready", "not_ready"]


async def test_bad_state_requests_are_refused(web_stack):
    client = await web_stack.client("zhangwei")
    for device in ("1002", "1002-web", "1001-webx"):  # not his phones: the field is named
        async with client.post("/api/agent/login", json={"device": device}) as response:
            assert response.status == 422, device
            assert (await response.json())["details"][0]["loc"] == ["device"]
    async with client.post("/api/agent/state", json={"state": "ready"}) as response:
        assert response.status == 409  # not logged in
    async with client.post("/api/agent/state", json={"state": "not_ready"}) as response:
        assert response.status == 422  # a reason is required
    async with client.post("/api/agent/state", json={"state": "not_ready",
                                                     "reason": "nap"}) as response:
        assert response.status == 422


async def test_a_chat_offer_reaches_that_agent_only_and_can_be_accepted(web_stack):
    stack = web_stack
    zhang = await stack.client("zhangwei")
    lina = await stack.client("lina")
    zhang_ws = await zhang.ws_connect("/api/ws")
    lina_ws = await lina.ws_connect("/api/ws")
    assert (await next_topic(zhang_ws, "hello"))["data"]["user"]["agent_id"] == "zhangwei"
    await next_topic(lina_ws, "hello")
    async with lina.post("/api/agent/login", json={"device": "1002"}) as response:
        assert response.status == 200  # logged in but not ready: gets no offer
    async with zhang.post("/api/agent/login", json={"device": "1001", "ready": True}):
        pass
    customer = await stack.customer("王小明", phone="13812345678")
    task = await stack.chat_arrives("sales", customer, first_message="你好，我想咨询价格")
    offer = await next_topic(zhang_ws, "agent.offer")
    assert offer["agent_id"] == "zhangwei"
    data = offer["data"]
    assert data["task_id"] == task and data["channel"] == "chat" and data["queue"] == "sales"
    assert data["pop"]["customer"]["name"] == "王小明"
    assert data["pop"]["customer"]["identities"] == [{"kind": "phone",
                                                      "masked": "138****5678"}]
    assert "13812345678" not in json.dumps(offer)
    await no_topic(lina_ws, "agent.offer")
    # After a reload the page finds the offer again.
    async with zhang.get("/api/agent/offers") as response:
        offers = await response.json()
    assert [o["offer_id"] for o in offers] == [data["offer_id"]]
    # Lina cannot take Zhang's offer.
    async with lina.post(f"/api/agent/offers/{data['offer_id']}/accept") as response:
        assert response.status == 403
    async with zhang.post(f"/api/agent/offers/{data['offer_id']}/accept") as response:
        assert response.status == 200
        assert task in (await response.json())["connected"]
    await stack.deps.routing.flush()
    assert (await stack.deps.store.get_interaction(task)).agent_id == "zhangwei"


async def test_rejected_offer_goes_away_and_withdrawal_is_pushed(web_stack):
    stack = web_stack
    zhang = await stack.client("zhangwei")
    ws = await zhang.ws_connect("/api/ws")
    async with zhang.post("/api/agent/login", json={"device": "1001", "ready": True}):
        pass
    task = await stack.chat_arrives("sales", await stack.customer("Li", phone="13900001111"))
    offer = (await next_topic(ws, "agent.offer"))["data"]
    # The customer leaves: the offer is withdrawn and the card must go.
    stack.deps.routing.cancel(task)
    withdrawn = await next_topic(ws, "agent.offer_withdrawn")
    assert withdrawn["data"]["offer_id"] == offer["offer_id"]
    task2 = await stack.chat_arrives("sales", None)
    offer2 = (await next_topic(ws, "agent.offer"))["data"]
    assert offer2["task_id"] == task2 and offer2["pop"]["customer"] is None
    async with zhang.post(f"/api/agent/offers/{offer2['offer_id']}/reject") as response:
        assert response.status == 200
    await stack.deps.routing.flush()
    assert stack.deps.routing.task(task2).state is acd.TaskState.WAITING


async def test_state_changes_are_pushed_to_the_badge(web_stack):
    zhang = await web_stack.client("zhangwei")
    ws = await zhang.ws_connect("/api/ws")
    async with zhang.post("/api/agent/login", json={"device": "1001"}):
        pass
    async with zhang.post("/api/agent/state", json={"state": "ready"}):
        pass
    event = await next_topic(ws, "agent.state")
    while event["data"]["state"] != "ready":
        event = await next_topic(ws, "agent.state")
    assert event["agent_id"] == "zhangwei"


async def test_status_reads_are_dated_among_the_live_events(web_stack):
    """``as_of`` puts each status read on the scale of the WebSocket events' ``seq``: a
    later read has a higher one, and so does a read taken after an event was sent, so
    the page can tell which of two reads, or of a read and an event, is newer."""
    zhang = await web_stack.client("zhangwei")
    ws = await zhang.ws_connect("/api/ws")
    async with zhang.get("/api/agent/console") as response:
        before = (await response.json())["status"]
    async with zhang.post("/api/agent/login", json={"device": "1001"}) as response:
        signed_in = await response.json()
    assert (before["state"], signed_in["state"]) == ("logged_out", "not_ready")
    assert before["as_of"] < signed_in["as_of"]
    event = await next_topic(ws, "agent.state")
    assert event["data"]["state"] == "not_ready" and event["seq"] > before["as_of"]
    async with zhang.get("/api/agent/console") as response:
        after = (await response.json())["status"]
    assert after["as_of"] > max(event["seq"], signed_in["as_of"])


async def test_wrapup_stores_disposition_and_notes(web_stack):
    stack = web_stack
    zhang = await stack.client("zhangwei")
    ws = await zhang.ws_connect("/api/ws")
    async with zhang.post("/api/agent/login", json={"device": "1001", "ready": True}):
        pass
    task = await stack.chat_arrives("sales", await stack.customer("Wang", phone="13700000000"))
    offer = (await next_topic(ws, "agent.offer"))["data"]
    async with zhang.post(f"/api/agent/offers/{offer['offer_id']}/accept"):
        pass
    await stack.deps.routing.flush()
    stack.end_chat(task, "zhangwei")
    wrapup = (await next_topic(ws, "agent.wrapup"))["data"]
    assert wrapup["task_id"] == task
    assert [d["code"] for d in wrapup["dispositions"]] == ["order_placed", "quote_sent",
                                                          "not_interested"]
    assert wrapup["dispositions"][0]["label"] == {"zh": "已下单", "en": "Order placed"}
    await stack.deps.store.add_summary(task, "客户询问报价，已发送。")
    stack.deps.bus.publish("interaction.summary", {"task_id": task,
                                                   "text": "客户询问报价，已发送。"},
                           at=stack.clock())
    summary = await next_topic(ws, "interaction.summary")
    assert summary["data"]["text"] == "客户询问报价，已发送。"
    async with zhang.get("/api/agent/wrapups") as response:
        pending = await response.json()
    assert [w["task_id"] for w in pending] == [task]
    assert pending[0]["summary"] == "客户询问报价，已发送。"
    async with zhang.post(f"/api/agent/wrapups/{task}", json={"disposition": "bogus"}) as r:
        assert r.status == 422
        assert (await r.json())["details"][0]["loc"] == ["disposition"]
    async with zhang.post(f"/api/agent/wrapups/{task}", json={
            "disposition": "quote_sent", "notes": "  will call back Friday  "}) as response:
        assert response.status == 200
    interaction = await stack.deps.store.get_interaction(task)
    assert interaction.disposition == "quote_sent"
    assert interaction.notes == "will call back Friday"
    await stack.deps.routing.flush()
    assert stack.deps.routing.agent("zhangwei").wrapping == ()
    async with zhang.get("/api/agent/wrapups") as response:
        assert await response.json() == []
    # Another agent may not touch it.
    lina = await stack.client("lina")
    async with lina.post(f"/api/agent/wrapups/{task}", json={"disposition": "quote_sent"}) as r:
        assert r.status == 403


async def test_summaries_of_other_agents_tasks_are_not_forwarded(web_stack):
    zhang = await web_stack.client("zhangwei")
    ws = await zhang.ws_connect("/api/ws")
    await next_topic(ws, "hello")
    web_stack.deps.bus.publish("interaction.summary", {"task_id": "someone-else", "text": "x"},
                               at=web_stack.clock())
    web_stack.deps.bus.publish("agent.offer", {"offer_id": "o", "task_id": "t"},
                               at=web_stack.clock(), agent_id="lina")
    await no_topic(ws, "interaction.summary", "agent.offer")


async def test_linphone_fetches_the_agents_account_once_from_a_link(web_stack):
    client = await web_stack.client("zhangwei")
    async with client.post("/api/agent/softphone/provisioning") as response:
        assert response.status == 200
        link = await response.json()
    path = link["url"].split("://", 1)[1].split("/", 1)[1]
    assert path.startswith("provisioning/linphone/") and path.endswith(".xml")
    anonymous = await web_stack.client(None)
    async with anonymous.get(f"/{path}") as response:
        assert response.status == 200
        assert response.content_type == "application/xml"
        xml = await response.text()
    for expected in ('<entry name="username" overwrite="true">1001</entry>',
                     '<entry name="passwd" overwrite="true">dev-sip-1001</entry>',
                     "&lt;sip:127.0.0.1:5060;transport=udp&gt;"):
        assert expected in xml, xml
    async with anonymous.get(f"/{path}") as response:
        assert response.status == 404  # once only
    async with client.post("/api/agent/softphone/provisioning") as response:
        second = await response.json()
    web_stack.clock.advance(11 * 60)  # past its ten minutes
    async with anonymous.get("/" + second["url"].split("://", 1)[1].split("/", 1)[1]) as r:
        assert r.status == 404


async def test_an_agent_who_transferred_a_contact_wraps_up_their_part_once(web_stack):
    stack = web_stack
    zhang, lina = await stack.client("zhangwei"), await stack.client("lina")
    zhang_ws, lina_ws = await zhang.ws_connect("/api/ws"), await lina.ws_connect("/api/ws")
    async with zhang.post("/api/agent/login", json={"device": "1001", "ready": True}):
        pass
    task = await stack.chat_arrives("sales", None)
    offer = (await next_topic(zhang_ws, "agent.offer"))["data"]
    async with zhang.post(f"/api/agent/offers/{offer['offer_id']}/accept"):
        pass
    async with lina.post("/api/agent/login", json={"device": "1002", "ready": True}):
        pass
    await stack.deps.routing.flush()
    assert stack.deps.routing.transfer(task, queue="sales", agent_id="lina") is None
    assert stack.deps.routing.agent("zhangwei").wrapping == (task,)
    offer = (await next_topic(lina_ws, "agent.offer"))["data"]
    async with lina.post(f"/api/agent/offers/{offer['offer_id']}/accept"):
        pass
    await stack.deps.routing.flush()
    assert (await stack.deps.store.get_interaction(task)).agent_id == "lina"

    async with zhang.post(f"/api/agent/wrapups/{task}", json={
            "disposition": "quote_sent", "notes": "passed to lina"}) as response:
        assert response.status == 200, await response.text()
    # The contact's own disposition stays lina's to give; zhangwei's part is in its history.
    assert (await stack.deps.store.get_interaction(task)).disposition is None
    history = await stack.deps.store.events_between(0, 2e9, interaction_id=task)
    assert [(e.agent, e.data) for e in history if e.event == "DISPOSITION"] == [
        ("zhangwei", {"disposition": "quote_sent", "notes": "passed to lina"})]
    assert stack.deps.routing.agent("zhangwei").wrapping == ()
    # Once: a second one is refused, and so is anyone who never had the contact.
    async with zhang.post(f"/api/agent/wrapups/{task}", json={"disposition": "x"}) as r:
        assert r.status == 409
    wang = await stack.client("wangfang")
    async with wang.post(f"/api/agent/wrapups/{task}", json={"disposition": "quote_sent"}) as r:
        assert r.status == 403
