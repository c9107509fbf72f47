"""Who may call what: every route of the app, as anonymous, agent, supervisor, admin.

The matrix is keyed by the app's own route table (method, path pattern): a route
added without an entry here fails ``test_the_matrix_covers_every_route``. For each
case, a persona in ``allowed`` must get neither 401 nor 403 (a 2xx, or a 4xx such as
409/422/404 about the request itself); anyone else must get 401 (anonymous) or 403.

Personas: ``agent`` is zhangwei (team east); ``supervisor`` is zhaolei, who in these
tests supervises the north team only, so ``own`` targets wangfang (north) and
``other`` targets zhangwei (east); ``admin`` may do everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from callcenter.agents.services import AgentService
from callcenter.consoles.app import ENDPOINTS
from tests.support import webstack as ws

PERSONAS = ("anonymous", "agent", "supervisor", "admin")
LOGINS = {"agent": "zhangwei", "supervisor": "zhaolei", "admin": "admin"}
EVERYONE = frozenset(PERSONAS)
STAFF = frozenset({"agent", "supervisor", "admin"})
CONSOLE = frozenset({"agent", "supervisor"})
SUPERVISION = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})
NOBODY: frozenset[str] = frozenset()


@dataclass
class Seed:
    """Objects the cases point at."""

    foreign_offer: str  # offered to lina
    foreign_task: str  # handled by lina
    agents_customer: int  # zhangwei handled one of their calls
    strangers_customer: int  # nobody in the matrix served them
    queues_text: str
    agents_task: str  # a call zhangwei (east) handled
    own_team_task: str  # a call wangfang (north: the supervisor's team) handled
    own_team_flag: int  # a quality flag on wangfang's call
    other_team_flag: int  # a quality flag on zhangwei's call
    chat: ChatSeed | None = None


@dataclass
class ChatSeed:
    """Chats the chat routes point at."""

    other_team: str  # a conversation lina (east) holds
    own_team: str  # a conversation wangfang (north: the supervisor's team) holds
    other_team_file: int  # an image in lina's conversation


@dataclass(frozen=True)
class Case:
    path: str
    allowed: frozenset[str]
    body: Any = None
    note: str = ""
    fresh_session: bool = False


Cases = Callable[[Seed], list[Case]]


def one(path: str, allowed: frozenset[str], body: Any = None, **kw: Any) -> Cases:
    return lambda _seed: [Case(path, allowed, body, **kw)]


def call_speech(part: str) -> Cases:
    """A call's transcript / summary / inspection: the agent's own, a supervised team's."""
    return lambda s: [
        Case(f"/api/interactions/{s.agents_task}/{part}", frozenset({"agent", "admin"}),
             note="zhangwei's call (east)"),
        Case(f"/api/interactions/{s.own_team_task}/{part}", SUPERVISION,
             note="wangfang's call (north)"),
        Case(f"/api/interactions/no-such-call/{part}", STAFF, note="404")]


def chat_case(tail: str, body: Any = None, *, own: frozenset[str] = NOBODY,
              unknown: frozenset[str] = CONSOLE) -> Cases:
    """A chat route on a chat nobody here may act on (lina's), the supervisor's team's
    chat (``own``: who may), and an unknown one (404 for the console roles)."""
    return lambda s: [
        Case(f"/api/chat/conversations/{s.chat.other_team}/{tail}", NOBODY, body,
             note="lina's chat (east)"),
        Case(f"/api/chat/conversations/{s.chat.own_team}/{tail}", own, body,
             note="wangfang's chat (north)"),
        Case(f"/api/chat/conversations/no-such/{tail}", unknown, body, note="404")]


