"""Who may call what, and who hears what: every route and WebSocket message, per persona.

The routes come from the app itself (its router and the features' route tables,
``ENDPOINTS``), never from a list kept here. Each route's expectation is either

* **derived** from its route table entry: a persona whose role the route lists may
  call it, anyone else gets 401 (anonymous) or 403 — for routes whose role is the
  whole rule: no ``scope``, no path parameter naming someone's object; or
* **written** below (``SCOPED``), with the objects it points at: each case says which
  personas may act on *that* object. A route that declares a ``scope`` must have one
  (``test_scoped_routes_have_written_cases``).

A persona allowed must get neither 401 nor 403 (nor 500); anyone else must get 401
(anonymous) or 403: 0 leaks. Every status seen must be one the route's OpenAPI
operation documents.

The console's WebSocket (``/api/ws``) is covered the same way: every topic any feature
publishes (found in the source) is either delivered (``DELIVERED``: to whom, checked
over real sockets) or internal (``INTERNAL``: no console receives it); the only message
a console may send is ``ping``.

Personas (``tests.support.personas``): anonymous; agent wangfang (north) and
zhangwei (east, "other team"); supervisor zhaolei (north: support, vip) and sunli
(east: sales, support; no agent profile, so the agent console refuses them 403);
admin.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from callcenter.agents.services import AgentService
from callcenter.bus import BusEvent
from callcenter.consoles.app import ENDPOINTS
from callcenter.wallboard.services import WallboardService
from callcenter.webkit.endpoints import Endpoint
from callcenter.webkit.principal import Principal, principal_for
from tests.support import personas
from tests.support import webstack as ws

REPO = Path(__file__).resolve().parents[3]
PERSONAS = personas.PERSONAS
ROLE_OF = {"anonymous": "public", "agent": "agent", "agent_other_team": "agent",
           "supervisor": "supervisor", "supervisor_other_team": "supervisor",
           "admin": "admin"}
EVERYONE = frozenset(PERSONAS)
STAFF = EVERYONE - {"anonymous"}
CONSOLE = frozenset({"agent", "agent_other_team", "supervisor"})  # an agent profile
CONSOLE_ROLE = CONSOLE | {"supervisor_other_team"}  # the role, with or without a profile
SUPERVISION = frozenset({"supervisor", "supervisor_other_team", "admin"})
ADMIN = frozenset({"admin"})
NOBODY: frozenset[str] = frozenset()
NORTH = frozenset({"agent", "supervisor", "admin"})  # wangfang's things
EAST = frozenset({"agent_other_team", "supervisor_other_team", "admin"})  # zhangwei's
PLACEHOLDER = "999999"


# ---------------------------------------------------------------------------- the objects


@dataclass
class Seed:
    """Objects the cases point at (north: wangfang's team; east: zhangwei's and lina's)."""

    foreign_offer: str  # an offer to lina (east)
    foreign_task: str  # a call lina handled
    east_customer: int  # a sales call zhangwei handled
    north_customer: int  # a support call wangfang handled
    vip_customer: int  # an abandoned vip call (north's queue), nobody handled it
    queues_text: str
    east_task: str  # a call zhangwei handled (sales)
    north_task: str  # a call wangfang handled (support)
    north_flag: int  # a quality flag on wangfang's call
    east_flag: int  # a quality flag on zhangwei's call
    east_chat: str  # a conversation lina holds
    north_chat: str  # a conversation wangfang holds
    east_file: int  # an image in lina's conversation
    ended_east_file: int  # an image of an ended chat lina had (sales)


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
        Case(f"/api/interactions/{s.east_task}/{part}", EAST, note="zhangwei's call"),
        Case(f"/api/interactions/{s.north_task}/{part}", NORTH, note="wangfang's call"),
        Case(f"/api/interactions/no-such-call/{part}", STAFF, note="404")]


def chat_act(tail: str, body: Any = None) -> Cases:
    """A chat route that acts: only the agent holding the chat (or a supervisor who
    joined it, which nobody here did)."""
    return lambda s: [
        Case(f"/api/chat/conversations/{s.east_chat}/{tail}", NOBODY, body,
             note="lina's chat"),
        Case(f"/api/chat/conversations/{s.north_chat}/{tail}", frozenset({"agent"}), body,
             note="wangfang's chat"),
        Case(f"/api/chat/conversations/no-such/{tail}", CONSOLE_ROLE, body, note="404")]


