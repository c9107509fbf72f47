"""Login, logout, the session cookie, throttling, expiry and account sync (tier 2)."""

from __future__ import annotations

from callcenter.auth.services import AuthService, sync_users
from tests.support import webstack as ws


async def test_login_sets_a_strict_httponly_cookie_and_me_answers(web_stack):
    client = await web_stack.client()
    async with client.get("/api/me") as response:
        assert response.status == 401
    async with client.post("/api/auth/login", json={"username": "zhangwei",
                                                     "password": "welcome-1001"}) as response:
        assert response.status == 200
        me = await response.json()
        cookie = response.headers["Set-Cookie"]
    assert me["role"] == "agent" and me["agent_id"] == "zhangwei" and me["team"] == "east"
    assert cookie.startswith("cc_session=")
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path"} <= flags
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in flags  # public_origin is http://
    async with client.get("/api/me") as response:
        assert response.status == 200
        assert (await response.json())["username"] == "zhangwei"
    async with client.post("/api/auth/logout") as response:
        assert response.status == 200
    async with client.get("/api/me") as response:
        assert response.status == 401


async def test_secure_cookie_when_the_public_origin_is_https(web_stack):
    path = web_stack.config_dir / "callcenter.yaml"
    text = path.read_text(encoding="utf-8").replace(
        'public_origin: "http://127.0.0.1:8080"', 'public_origin: "https://cc.example.com"')
    assert web_stack.deps.config_store.apply_text("callcenter.yaml", text, actor="test") == []
    client = await web_stack.client()
    async with client.post("/api/auth/login", json={"username": "admin",
                                                     "password": "change-me-now"}) as response:
        assert response.status == 200
        assert "secure" in response.headers["Set-Cookie"].lower()


async def test_wrong_password_and_unknown_user_look_the_same(web_stack):
    client = await web_stack.client()
    for username, password in (("zhangwei", "nope"), ("nobody", "nope")):
        async with client.post("/api/auth/login", json={"username": username,
                                                         "password": password}) as response:
            assert response.status == 401
            assert (await response.json())["error"] == "bad_credentials"


async def login(client, username: str, password: str) -> int:
    async with client.post("/api/auth/login", json={"username": username,
                                                     "password": password}) as response:
        return response.status


async def test_failures_slow_down_that_user_from_that_address_with_retry_after(make_stack):
    stack = await make_stack(login_failures=3)
    client = await stack.client()
    for _ in range(3):
        assert await login(client, "lina", "wrong") == 401
    # Even the right password waits now, and says how long.
    async with client.post("/api/auth/login", json={"username": "lina",
                                                     "password": "welcome-1002"}) as response:
        assert response.status == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 2
    stack.clock.advance(2)
    assert await login(client, "lina", "wrong") == 401
    # The delay doubles with each further failure.
    async with client.post("/api/auth/login", json={"username": "lina",
                                                     "password": "welcome-1002"}) as response:
        assert response.status == 429 and int(response.headers["Retry-After"]) == 2
    stack.clock.advance(2)
    assert await login(client, "lina", "welcome-1002") == 200


async def test_an_attacker_elsewhere_cannot_lock_the_real_user_out(make_stack):
    stack = await make_stack(login_failures=3)
    attacker = await stack.client(source="127.0.0.2")
    for _ in range(12):
        await login(attacker, "admin", "guess")
    assert await login(attacker, "admin", "change-me-now") == 429
    admin = await stack.client(source="127.0.0.1")
    assert await login(admin, "admin", "change-me-now") == 200


async def test_spraying_from_one_address_slows_that_address_only(make_stack):
    stack = await make_stack(login_failures=1)  # 10 failures per address
    spray = await stack.client(source="127.0.0.3")
    for i in range(10):  # ten names, one try each: no single name reaches its limit
        assert await login(spray, f"guess{i}", "wrong") == 401
    assert await login(spray, "wangfang", "welcome-1003") == 429
    elsewhere = await stack.client(source="127.0.0.1")
    assert await login(elsewhere, "wangfang", "welcome-1003") == 200


