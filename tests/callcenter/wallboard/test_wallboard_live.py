"""The wallboard from the real engine and statistics, pushed live (tier 2)."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from callcenter.wallboard.notifier import WallboardNotifier
from callcenter.wallboard.services import WallboardService


async def snapshot_where(ws: aiohttp.ClientWebSocketResponse, check, timeout: float = 3.0):
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            data = json.loads(msg.data)
            if data["topic"] == "wallboard.snapshot" and check(data["data"]):
                return data["data"]


def queue(snapshot: dict, queue_id: str) -> dict:
    return next(q for q in snapshot["queues"] if q["id"] == queue_id)


async def test_supervisor_sees_only_their_teams(web_stack):
    supervisor = await web_stack.client("zhaolei")  # supervises north
    async with supervisor.get("/api/supervisor/wallboard") as response:
        assert response.status == 200
        board = await response.json()
    assert {a["team"] for a in board["agents"]} == {"north"}
    assert {a["id"] for a in board["agents"]} == {"wangfang", "liuyang", "chenjing", "zhaolei"}
    assert {q["id"] for q in board["queues"]} == {"support", "vip"}  # sales is east's
    admin = await web_stack.client("admin")
    async with admin.get("/api/supervisor/wallboard") as response:
        board = await response.json()
    assert {q["id"] for q in board["queues"]} == {"sales", "support", "vip"}
    assert "zhangwei" in {a["id"] for a in board["agents"]}


async def test_counts_change_live_over_the_websocket(web_stack):
    stack = web_stack
    supervisor = await stack.client("zhaolei")
    ws = await supervisor.ws_connect("/api/ws")
    first = await snapshot_where(ws, lambda s: True)
    assert queue(first, "support")["waiting"] == 0
    # A chat waits in support: nobody is ready.
    task = await stack.chat_arrives("support", None)
    board = await snapshot_where(ws, lambda s: queue(s, "support")["waiting"] == 1)
    support = queue(board, "support")
    assert support["by_channel"]["chat"] == {"offered": 1, "answered": 0}
    assert support["entered"] == 1
    # Wang Fang (north) logs in ready and takes it.
    wang = await stack.client("wangfang")
    async with wang.post("/api/agent/login", json={"device": "1003", "ready": True}):
        pass
    await stack.deps.routing.flush()
    offer_id = stack.deps.routing.agent("wangfang").offers[0]
    async with wang.post(f"/api/agent/offers/{offer_id}/accept") as response:
        assert response.status == 200
    board = await snapshot_where(
        ws, lambda s: queue(s, "support")["answered"] == 1
        and any(a["id"] == "wangfang" and a["state"] == "busy" for a in s["agents"]))
    support = queue(board, "support")
    assert support["waiting"] == 0 and support["service_level"] == 1.0
    assert support["by_channel"]["chat"] == {"offered": 1, "answered": 1}
    assert support["asa"] is not None and support["abandon_rate"] == 0.0
    row = next(a for a in board["agents"] if a["id"] == "wangfang")
    assert row["tasks"] == [{"task_id": task, "channel": "chat", "queue": "support",
                             "status": "connected"}]
    assert row["since"] is not None and row["since"] <= board["now"]
    assert sum(r["entered"] for r in board["intervals"] if r["queue"] == "support") == 1


async def test_force_state_is_limited_to_supervised_teams(web_stack):
    stack = web_stack
    for agent in ("wangfang", "zhangwei"):
        client = await stack.client(agent)
        async with client.post("/api/agent/login", json={"ready": True}):
            pass
    supervisor = await stack.client("zhaolei")
    async with supervisor.post("/api/supervisor/agents/wangfang/state",
                               json={"state": "not_ready", "reason": "meeting"}) as response:
        assert response.status == 200
        row = await response.json()
    assert row["state"] == "not_ready" and row["reason"] == "meeting"
    async with supervisor.post("/api/supervisor/agents/zhangwei/state",
                               json={"state": "not_ready"}) as response:
        assert response.status == 403
    assert stack.deps.routing.agent("zhangwei").state.value == "ready"
    admin = await stack.client("admin")
    async with admin.post("/api/supervisor/agents/zhangwei/state",
                          json={"state": "logged_out"}) as response:
        assert response.status == 200
    assert stack.deps.routing.agent("zhangwei").state.value == "logged_out"
    async with admin.post("/api/supervisor/agents/nobody/state",
                          json={"state": "ready"}) as response:
        assert response.status == 404


async def test_spy_without_a_telephone_system(web_stack):
    supervisor = await web_stack.client("zhaolei")
    async with supervisor.post("/api/supervisor/agents/wangfang/spy",
                               json={"mode": "listen"}) as response:
        assert response.status == 503
    async with supervisor.post("/api/supervisor/agents/zhangwei/spy",
                               json={"mode": "listen"}) as response:
        assert response.status == 403
    async with supervisor.post("/api/supervisor/agents/wangfang/spy",
                               json={"mode": "shout"}) as response:
        assert response.status == 422


async def test_agents_get_no_snapshots(web_stack):
    agent = await web_stack.client("zhangwei")
    ws = await agent.ws_connect("/api/ws")
    web_stack.need(WallboardNotifier).push()
    try:
        async with asyncio.timeout(0.5):
            while True:
                msg = await ws.receive()
                assert json.loads(msg.data)["topic"] != "wallboard.snapshot"
    except TimeoutError:
        pass


async def test_the_notifier_survives_being_cut_off_by_the_bus(make_stack):
    stack = await make_stack(snapshot_interval=0.2)
    supervisor = await stack.client("zhaolei")
    ws = await supervisor.ws_connect("/api/ws")
    await snapshot_where(ws, lambda s: True)
    before = stack.need(WallboardNotifier).pushed
    for _ in range(1500):  # more than a subscriber may hold: the notifier is cut off
        stack.deps.bus.publish("agent.state", {"state": "ready", "reason": None},
                               at=stack.clock(), agent_id="wangfang")
    msg = await ws.receive()  # the page's socket fell behind too: closed, to reconnect
    while msg.type == aiohttp.WSMsgType.TEXT:
        msg = await ws.receive()
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 1013
    ws = await supervisor.ws_connect("/api/ws")
    await asyncio.sleep(0.6)
    assert stack.need(WallboardNotifier).pushed > before  # it subscribed again and goes on
    await snapshot_where(ws, lambda s: True)
    # ... and still follows the bus.
    at = stack.clock()
    stack.deps.bus.publish("agent.state", {"state": "not_ready", "reason": "lunch"}, at=at,
                           agent_id="liuyang")
    async with asyncio.timeout(2):
        while stack.need(WallboardService)._since.get("liuyang") != ("not_ready", at):
            await asyncio.sleep(0.02)


async def test_each_queue_counts_the_ready_agents_who_may_take_its_contacts(web_stack):
    stack = web_stack
    for username, device in (("chenjing", "1005"), ("wangfang", "1003")):
        agent = await stack.client(username)
        async with agent.post("/api/agent/login", json={"device": device, "ready": True}) as r:
            assert r.status == 200
    lina = await stack.client("lina")  # signed in, not ready: counted nowhere
    async with lina.post("/api/agent/login", json={"device": "1002"}) as r:
        assert r.status == 200
    await stack.deps.routing.flush()
    admin = await stack.client("admin")
    async with admin.get("/api/supervisor/wallboard") as response:
        board = await response.json()
    # chenjing is a member of support too, but below its level (25 < 40): sales only.
    # wangfang: support and vip. Two agents ready in all, never two for any one queue.
    assert {q["id"]: q["ready_agents"] for q in board["queues"]} == {
        "sales": 1, "support": 1, "vip": 1}
    assert sum(a["state"] == "ready" for a in board["agents"]) == 2