def report_cases(path: str) -> Cases:
    """A report: everything the reader may see, a queue or an agent of one team."""
    return lambda s: [
        Case(path, SUPERVISION, note="everything the reader may see"),
        Case(f"{path}?queues=sales&interval=day", frozenset({"supervisor_other_team", "admin"}),
             note="an east queue"),
        Case(f"{path}?queues=vip", frozenset({"supervisor", "admin"}), note="a north queue"),
        Case(f"{path}?by=agent&agents={ws.OWN_TEAM_AGENT}", frozenset({"supervisor", "admin"}),
             note="wangfang"),
        Case(f"{path}?by=agent&agents={ws.OTHER_TEAM_AGENT}",
             frozenset({"supervisor_other_team", "admin"}), note="zhangwei"),
        Case(f"{path}?interval=fortnight", SUPERVISION, note="422")]


WIDGET = "/api/widget/conversations/no-such"
START = {"topic": "buy", "name": "Matrix", "language": "en"}
SCOPED: dict[tuple[str, str], Cases] = {
    # the pages and documents are public: the data is behind the API
    ("GET", "/"): one("/", EVERYONE),
    ("GET", "/agent"): one("/agent", EVERYONE),
    ("GET", "/wallboard"): one("/wallboard", EVERYONE),
    ("GET", "/admin"): one("/admin", EVERYONE),
    ("GET", "/reports"): one("/reports", EVERYONE),
    ("GET", "/static"): one("/static/app.css", EVERYONE),
    ("GET", "/vendor/{name}"): one("/vendor/echarts.js", EVERYONE),
    ("GET", "/api/openapi.json"): one("/api/openapi.json", EVERYONE),
    ("GET", "/api/ws"): one("/api/ws", STAFF),
    # people with a phone extension (a browser phone); 503 here: no Asterisk behind it
    ("GET", "/api/phone/ws"): one("/api/phone/ws",
                                  frozenset({"agent", "agent_other_team", "supervisor"})),
    # auth: these change the client's session
    ("POST", "/api/auth/login"): one("/api/auth/login", EVERYONE,
                                     {"username": "lina", "password": ws.PASSWORDS["lina"]},
                                     fresh_session=True),
    ("POST", "/api/auth/logout"): one("/api/auth/logout", STAFF, fresh_session=True),
    ("POST", "/api/me/password"): one(
        "/api/me/password", STAFF, {"current_password": "wrong",
                                    "new_password": "long-enough-password"},
        note="422: wrong current password"),
    ("POST", "/api/auth/users/{username}/password-reset"): lambda s: [
        Case("/api/auth/users/emily/password-reset", ADMIN),
        Case("/api/auth/users/no-such-user/password-reset", ADMIN, note="404")],
    # the agent console: one's own agent, so an agent profile
    ("POST", "/api/agent/login"): one("/api/agent/login", CONSOLE, {}),
    ("POST", "/api/agent/state"): one("/api/agent/state", CONSOLE,
                                      {"state": "not_ready", "reason": "break"}),
    ("POST", "/api/agent/offers/{offer_id}/accept"): lambda s: [
        Case("/api/agent/offers/no-such-offer/accept", CONSOLE, note="409"),
        Case(f"/api/agent/offers/{s.foreign_offer}/accept", NOBODY, note="lina's offer")],
    ("POST", "/api/agent/offers/{offer_id}/reject"): lambda s: [
        Case("/api/agent/offers/no-such-offer/reject", CONSOLE, note="409"),
        Case(f"/api/agent/offers/{s.foreign_offer}/reject", NOBODY, note="lina's offer")],
    ("POST", "/api/agent/wrapups/{task_id}"): lambda s: [
        Case("/api/agent/wrapups/no-such-task", CONSOLE, {"disposition": None}, note="404"),
        Case(f"/api/agent/wrapups/{s.foreign_task}", NOBODY, {"disposition": "quote_sent"},
             note="lina's contact")],
    ("POST", "/api/agent/wrapups/{task_id}/extend"): lambda s: [
        Case("/api/agent/wrapups/no-such-task/extend", CONSOLE, {"seconds": 30},
             note="409: no wrap-up of mine running"),
        Case(f"/api/agent/wrapups/{s.foreign_task}/extend", CONSOLE, {"seconds": 30},
             note="409 about lina's contact: only my own running wrap-ups exist to me")],
    # correcting a disposition: supervision, in the queues one watches
    ("PATCH", "/api/interactions/{task_id}/disposition"): lambda s: [
        Case(f"/api/interactions/{s.east_task}/disposition", EAST & SUPERVISION,
             {"disposition": "quote_sent", "reason": "matrix"}, note="a sales call"),
        Case(f"/api/interactions/{s.north_task}/disposition", SUPERVISION,
             {"disposition": "resolved", "reason": "matrix"},
             note="a support call (both teams watch support)")],
    ("POST", "/api/agent/call/transfer"): one("/api/agent/call/transfer", CONSOLE,
                                              {"queue": "support"},
                                              note="503: no telephone system here"),
    # the call controls act on one's own connected call only: no path names a call
    ("GET", "/api/agent/call"): one("/api/agent/call", CONSOLE, note="503: no telephone"),
    ("POST", "/api/agent/call/hold"): one("/api/agent/call/hold", CONSOLE, {"on": True},
                                          note="503: no telephone system here"),
    ("POST", "/api/agent/call/mute"): one("/api/agent/call/mute", CONSOLE, {"on": True},
                                          note="503: no telephone system here"),
    ("POST", "/api/agent/call/hangup"): one("/api/agent/call/hangup", CONSOLE,
                                            note="503: no telephone system here"),
    # asks about oneself only: no path names an agent
    ("POST", "/api/agent/why-no-calls"): one("/api/agent/why-no-calls", CONSOLE,
                                             note="503: no telephone system here"),
    ("POST", "/api/agent/call/consult"): one("/api/agent/call/consult", CONSOLE,
                                             {"agent": "lina"},
                                             note="503: no telephone system here"),
    ("POST", "/api/agent/call/consult/end"): one("/api/agent/call/consult/end", CONSOLE,
                                                 {"then": "return"},
                                                 note="503: no telephone system here"),
    ("POST", "/api/agent/call/dial"): one("/api/agent/call/dial", CONSOLE,
                                          {"number": "13900001111"},
                                          note="503: no telephone system here"),
    ("POST", "/api/agent/softphone/provisioning"): one("/api/agent/softphone/provisioning",
                                                      CONSOLE, note="sunli has no phone"),
    # the token is the credential: anyone may try, only a live token answers (404 here)
    ("GET", "/provisioning/linphone/{token}.xml"): one("/provisioning/linphone/nope.xml",
                                                       EVERYONE, note="404"),
    # voice messages: only the agent who took one (no message exists in this stack)
    ("GET", "/api/agent/messages/{task_id}/audio"): lambda s: [
        Case("/api/agent/messages/no-such-task/audio", CONSOLE, note="404"),
        Case(f"/api/agent/messages/{s.foreign_task}/audio", NOBODY, note="lina's call")],
    ("POST", "/api/agent/messages/{task_id}/callback"): lambda s: [
        Case("/api/agent/messages/no-such-task/callback", CONSOLE, note="404"),
        Case(f"/api/agent/messages/{s.foreign_task}/callback", NOBODY, note="lina's call")],
    ("POST", "/api/agent/messages/{task_id}/done"): lambda s: [
        Case("/api/agent/messages/no-such-task/done", CONSOLE, note="404"),
        Case(f"/api/agent/messages/{s.foreign_task}/done", NOBODY, note="lina's call")],
    # customers: served by the agent, or in a queue the supervisor watches
    ("GET", "/api/customers"): lambda s: [
        Case("/api/customers?q=caller", STAFF, note="each sees their own customers"),
        Case("/api/customers?q=", STAFF, note="422: empty")],
    ("GET", "/api/customers/{customer_id}/history"): lambda s: [
        Case(f"/api/customers/{s.east_customer}/history", EAST, note="a sales call"),
        Case(f"/api/customers/{s.north_customer}/history", NORTH | {"supervisor_other_team"},
             note="a support call (both teams watch support)"),
        Case(f"/api/customers/{s.vip_customer}/history", frozenset({"supervisor", "admin"}),
             note="an abandoned vip call"),
        Case(f"/api/customers/{PLACEHOLDER}/history", ADMIN,
             note="nobody's id: 403, and 404 for admins only")],
    # a customer's tags and note: whoever may read the customer (VIP: supervision only)
    ("PATCH", "/api/customers/{customer_id}"): lambda s: [
        Case(f"/api/customers/{s.east_customer}", EAST, {"tags": ["回头客"]},
             note="a sales call"),
        Case(f"/api/customers/{s.north_customer}", NORTH | {"supervisor_other_team"},
             {"note": "prefers mornings"}, note="a support call"),
        Case(f"/api/customers/{s.east_customer}", EAST - {"agent_other_team"}, {"vip": True},
             note="VIP: not agents"),
        Case(f"/api/customers/{PLACEHOLDER}", ADMIN, {"tags": []},
             note="nobody's id: 403, and 404 for admins only")],
    # supervision: own team vs other team
    ("POST", "/api/supervisor/agents/{agent_id}/spy"): lambda s: [
        Case(f"/api/supervisor/agents/{ws.OWN_TEAM_AGENT}/spy",
             frozenset({"supervisor", "admin"}), {"mode": "listen"}, note="wangfang"),
        Case(f"/api/supervisor/agents/{ws.OTHER_TEAM_AGENT}/spy",
             frozenset({"supervisor_other_team", "admin"}), {"mode": "barge"},
             note="zhangwei")],
    ("POST", "/api/supervisor/agents/{agent_id}/state"): lambda s: [
        Case(f"/api/supervisor/agents/{ws.OWN_TEAM_AGENT}/state",
             frozenset({"supervisor", "admin"}), {"state": "ready"}, note="wangfang"),
        Case(f"/api/supervisor/agents/{ws.OTHER_TEAM_AGENT}/state",
             frozenset({"supervisor_other_team", "admin"}),
             {"state": "not_ready", "reason": "meeting"}, note="zhangwei")],
    # speech: a call's transcript, summary and inspection; search; flagged calls
    **{("GET", f"/api/interactions/{{task_id}}/{part}"): call_speech(part)
       for part in ("transcript", "summary", "inspection", "recording")},
    ("GET", "/api/speech/search"): lambda s: [
        Case("/api/speech/search?q=退款", STAFF),
        Case("/api/speech/search?q=13812345678", STAFF,
             note="422 for agents: masked readers may not search by numbers"),
        Case("/api/speech/search?q=x&limit=0", STAFF, note="422")],
    ("GET", "/api/supervisor/wallboard"): one("/api/supervisor/wallboard", SUPERVISION,
                                              note="cut to their teams: see the socket's"),
    ("GET", "/api/supervisor/flags"): lambda s: [
        Case("/api/supervisor/flags?status=all", SUPERVISION, note="their teams' calls"),
        Case("/api/supervisor/flags?status=bogus", SUPERVISION, note="422")],
    ("GET", "/api/speech/jobs"): one("/api/speech/jobs?status=all", SUPERVISION),
    ("POST", "/api/supervisor/flags/{flag_id}/review"): lambda s: [
        Case(f"/api/supervisor/flags/{s.north_flag}/review",
             frozenset({"supervisor", "admin"}), {"verdict": "confirm"},
             note="wangfang's call (admin after the supervisor: 409)"),
        Case(f"/api/supervisor/flags/{s.east_flag}/review",
             frozenset({"supervisor_other_team", "admin"}),
             {"verdict": "dismiss", "note": "agent was right"}, note="zhangwei's call"),
        Case(f"/api/supervisor/flags/{PLACEHOLDER}/review", SUPERVISION,
             {"verdict": "confirm"}, note="404")],
    # reports: a supervisor's teams' queues and agents (sunli, east: sales and support;
    # zhaolei, north: support and vip)
    **{("GET", path): report_cases(path)
       for path in ("/api/reports", "/api/reports/export.csv", "/api/reports/export.xlsx")},
    ("GET", "/metrics"): one("/metrics", EVERYONE,
                             note="no metrics.token: loopback clients (all of these) may"),
    # admin
    ("POST", "/api/admin/config/{filename}/validate"): lambda s: [
        Case("/api/admin/config/queues.yaml/validate", ADMIN, {"text": s.queues_text})],
    ("PUT", "/api/admin/config/{filename}"): lambda s: [
        Case("/api/admin/config/queues.yaml", ADMIN, {"text": s.queues_text})],
    # chats in the consoles: an agent's own, a supervisor's teams
    ("GET", "/api/chat/conversations/{conversation_id}"): lambda s: [
        Case(f"/api/chat/conversations/{s.east_chat}", frozenset(
            {"supervisor_other_team", "admin"}), note="lina's chat"),
        Case(f"/api/chat/conversations/{s.north_chat}", NORTH, note="wangfang's chat"),
        Case("/api/chat/conversations/no-such", STAFF, note="404")],
    **{("POST", f"/api/chat/conversations/{{conversation_id}}/{tail}"): chat_act(tail, body)
       for tail, body in (("messages", {"text": "hi", "client_id": "m1"}),
                          ("files", None), ("typing", {"on": True}), ("read", {"upto": 1}),
                          ("transfer", {"queue": "support", "agent_id": "wangfang"}),
                          ("callback", None), ("merge", {"customer_id": 1}),
                          ("end", None))},
    # after the acts: a supervisor who joined may then act on the chat
    ("POST", "/api/chat/conversations/{conversation_id}/join"): lambda s: [
        Case(f"/api/chat/conversations/{s.east_chat}/join",
             frozenset({"supervisor_other_team"}), note="lina's chat"),
        Case(f"/api/chat/conversations/{s.north_chat}/join", frozenset({"supervisor"}),
             note="wangfang's chat"),
        Case("/api/chat/conversations/no-such/join",
             frozenset({"supervisor", "supervisor_other_team"}), note="404")],
    ("POST", "/api/chat/merges/{merge_id}/undo"): one(
        f"/api/chat/merges/{PLACEHOLDER}/undo", STAFF, note="404"),
    ("GET", "/api/chat/files/{file_id}"): lambda s: [
        Case(f"/api/chat/files/{s.east_file}", frozenset({"supervisor_other_team", "admin"}),
             note="lina's chat"),
        Case(f"/api/chat/files/{s.ended_east_file}",
             frozenset({"supervisor_other_team", "admin"}), note="lina's ended chat"),
        Case(f"/api/chat/files/{PLACEHOLDER}", STAFF, note="404")],
    # the web widget: public; a conversation's token decides the rest
    ("GET", "/chat/static/{name}"): one("/chat/static/widget-app.js", EVERYONE),
    ("POST", "/api/widget/conversations"): one("/api/widget/conversations", EVERYONE, START),
    ("GET", "/api/widget/ws"): one("/api/widget/ws", EVERYONE),
    **{(method, f"/api/widget/conversations/{{conversation_id}}{tail}"): one(
        f"{WIDGET}{tail.replace('{file_id}', '1')}", EVERYONE, body, note="404: no token")
       for method, tail, body in (("POST", "/files", None), ("GET", "/files/{file_id}", None),
                                  ("GET", "/transcript", None),
                                  ("POST", "/transcript/email", None),
                                  ("POST", "/rating", {"score": 5}), ("POST", "/end", None))},
}