WIDGET = "/api/widget/conversations/no-such"
START = {"topic": "buy", "name": "Matrix", "language": "en"}
CHAT_MATRIX: dict[tuple[str, str], Cases] = {
    # chats in the consoles: an agent's own, a supervisor's teams
    ("GET", "/api/chat/conversations"): one("/api/chat/conversations", CONSOLE),
    ("GET", "/api/chat/conversations/{conversation_id}"): lambda s: [
        Case(f"/api/chat/conversations/{s.chat.other_team}", ADMIN, note="lina's chat"),
        Case(f"/api/chat/conversations/{s.chat.own_team}", SUPERVISION,
             note="wangfang's chat"),
        Case("/api/chat/conversations/no-such", STAFF, note="404")],
    **{("POST", f"/api/chat/conversations/{{conversation_id}}/{tail}"): chat_case(tail, body)
       for tail, body in (("messages", {"text": "hi", "client_id": "m1"}),
                          ("files", None), ("typing", {"on": True}), ("read", {"upto": 1}),
                          ("end", None), ("transfer", {"queue": "support"}),
                          ("callback", None), ("merge", {"customer_id": 1}))},
    ("POST", "/api/chat/conversations/{conversation_id}/join"): chat_case(
        "join", own=frozenset({"supervisor"}), unknown=frozenset({"supervisor"})),
    ("POST", "/api/chat/merges/{merge_id}/undo"): one("/api/chat/merges/999/undo", STAFF,
                                                     note="404"),
    ("GET", "/api/chat/files/{file_id}"): lambda s: [
        Case(f"/api/chat/files/{s.chat.other_team_file}", ADMIN, note="lina's chat"),
        Case("/api/chat/files/999999", STAFF, note="404")],
    # the web widget: public; its files and a conversation's token decide the rest
    ("GET", "/chat/widget.js"): one("/chat/widget.js", EVERYONE),
    ("GET", "/chat/widget"): one("/chat/widget", EVERYONE),
    ("GET", "/chat/static/{name}"): one("/chat/static/widget-app.js", EVERYONE),
    ("GET", "/api/widget/config"): one("/api/widget/config", EVERYONE),
    ("POST", "/api/widget/conversations"): one("/api/widget/conversations", EVERYONE, START),
    ("GET", "/api/widget/ws"): one("/api/widget/ws", EVERYONE),
    ("POST", "/api/widget/conversations/{conversation_id}/files"): one(
        f"{WIDGET}/files", EVERYONE, note="404: no token"),
    ("GET", "/api/widget/conversations/{conversation_id}/files/{file_id}"): one(
        f"{WIDGET}/files/1", EVERYONE, note="404: no token"),
    ("GET", "/api/widget/conversations/{conversation_id}/transcript"): one(
        f"{WIDGET}/transcript", EVERYONE, note="404: no token"),
    ("POST", "/api/widget/conversations/{conversation_id}/rating"): one(
        f"{WIDGET}/rating", EVERYONE, {"score": 5}, note="404: no token"),
    ("POST", "/api/widget/conversations/{conversation_id}/end"): one(
        f"{WIDGET}/end", EVERYONE, note="404: no token"),
}



