"""Who sees which customer, and who sees whole phone numbers (issue 10, "Who sees what").

A supervisor sees a customer who had a call or chat in a queue they watch, and of the
history only those queues' entries; an agent the customers offered or connected to
them; an admin everyone. Agents never get a whole phone number, from the API or on the
WebSocket; supervisors and admins do. Personas: ``tests.support.personas``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from callcenter.consoles.app import ENDPOINTS
from callcenter.storage.masking import mask_number_fields
from tests.support import personas
from tests.support.chat import Console, always_open
from tests.support.webstack import WebStack

NUMBER = "13912345678"
MASKED = "139****5678"


@dataclass
class Customers:
    sales: int  # one call in sales (east), handled by zhangwei
    vip: int  # one abandoned call in vip (north), nobody handled it
    mixed: int  # sales (zhangwei, notes with a number), support (wangfang), vip (nobody)
    mixed_entries: dict[str, str]  # queue -> interaction id


async def seed(stack: WebStack) -> Customers:
    store = stack.deps.store
    now = stack.clock()
    sales = await stack.customer("东区客户", phone="13500000011")
    await store.create_interaction("voice", queue="sales", agent_id="zhangwei",
                                   customer_id=sales, outcome="answered", arrived_at=now - 900)
    vip = await stack.customer("北区贵宾", phone="13500000012")
    await store.create_interaction("voice", queue="vip", customer_id=vip, outcome="abandoned",
                                   arrived_at=now - 800)
    mixed = await stack.customer("两区客户", phone=NUMBER)
    entries = {}
    for queue, agent, notes, ago in (("sales", "zhangwei", f"客户要求回电 {NUMBER}", 700),
                                     ("support", "wangfang", "已解决", 600),
                                     ("vip", None, None, 500)):
        interaction = await store.create_interaction(
            "voice", queue=queue, agent_id=agent, customer_id=mixed, arrived_at=now - ago,
            outcome="answered" if agent else "abandoned", notes=notes)
        entries[queue] = interaction.id
    chat = await store.create_interaction("chat", medium="web", queue="support",
                                          agent_id="wangfang", customer_id=mixed,
                                          arrived_at=now - 400, outcome="answered")
    await store.add_message(chat.id, "in", f"我的电话是 {NUMBER}", created_at=now - 399)
    await store.add_summary(entries["support"], f"客户留了号码 {NUMBER}，已回访。")
    entries["support-chat"] = chat.id
    return Customers(sales, vip, mixed, entries)


async def status_of(client, path: str) -> tuple[int, dict]:
    async with client.get(path) as response:
        return response.status, await response.json()


@pytest.fixture
async def stack(make_stack):
    return await make_stack(queues=always_open)


async def test_a_supervisor_of_team_a_gets_403_for_a_team_b_customer(stack):
    customers = await seed(stack)
    clients = await personas.clients(stack)
    expected = {  # persona -> (sales customer, vip customer, an id nobody has)
        "agent": (403, 403, 403),  # wangfang served neither
        "agent_other_team": (200, 403, 403),  # zhangwei served the sales one
        "supervisor": (403, 200, 403),  # north: support, vip
        "supervisor_other_team": (200, 403, 403),  # east: sales, support
        "admin": (200, 200, 404),  # only an admin learns an id does not exist
    }
    for persona, (sales, vip, nobody) in expected.items():
        got = tuple([(await status_of(clients[persona], f"/api/customers/{cid}/history"))[0]
                     for cid in (customers.sales, customers.vip, 999_999)])
        assert got == (sales, vip, nobody), persona
    _, body = await status_of(clients["supervisor"],
                              f"/api/customers/{customers.sales}/history")
    assert body["error"] == "forbidden" and "东区客户" not in json.dumps(body, ensure_ascii=False)


async def test_a_supervisor_sees_only_the_entries_of_queues_they_watch(stack):
    customers = await seed(stack)
    clients = await personas.clients(stack)
    seen = {}
    for persona in ("agent_other_team", "supervisor", "supervisor_other_team", "admin"):
        status, body = await status_of(clients[persona],
                                       f"/api/customers/{customers.mixed}/history")
        assert status == 200, persona
        seen[persona] = sorted(h["queue"] for h in body["history"])
    assert seen["supervisor"] == ["support", "support", "vip"]
    assert seen["supervisor_other_team"] == ["sales", "support", "support"]
    assert seen["admin"] == ["sales", "support", "support", "vip"]
    # An agent sees the whole story of a customer they served, as their screen-pop does.
    assert seen["agent_other_team"] == seen["admin"]


async def test_every_route_with_a_customer_id_checks_it(stack):
    customers = await seed(stack)
    clients = await personas.clients(stack)
    routes = [e for e in stack.app[ENDPOINTS]
              if re.search(r"\{customer[a-z_]*\}", e.path) and not e.public]
    assert routes, "no route takes a customer id: this test would prove nothing"
    bodies = {"GET": None, "PATCH": {"tags": ["checked"]}}  # a harmless change
    for endpoint in routes:
        assert endpoint.method in bodies, f"add a body for {endpoint.method} {endpoint.path}"
        for cid, persona, allowed in ((customers.sales, "supervisor", False),
                                      (customers.sales, "supervisor_other_team", True),
                                      (customers.vip, "agent_other_team", False),
                                      (customers.vip, "supervisor", True)):
            path = re.sub(r"\{customer[a-z_]*\}", str(cid), endpoint.path)
            async with clients[persona].request(endpoint.method, path,
                                                json=bodies[endpoint.method]) as response:
                status = response.status
            assert (status == 403) != allowed, \
                f"{endpoint.method} {path} as {persona}: {status}"


async def test_numbers_in_a_history_are_masked_for_agents_and_whole_for_supervisors(stack):
    customers = await seed(stack)
    clients = await personas.clients(stack)
    path = f"/api/customers/{customers.mixed}/history"
    _, as_agent = await status_of(clients["agent_other_team"], path)
    text = json.dumps(as_agent, ensure_ascii=False)
    assert NUMBER not in text
    assert text.count(MASKED) == 4  # the identity, the notes, the summary, the chat line
    _, as_supervisor = await status_of(clients["supervisor_other_team"], path)
    notes = {h["queue"]: h["notes"] for h in as_supervisor["history"]}
    assert notes["sales"] == f"客户要求回电 {NUMBER}"  # supervisors see numbers


async def test_the_screen_pop_on_the_websocket_masks_numbers_as_the_api_does(stack):
    customers = await seed(stack)
    zhang = await Console.open(stack, "zhangwei")
    await zhang.sign_in()
    task_id = await stack.chat_arrives("sales", customers.mixed)
    offer = await zhang.frames.next("agent.offer", lambda f: f["data"]["task_id"] == task_id)
    frame = json.dumps(offer, ensure_ascii=False)
    assert NUMBER not in frame and MASKED in frame
    [listed] = [o for o in await zhang.call("GET", "/api/agent/offers")
                if o["task_id"] == task_id]
    assert NUMBER not in json.dumps(listed, ensure_ascii=False)
    assert [h["notes"] for h in listed["pop"]["history"] if h["queue"] == "sales"] == \
        [h["notes"] for h in offer["data"]["pop"]["history"] if h["queue"] == "sales"] == \
        [f"客户要求回电 {MASKED}"]


async def test_every_number_field_on_the_websocket_follows_the_readers_rule(stack):
    """Whatever feature writes a payload: a field named like a number reaches an agent
    masked, and a supervisor whole."""
    await personas.add_personas(stack)
    agent = await Console.open(stack, "wangfang")
    supervisor = await Console.open(stack, "zhaolei")  # supervises wangfang (north)
    stack.deps.bus.publish("agent.state", {"state": "ready", "reason": None,
                                           "callback_number": NUMBER,
                                           "last": {"caller": f"+86 {NUMBER}"}},
                           at=stack.clock(), agent_id="wangfang")
    to_agent = await agent.frames.next("agent.state", lambda f: "callback_number" in f["data"])
    to_supervisor = await supervisor.frames.next("agent.state",
                                                 lambda f: "callback_number" in f["data"])
    assert to_agent["data"]["callback_number"] == MASKED
    assert NUMBER not in json.dumps(to_agent)
    assert to_supervisor["data"]["callback_number"] == NUMBER
    assert to_supervisor["data"]["last"] == {"caller": f"+86 {NUMBER}"}


async def test_a_supervisor_reading_a_chat_sees_the_history_of_their_queues_only(stack):
    customers = await seed(stack)
    wang = await Console.open(stack, "wangfang")
    await wang.sign_in()
    await stack.chat_arrives("support", customers.mixed)
    conv = await wang.accept_next()
    path = f"/api/chat/conversations/{conv['id']}"
    # zhaolei supervises wangfang (north) and watches support and vip, not sales.
    status, detail = await status_of(await stack.client("zhaolei"), path)
    assert status == 200
    assert {h["queue"] for h in detail["pop"]["history"]} == {"support", "vip"}
    # The agent holding it sees the whole story, masked.
    own = await wang.call("GET", path)
    assert {h["queue"] for h in own["pop"]["history"]} == {"sales", "support", "vip"}
    assert NUMBER not in json.dumps(own["pop"], ensure_ascii=False)


def test_the_websocket_rule_masks_number_fields_at_any_depth_and_nothing_else():
    payload = {"task_id": "13912345678-task", "offer_id": "o1", "caller_masked": MASKED,
               "pop": {"history": [{"callback_number": int(NUMBER), "notes": "好"}],
                       "customer": {"phone": f"+86 {NUMBER}", "id": 12345678}},
               "caller": "anonymous", "numbers": [NUMBER]}
    masked = mask_number_fields(payload)
    assert masked["pop"]["history"][0]["callback_number"] == MASKED
    assert masked["pop"]["customer"]["phone"] == "+861****5678"
    assert masked["numbers"] == [MASKED]
    assert masked["caller_masked"] == MASKED and masked["caller"] == "anonymous"
    # identifiers and other fields are not numbers to hide
    assert masked["task_id"] == payload["task_id"] and masked["pop"]["customer"]["id"] == 12345678
    assert payload["numbers"] == [NUMBER]  # a copy: the bus event stays whole for others