# Routes of the agent console that need an agent profile, though their role is the rule.
NEEDS_AGENT_PROFILE = {("GET", "/api/agent/console"), ("POST", "/api/agent/logout"),
                       ("GET", "/api/agent/offers"), ("GET", "/api/agent/wrapups")}


def allowed_by_role(endpoint: Endpoint) -> frozenset[str]:
    if endpoint.public:
        return EVERYONE
    return frozenset(p for p in PERSONAS if ROLE_OF[p] in endpoint.roles)


def derived(endpoint: Endpoint) -> Cases:
    """The case a route's table entry implies: its roles decide, a placeholder for every
    path parameter (answered 404/409 to those allowed: about the request, not a leak)."""
    allowed = allowed_by_role(endpoint)
    if (endpoint.method, endpoint.path) in NEEDS_AGENT_PROFILE:
        allowed &= CONSOLE
    path = re.sub(r"\{[^}]+\}", PLACEHOLDER, endpoint.path)
    return one(path, allowed, {} if endpoint.body is not None else None, note="derived")


def app_routes(app) -> set[tuple[str, str]]:
    return {(route.method, route.resource.canonical) for route in app.router.routes()
            if route.method != "HEAD"}


def matrix(app) -> dict[tuple[str, str], Cases]:
    """Every route of the app: its written cases (in the order written: some change what
    follows, a login, a join), then those the route tables imply."""
    routes = app_routes(app)
    out: dict[tuple[str, str], Cases] = {r: c for r, c in SCOPED.items() if r in routes}
    endpoints = {(e.method, e.path): e for e in app[ENDPOINTS]}
    for route in sorted(routes - set(SCOPED)):
        if route in endpoints:
            out[route] = derived(endpoints[route])
    return out