async def test_a_whole_shift_signing_in_from_one_address_is_never_slowed(make_stack):
    stack = await make_stack(login_failures=1)
    office = await stack.client(source="127.0.0.4")
    statuses = [await login(office, user, ws.PASSWORDS[user])
                for _ in range(20) for user in ("lina", "emily", "liuyang", "wangfang")]
    assert set(statuses) == {200}


async def test_sessions_expire_when_idle_and_are_purged(make_stack):
    stack = await make_stack(session_idle_minutes=10)
    client = await stack.client("zhangwei")
    async with client.get("/api/me") as response:
        assert response.status == 200
    stack.clock.advance(601)
    async with client.get("/api/me") as response:
        assert response.status == 401
    assert await stack.need(AuthService).purge_expired() == 1
    assert await stack.need(AuthService).purge_expired() == 0


async def test_a_used_session_slides_forward(make_stack):
    stack = await make_stack(session_idle_minutes=10)
    client = await stack.client("zhangwei")
    for _ in range(3):  # 3 x 400 s > 600 s, but each use renews it
        stack.clock.advance(400)
        async with client.get("/api/me") as response:
            assert response.status == 200


async def test_a_session_ends_at_its_absolute_lifetime_however_used(make_stack):
    stack = await make_stack(callcenter=lambda d: d["web"].update(session_max_hours=1))
    client = await stack.client("zhangwei")
    for _ in range(11):  # used every 5 minutes for 55 minutes
        stack.clock.advance(300)
        async with client.get("/api/me") as response:
            assert response.status == 200
    stack.clock.advance(301)
    async with client.get("/api/me") as response:
        assert response.status == 401


async def test_state_changes_need_an_origin_of_this_site(web_stack):
    client = await web_stack.client("zhangwei")
    async with client.post("/api/agent/login", json={},
                           headers={"Origin": "https://evil.example"}) as response:
        assert response.status == 403
        assert (await response.json())["error"] == "bad_origin"
    bare = await web_stack.client(origin=None)
    async with bare.post("/api/auth/login", json={"username": "zhangwei",
                                                   "password": "welcome-1001"}) as response:
        assert response.status == 403
    # The configured public origin is accepted too (a reverse proxy in front).
    async with client.post("/api/agent/login", json={},
                           headers={"Origin": "http://127.0.0.1:8080"}) as response:
        assert response.status == 200


async def test_change_password_ends_other_sessions(web_stack):
    first = await web_stack.client("lina")
    second = await web_stack.client("lina")
    async with first.post("/api/me/password", json={
            "current_password": "welcome-1002", "new_password": "a-much-better-one"}) as response:
        assert response.status == 200
        assert (await response.json())["must_change_password"] is False
    async with first.get("/api/me") as response:
        assert response.status == 200  # the one that changed it got a fresh session
    async with second.get("/api/me") as response:
        assert response.status == 401
    await web_stack.client("lina", "a-much-better-one")


async def test_sync_users_follows_agents_yaml(web_stack):
    store = web_stack.deps.store
    users = {u.username: u for u in await store.list_users()}
    assert set(users) == set(ws.PASSWORDS)
    assert users["zhaolei"].role == "supervisor"
    assert users["zhaolei"].teams == ["north"]  # own team + supervised, once each
    assert users["admin"].role == "admin" and users["zhangwei"].teams == ["east"]
    # A person removed from agents.yaml can no longer log in; sessions end.
    client = await web_stack.client("emily")
    path = web_stack.config_dir / "agents.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: emily")
    end = text.index("  - id: zhaolei")
    issues = web_stack.deps.config_store.apply_text("agents.yaml", text[:start] + text[end:],
                                                    actor="test")
    assert not [i for i in issues if i.is_error]
    await sync_users(web_stack.config, store)
    assert (await store.get_user("emily")).disabled
    async with client.get("/api/me") as response:
        assert response.status == 401
    # Re-syncing never resets a password the user set.
    await store.set_password("lina", "her-own-password")
    await sync_users(web_stack.config, store)
    assert await store.verify_password("lina", "her-own-password") is not None