MATRIX: dict[tuple[str, str], Cases] = {
    # pages and documents are public: the data is behind the API
    ("GET", "/"): one("/", EVERYONE),
    ("GET", "/agent"): one("/agent", EVERYONE),
    ("GET", "/wallboard"): one("/wallboard", EVERYONE),
    ("GET", "/admin"): one("/admin", EVERYONE),
    ("GET", "/static"): one("/static/app.css", EVERYONE),
    ("GET", "/api/openapi.json"): one("/api/openapi.json", EVERYONE),
    ("GET", "/api/ws"): one("/api/ws", STAFF),
    # auth
    ("POST", "/api/auth/login"): lambda s: [
        Case("/api/auth/login", EVERYONE, {"username": "lina", "password": "welcome-1002"},
             fresh_session=True)],
    ("POST", "/api/auth/logout"): one("/api/auth/logout", STAFF, fresh_session=True),
    ("GET", "/api/me"): one("/api/me", STAFF),
    ("POST", "/api/me/password"): one(
        "/api/me/password", STAFF, {"current_password": "wrong",
                                    "new_password": "long-enough-password"},
        note="400: wrong current password"),
    # the agent console: only one's own agent
    ("GET", "/api/agent/console"): one("/api/agent/console", CONSOLE),
    ("POST", "/api/agent/login"): one("/api/agent/login", CONSOLE, {}),
    ("POST", "/api/agent/logout"): one("/api/agent/logout", CONSOLE),
    ("POST", "/api/agent/state"): one("/api/agent/state", CONSOLE,
                                      {"state": "not_ready", "reason": "break"}),
    ("GET", "/api/agent/offers"): one("/api/agent/offers", CONSOLE),
    ("POST", "/api/agent/offers/{offer_id}/accept"): lambda s: [
        Case("/api/agent/offers/no-such-offer/accept", CONSOLE, note="409"),
        Case(f"/api/agent/offers/{s.foreign_offer}/accept", NOBODY, note="lina's offer")],
    ("POST", "/api/agent/offers/{offer_id}/reject"): lambda s: [
        Case("/api/agent/offers/no-such-offer/reject", CONSOLE, note="409"),
        Case(f"/api/agent/offers/{s.foreign_offer}/reject", NOBODY, note="lina's offer")],
    ("GET", "/api/agent/wrapups"): one("/api/agent/wrapups", CONSOLE),
    ("POST", "/api/agent/wrapups/{task_id}"): lambda s: [
        Case("/api/agent/wrapups/no-such-task", CONSOLE, {"disposition": None}, note="404"),
        Case(f"/api/agent/wrapups/{s.foreign_task}", NOBODY, {"disposition": "quote_sent"},
             note="lina's contact")],
    ("POST", "/api/agent/call/transfer"): one("/api/agent/call/transfer", CONSOLE,
                                              {"queue": "support"},
                                              note="503: no telephone system here"),
    # customers
    ("GET", "/api/customers/{customer_id}/history"): lambda s: [
        Case(f"/api/customers/{s.agents_customer}/history", STAFF, note="served by agent"),
        Case(f"/api/customers/{s.strangers_customer}/history", SUPERVISION,
             note="not the agent's customer")],
    # supervision: own team vs other team
    ("GET", "/api/supervisor/wallboard"): one("/api/supervisor/wallboard", SUPERVISION),
    ("POST", "/api/supervisor/agents/{agent_id}/spy"): lambda s: [
        Case(f"/api/supervisor/agents/{ws.OWN_TEAM_AGENT}/spy", SUPERVISION,
             {"mode": "listen"}, note="own team (503: no telephone system here)"),
        Case(f"/api/supervisor/agents/{ws.OTHER_TEAM_AGENT}/spy", ADMIN,
             {"mode": "barge"}, note="other team")],
    ("POST", "/api/supervisor/agents/{agent_id}/state"): lambda s: [
        Case(f"/api/supervisor/agents/{ws.OWN_TEAM_AGENT}/state", SUPERVISION,
             {"state": "ready"}, note="own team (409: not logged in)"),
        Case(f"/api/supervisor/agents/{ws.OTHER_TEAM_AGENT}/state", ADMIN,
             {"state": "not_ready", "reason": "meeting"}, note="other team")],
    # speech: a call's transcript, summary and inspection; search; flagged calls
    **{("GET", f"/api/interactions/{{task_id}}/{part}"): call_speech(part)
       for part in ("transcript", "summary", "inspection")},
    ("GET", "/api/speech/search"): lambda s: [
        Case("/api/speech/search?q=退款", STAFF),
        Case("/api/speech/search?q=13812345678", STAFF,
             note="422 for the agent: masked readers may not search by numbers"),
        Case("/api/speech/search?q=x&limit=0", STAFF, note="422")],
    ("GET", "/api/supervisor/flags"): lambda s: [
        Case("/api/supervisor/flags?status=all", SUPERVISION),
        Case("/api/supervisor/flags?status=bogus", SUPERVISION, note="422")],
    ("POST", "/api/supervisor/flags/{flag_id}/review"): lambda s: [
        Case(f"/api/supervisor/flags/{s.own_team_flag}/review", SUPERVISION,
             {"verdict": "confirm"}, note="own team (admin after the supervisor: 409)"),
        Case(f"/api/supervisor/flags/{s.other_team_flag}/review", ADMIN,
             {"verdict": "dismiss", "note": "agent was right"}, note="other team"),
        Case("/api/supervisor/flags/999999/review", SUPERVISION, {"verdict": "confirm"},
             note="404")],
    ("GET", "/api/speech/jobs"): one("/api/speech/jobs?status=all", SUPERVISION),
    # admin
    ("GET", "/api/admin/config"): one("/api/admin/config", ADMIN),
    ("GET", "/api/admin/config/{filename}"): one("/api/admin/config/queues.yaml", ADMIN),
    ("POST", "/api/admin/config/{filename}/validate"): lambda s: [
        Case("/api/admin/config/queues.yaml/validate", ADMIN, {"text": s.queues_text})],
    ("PUT", "/api/admin/config/{filename}"): lambda s: [
        Case("/api/admin/config/queues.yaml", ADMIN, {"text": s.queues_text})],
    ("GET", "/api/admin/changes"): one("/api/admin/changes", ADMIN),
    ("GET", "/api/admin/changes/{change_id}"): one("/api/admin/changes/1", ADMIN),
    **CHAT_MATRIX,
}


def app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        routes.add((route.method, route.resource.canonical))
    return routes


@pytest.fixture
async def matrix_stack(make_stack):
    # No Asterisk here: a request that passes authorization and needs a telephone
    # answers 503 ("no telephone system is connected"), which the matrix accepts.
    return await make_stack()