# ---------------------------------------------------------------------------- the stack


@pytest.fixture
async def matrix_stack(make_stack):
    # No Asterisk here: a request that passes authorization and needs a telephone
    # answers 503 ("no telephone system is connected"), which the matrix accepts.
    stack = await make_stack(snapshot_interval=3600)  # the wallboard when published here
    await personas.add_personas(stack)
    return stack


async def seed(stack) -> Seed:
    store = stack.deps.store
    lina = await stack.client("lina")
    async with lina.post("/api/agent/login", json={"device": "1002", "ready": True}) as r:
        assert r.status == 200
    await stack.chat_arrives("sales", None)
    offer = stack.deps.routing.agent("lina").offers[0]
    foreign = await store.create_interaction("voice", queue="sales", agent_id="lina",
                                             outcome="answered")
    east_customer = await stack.customer("Zhang's caller", phone="13500000001")
    await store.create_interaction("voice", queue="sales", agent_id="zhangwei",
                                   customer_id=east_customer, outcome="answered")
    north_customer = await stack.customer("Wang's caller", phone="13500000002")
    await store.create_interaction("voice", queue="support", agent_id="wangfang",
                                   customer_id=north_customer, outcome="answered")
    vip_customer = await stack.customer("VIP caller", phone="13500000003")
    await store.create_interaction("voice", queue="vip", customer_id=vip_customer,
                                   outcome="abandoned")
    east_task = await store.create_interaction("voice", queue="sales", agent_id="zhangwei",
                                               outcome="answered")
    north_task = await store.create_interaction("voice", queue="support", agent_id="wangfang",
                                                outcome="answered")
    for task in (east_task, north_task):  # a recording to play (GET .../recording)
        wav = stack.config_dir.parent / f"{task.id}.wav"
        wav.write_bytes(b"RIFF\x24\0\0\0WAVEfmt ")
        await store.add_recording(task.id, str(wav), leg="mixed", status="complete")
    flag = {"rule": "required", "code": "missing:greeting", "message": "no greeting",
            "deduction": 10}
    [north_flag] = await store.add_speech_flags(north_task.id, [flag], queue="support",
                                                agent_id="wangfang")
    [east_flag] = await store.add_speech_flags(east_task.id, [flag], queue="sales",
                                               agent_id="zhangwei")
    lina_chat = await stack.accept_chat("lina", await stack.chat_arrives("sales", None))
    stack.need(AgentService).login("wangfang", None, ready=True)
    north_chat = await stack.accept_chat("wangfang", await stack.chat_arrives("support", None))
    image = dict(content_type="image/png", data=b"\x89PNG\r\n\x1a\n-", sha256="0" * 64)
    east_file = await store.add_chat_file(lina_chat, name="p.png", **image)
    await store.create_conversation("ended-east-chat", medium="web", address="old-visitor",
                                    queue="sales", status="ended", agent_id="lina")
    ended_file = await store.add_chat_file("ended-east-chat", name="old.png", **image)
    return Seed(offer, foreign.id, east_customer, north_customer, vip_customer,
                (stack.config_dir / "queues.yaml").read_text(encoding="utf-8"),
                east_task.id, north_task.id, north_flag.id, east_flag.id,
                lina_chat, north_chat, east_file.id, ended_file.id)


