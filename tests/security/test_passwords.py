"""Passwords someone else chose only open the password change (issue 10)."""

from __future__ import annotations

import aiohttp
import pytest

from callcenter.auth.passwords import temporary_password, weakness
from tests.support import webstack as ws

# One route each role may use once its password is its own.
WORK = {"zhangwei": "/api/agent/console", "zhaolei": "/api/supervisor/wallboard",
        "admin": "/api/admin/config"}


async def change(client: aiohttp.ClientSession, current: str, new: str) -> tuple[int, dict]:
    async with client.post("/api/me/password", json={"current_password": current,
                                                      "new_password": new}) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("username", list(WORK))
async def test_every_role_must_choose_a_password_at_first_login(make_stack, username):
    stack = await make_stack(passwords_chosen=False)
    client = await stack.client(username)
    async with client.get("/api/me") as response:
        assert (await response.json())["must_change_password"] is True
    async with client.get(WORK[username]) as response:
        assert response.status == 403
        assert (await response.json())["error"] == "password_change_required"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/api/ws")
    assert refused.value.status == 403
    status, body = await change(client, ws.PASSWORDS[username], "welcome-2001")
    assert status == 422 and body["details"][0]["loc"] == ["new_password"]
    status, body = await change(client, ws.PASSWORDS[username], "paper lantern at dusk")
    assert status == 200 and body["must_change_password"] is False
    async with client.get(WORK[username]) as response:
        assert response.status == 200
    socket = await client.ws_connect("/api/ws")
    assert (await socket.receive_json())["topic"] == "hello"
    await socket.close()


def test_password_rules_say_what_is_wrong():
    assert "too short" in weakness("short", "lina")
    assert "common" in weakness("password123", "lina")
    assert "common" in weakness("welcome-1002", "lina")  # the sample's own
    assert "username" in weakness("lina-likes-tea-2026", "lina")
    assert weakness("paper lantern at dusk", "lina") is None
    assert weakness(temporary_password(), "lina") is None
    assert temporary_password() != temporary_password()


async def test_an_admin_reset_gives_a_one_time_password_and_ends_sessions(web_stack):
    agent = await web_stack.client("lina")
    admin = await web_stack.client("admin")
    async with admin.post("/api/auth/users/lina/password-reset") as response:
        assert response.status == 200
        temporary = (await response.json())["temporary_password"]
    async with agent.get("/api/agent/console") as response:
        assert response.status == 401  # her sessions ended
    again = await web_stack.client("lina", temporary)
    async with again.get("/api/agent/console") as response:
        assert (await response.json())["error"] == "password_change_required"
    assert (await change(again, temporary, "a lantern of her own"))[0] == 200
    async with again.get("/api/agent/console") as response:
        assert response.status == 200


async def test_only_admins_reset_and_not_their_own(web_stack):
    supervisor = await web_stack.client("zhaolei")
    async with supervisor.post("/api/auth/users/wangfang/password-reset") as response:
        assert response.status == 403
    admin = await web_stack.client("admin")
    async with admin.post("/api/auth/users/admin/password-reset") as response:
        assert response.status == 409
    async with admin.post("/api/auth/users/nobody/password-reset") as response:
        assert response.status == 404