async def seed(stack) -> Seed:
    store = stack.deps.store
    lina = await stack.client("lina")
    async with lina.post("/api/agent/login", json={"device": "1002", "ready": True}) as r:
        assert r.status == 200
    await stack.chat_arrives("sales", None)
    offer = stack.deps.routing.agent("lina").offers[0]
    foreign = await store.create_interaction("voice", queue="sales", agent_id="lina",
                                             outcome="answered")
    mine = await stack.customer("Zhang's caller", phone="13500000001")
    await store.create_interaction("voice", queue="sales", agent_id="zhangwei",
                                   customer_id=mine, outcome="answered")
    stranger = await stack.customer("Stranger", phone="13500000002")
    agents_task = await store.create_interaction("voice", queue="sales", agent_id="zhangwei",
                                                 outcome="answered")
    own_team = await store.create_interaction("voice", queue="support", agent_id="wangfang",
                                              outcome="answered")
    flag = {"rule": "required", "code": "missing:greeting", "message": "no greeting",
            "deduction": 10}
    [own_flag] = await store.add_speech_flags(own_team.id, [flag], queue="support",
                                              agent_id="wangfang")
    [other_flag] = await store.add_speech_flags(agents_task.id, [flag], queue="sales",
                                                agent_id="zhangwei")
    return Seed(offer, foreign.id, mine, stranger,
                (stack.config_dir / "queues.yaml").read_text(encoding="utf-8"),
                agents_task.id, own_team.id, own_flag.id, other_flag.id,
                await chat_seed(stack))


async def chat_seed(stack) -> ChatSeed:
    lina_chat = await stack.accept_chat("lina", await stack.chat_arrives("sales", None))
    stack.need(AgentService).login("wangfang", None, ready=True)
    north_chat = await stack.accept_chat("wangfang", await stack.chat_arrives("support", None))
    image = await stack.deps.store.add_chat_file(
        lina_chat, name="p.png", content_type="image/png", data=b"\x89PNG\r\n\x1a\n-",
        sha256="0" * 64)
    return ChatSeed(lina_chat, north_chat, image.id)


async def call(stack, client: aiohttp.ClientSession, method: str, case: Case) -> int:
    if method == "GET" and case.path in ("/api/ws", "/api/widget/ws"):
        try:
            socket = await client.ws_connect(case.path)
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        await socket.close()
        return 101
    async with client.request(method, case.path, json=case.body) as response:
        await response.read()
        return response.status


async def test_the_matrix_covers_every_route(matrix_stack):
    routes = app_routes(matrix_stack.app)
    missing = routes - set(MATRIX)
    stale = set(MATRIX) - routes
    assert not missing, f"routes without an entry in the role matrix: {sorted(missing)}"
    assert not stale, f"matrix entries for routes that no longer exist: {sorted(stale)}"


async def test_role_matrix(matrix_stack):
    stack = matrix_stack
    seeded = await seed(stack)
    clients = {"anonymous": await stack.client()}
    for persona, username in LOGINS.items():
        clients[persona] = await stack.client(username)
    async with clients["anonymous"].get("/api/openapi.json") as response:
        documented = (await response.json())["paths"]
    failures, table = [], []
    for (method, route), cases in MATRIX.items():
        for case in cases(seeded):
            row = [f"{method} {case.path}"]
            for persona in PERSONAS:
                client = clients[persona]
                if case.fresh_session:  # the call changes the client's session
                    client = await stack.client(LOGINS.get(persona))
                status = await call(stack, client, method, case)
                row.append(str(status))
                if persona in case.allowed:
                    ok = status not in (401, 403) and status != 500
                else:
                    ok = status == (401 if persona == "anonymous" else 403)
                if not ok:
                    failures.append(f"{method} {case.path} ({route}; {case.note}) as "
                                    f"{persona}: {status}, allowed {sorted(case.allowed)}")
                answers = documented.get(route, {}).get(method.lower(), {}).get("responses")
                if route.startswith("/api/") and answers is not None \
                        and str(status) not in answers:
                    failures.append(f"{method} {route} answered {status}, which its OpenAPI "
                                    f"operation does not document ({sorted(answers)})")
            table.append("  ".join(row))
    print("\n".join(table))
    assert not failures, "\n".join(failures)


async def test_every_documented_operation_lists_its_roles(matrix_stack):
    client = await matrix_stack.client()
    async with client.get("/api/openapi.json") as response:
        document = await response.json()
    for endpoint in matrix_stack.app[ENDPOINTS]:
        operation = document["paths"][endpoint.path][endpoint.method.lower()]
        assert operation["x-roles"] == sorted(endpoint.roles), endpoint.path
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["x-roles"], f"{method} {path}"
            assert (method.upper(), path) in MATRIX


async def test_websocket_checks_origin(matrix_stack):
    stack = matrix_stack
    evil = await stack.client("zhangwei", origin="https://evil.example")
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await evil.ws_connect("/api/ws")
    assert info.value.status == 403
    missing = await stack.client("zhangwei", origin=None)
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await missing.ws_connect("/api/ws")
    assert info.value.status == 403


async def test_logout_closes_the_websocket(matrix_stack):
    client = await matrix_stack.client("zhangwei")
    socket = await client.ws_connect("/api/ws")
    assert (await socket.receive_json())["topic"] == "hello"
    async with client.post("/api/auth/logout") as response:
        assert response.status == 200
    msg = await socket.receive()
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert socket.close_code == 4001