async def call(client: aiohttp.ClientSession, method: str, case: Case) -> int:
    if method == "GET" and case.path in ("/api/ws", "/api/widget/ws", "/api/phone/ws"):
        try:
            socket = await client.ws_connect(case.path)
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        await socket.close()
        return 101
    async with client.request(method, case.path, json=case.body) as response:
        await response.read()
        return response.status


# ---------------------------------------------------------------------------- routes


async def test_the_matrix_covers_every_route(matrix_stack):
    routes = app_routes(matrix_stack.app)
    covered = matrix(matrix_stack.app)
    missing = routes - set(covered)
    stale = set(SCOPED) - routes
    assert not missing, f"routes neither in a route table nor in SCOPED: {sorted(missing)}"
    assert not stale, f"SCOPED entries for routes that no longer exist: {sorted(stale)}"


async def test_scoped_routes_have_written_cases(matrix_stack):
    """A route whose role is not the whole rule names the objects it is tested on; and
    no written case lets in a persona the route's roles keep out."""
    endpoints = matrix_stack.app[ENDPOINTS]
    unwritten = [f"{e.method} {e.path}" for e in endpoints
                 if e.scope and (e.method, e.path) not in SCOPED]
    assert not unwritten, f"scoped routes without written cases: {unwritten}"
    seeded = Seed(**{f.name: 1 if f.type == "int" else "x" for f in fields(Seed)})
    for e in endpoints:
        for case in SCOPED.get((e.method, e.path), lambda _s: [])(seeded):
            wider = case.allowed - allowed_by_role(e)
            assert not wider, f"{e.method} {case.path}: {sorted(wider)} not in {e.roles}"


async def test_role_matrix(matrix_stack):
    stack = matrix_stack
    seeded = await seed(stack)
    clients = {persona: await personas.client(stack, persona) for persona in PERSONAS}
    async with clients["anonymous"].get("/api/openapi.json") as response:
        documented = (await response.json())["paths"]
    failures, table = [], [f"{'':60}" + " ".join(f"{p[:12]:>12}" for p in PERSONAS)]
    for (method, route), cases in matrix(stack.app).items():
        for case in cases(seeded):
            row = [f"{method} {case.path}"[:60].ljust(60)]
            for persona in PERSONAS:
                client = clients[persona]
                if case.fresh_session:  # the call changes the client's session
                    client = await personas.client(stack, persona)
                status = await call(client, method, case)
                row.append(f"{status:>12}")
                if persona in case.allowed:
                    ok = status not in (401, 403, 500)
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
            table.append(" ".join(row))
    print("\n".join(table))
    assert not failures, "\n".join(failures)


async def test_every_documented_operation_lists_its_roles(matrix_stack):
    client = await matrix_stack.client()
    async with client.get("/api/openapi.json") as response:
        document = await response.json()
    for endpoint in matrix_stack.app[ENDPOINTS]:
        operation = document["paths"][endpoint.path][endpoint.method.lower()]
        assert operation["x-roles"] == sorted(endpoint.roles), endpoint.path
    covered = matrix(matrix_stack.app)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["x-roles"], f"{method} {path}"
            assert (method.upper(), path) in covered


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


# ---------------------------------------------------------------------------- WebSocket

AGENT_EVENT = {"agent_id": "wangfang"}  # the agent persona's own
DELIVERED: dict[str, tuple[dict[str, Any], frozenset[str]]] = {
    # topic: (how it is published, who of the personas receives it)
    "agent.offer": (AGENT_EVENT, frozenset({"agent"})),
    "agent.offer_withdrawn": (AGENT_EVENT, frozenset({"agent"})),
    "agent.ringing": (AGENT_EVENT, frozenset({"agent"})),
    "agent.connected": (AGENT_EVENT, frozenset({"agent"})),
    "agent.wrapup": (AGENT_EVENT, frozenset({"agent"})),
    "agent.phone": (AGENT_EVENT, frozenset({"agent"})),  # one's own phone registered or not
    "agent.state": (AGENT_EVENT, NORTH),  # the agent, their supervisor, admins
    "interaction.summary": (AGENT_EVENT, frozenset({"agent"})),
    "call.control": (AGENT_EVENT, frozenset({"agent"})),  # one's own call: held, muted
    "call.outbound": (AGENT_EVENT, frozenset({"agent"})),  # one's own dial-out
    "callback.attempt": (AGENT_EVENT, frozenset({"agent"})),  # the agent calling back
    "wallboard.snapshot": ({}, SUPERVISION),  # each cut to their teams (below)
    "config.changed": ({}, ADMIN),
    # chats: the agent holding the conversation (and who opened it: nobody here)
    **{topic: ({"agent_id": "wangfang", "queue": "support"}, frozenset({"agent"}))
       for topic in ("chat.message", "chat.typing", "chat.read", "chat.delivery",
                     "chat.conversation")},
}
INTERNAL = {  # engine-side topics: no console receives them
    "caller.position": "a waiting caller's place (said to the caller by the dialplan)",
    "queue.event": "the queue log as it happens (reports, the wallboard's counters)",
    "recording.complete": "a call's recording is archived (the speech feature's input)",
    "session.ended": "closes that session's sockets (4001), carries no data to them",
    "user.sessions_ended": "closes that user's sockets (4001)",
}
GREETED = {"hello": STAFF, "wallboard.snapshot": SUPERVISION}  # sent on connecting
SENDABLE = {"ping": "pong"}  # what a console may send, and the answer


def published_topics() -> set[str]:
    """Every topic any module publishes on the bus (``publish(topic, ...)`` calls)."""
    topics: set[str] = set()
    for root in ("callcenter", "chatbridge", "recordings"):
        for path in (REPO / root).rglob("*.py"):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and node.args and isinstance(
                        node.func, ast.Attribute) and node.func.attr in ("publish",
                                                                          "_publish")):
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    topics.add(first.value)
                elif isinstance(first, ast.Name):
                    value = getattr(importlib.import_module(module), first.id, None)
                    if isinstance(value, str):
                        topics.add(value)
    return topics


async def principals(stack) -> dict[str, Principal]:
    out = {}
    for persona, username in personas.LOGINS.items():
        if username is not None:
            user = await stack.deps.store.get_user(username)
            assert user is not None
            out[persona] = principal_for(user, stack.config)
    return out


async def sockets(stack) -> dict[str, tuple[aiohttp.ClientWebSocketResponse, list[dict]]]:
    """A console socket per persona, with what it got on connecting."""
    out = {}
    for persona in PERSONAS:
        client = await personas.client(stack, persona)
        if persona == "anonymous":
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await client.ws_connect("/api/ws")
            assert info.value.status == 401
            continue
        socket = await client.ws_connect("/api/ws")
        greeted = [await socket.receive_json(timeout=5)]
        while True:  # the greeters' messages follow at once
            try:
                greeted.append(await socket.receive_json(timeout=0.3))
            except TimeoutError:
                break
        out[persona] = (socket, greeted)
    return out


async def drain(socket: aiohttp.ClientWebSocketResponse, wait: float = 0.3) -> list[dict]:
    got = []
    while True:
        try:
            got.append(await socket.receive_json(timeout=wait))
        except TimeoutError:
            return got


async def test_every_published_topic_is_in_the_websocket_matrix():
    topics = published_topics()
    assert {"agent.offer", "wallboard.snapshot", "chat.message"} <= topics  # the scan works
    unknown = topics - set(DELIVERED) - set(INTERNAL)
    assert not unknown, f"topics neither in DELIVERED nor INTERNAL: {sorted(unknown)}"
    assert not set(DELIVERED) & set(INTERNAL)


async def test_websocket_matrix(matrix_stack):
    """Each topic, published as its feature would, reaches exactly the personas listed;
    internal topics reach no console whoever they name; a console may send only ping."""
    stack = matrix_stack
    socks = await sockets(stack)
    failures, table = [], [f"{'':24}" + " ".join(f"{p[:12]:>12}" for p in PERSONAS)]
    for topic, allowed in GREETED.items():
        got = {p for p, (_s, greeted) in socks.items()
               if any(f["topic"] == topic for f in greeted)}
        if got != allowed:
            failures.append(f"greeting {topic}: went to {sorted(got)}, not {sorted(allowed)}")
    wallboard = stack.need(WallboardService)
    for topic, (target, allowed) in DELIVERED.items():
        data = wallboard.snapshot() if topic == "wallboard.snapshot" else {
            "conversation_id": "matrix", "task_id": "matrix"}
        stack.deps.bus.publish(topic, data, at=stack.clock(), **target)
        got = set()
        for persona, (socket, _greeted) in socks.items():
            frames = [f for f in await drain(socket, 0.15) if f["topic"] == topic]
            if frames:
                got.add(persona)
        table.append(f"{topic:24}" + " ".join(
            f"{'yes' if p in got else '-':>12}" for p in PERSONAS))
        if got != allowed:
            failures.append(f"{topic}: went to {sorted(got)}, not {sorted(allowed)}")
    print("\n".join(table))
    # internal topics: no persona's rights accept them, whichever agent or queue they name
    everyone = await principals(stack)
    rules = stack.deps.web.audiences
    for topic in INTERNAL:
        for agent in (None, "wangfang", "zhangwei", "zhaolei"):
            for queue in (None, *stack.config.queues):
                event = BusEvent(topic, {"task_id": "t", "conversation_id": "c"},
                                 stack.clock(), agent, queue)
                takers = [p for p, who in everyone.items() if any(r(who, event) for r in rules)]
                if takers:
                    failures.append(f"internal {topic} ({agent}, {queue}) reaches {takers}")
    # what a console may send
    for persona, (socket, _greeted) in socks.items():
        for sent, answer in SENDABLE.items():
            await socket.send_json({"topic": sent})
            assert [f["topic"] for f in await drain(socket)] == [answer], persona
        for sent in ("subscribe", "agent.offer", "wallboard.snapshot", "config.changed"):
            await socket.send_json({"topic": sent, "data": {"agent_id": "zhangwei"}})
        await socket.send_str("not json")
        assert await drain(socket) == [], f"{persona} got an answer to an unknown message"
        assert not socket.closed, persona
    assert not failures, "\n".join(failures)


async def test_the_wallboard_on_the_socket_is_cut_to_each_supervisors_teams(matrix_stack):
    stack = matrix_stack
    socks = await sockets(stack)
    config = stack.config
    teams = {"supervisor": {"north"}, "supervisor_other_team": {"east"},
             "admin": {a.team for a in config.agents}}
    for persona, wanted in teams.items():
        board = next(f for f in socks[persona][1] if f["topic"] == "wallboard.snapshot")
        agent_teams = {a["team"] for a in board["data"]["agents"]}
        assert agent_teams and agent_teams <= wanted, (persona, agent_teams)
        for queue in board["data"]["queues"]:
            assert not queue["teams"] or set(queue["teams"]) & wanted, (persona, queue["id"])
        assert json.loads(json.dumps(board["data"])) == board["data"]
