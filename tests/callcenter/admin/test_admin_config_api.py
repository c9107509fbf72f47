"""The admin API on a private copy of the sample config (tier 2)."""

from __future__ import annotations

import acd


async def test_admin_reads_every_file(web_stack):
    admin = await web_stack.client("admin")
    async with admin.get("/api/admin/config") as response:
        files = (await response.json())["files"]
    assert files == ["callcenter.yaml", "queues.yaml", "agents.yaml", "ivr.yaml"]
    for name in files:
        async with admin.get(f"/api/admin/config/{name}") as response:
            assert response.status == 200
            body = await response.json()
        assert body["text"] == (web_stack.config_dir / name).read_text(encoding="utf-8")
    async with admin.get("/api/admin/config/..%2Fsecrets") as response:
        assert response.status == 404


async def test_validate_reports_file_line_and_column(web_stack):
    admin = await web_stack.client("admin")
    text = (web_stack.config_dir / "queues.yaml").read_text(encoding="utf-8")
    bad = text.replace("strategy: best_skill", "strategy: fastest_first", 1)
    line = bad[:bad.index("fastest_first")].count("\n") + 1
    async with admin.post("/api/admin/config/queues.yaml/validate",
                          json={"text": bad}) as response:
        assert response.status == 200
        result = await response.json()
    assert result["ok"] is False
    errors = [i for i in result["issues"] if i["severity"] == "error"]
    assert errors[0]["file"] == "queues.yaml" and errors[0]["line"] == line
    assert errors[0]["column"] is not None
    assert errors[0]["text"].startswith(f"queues.yaml:{line}:")
    assert "strategy" in errors[0]["path"]
    # Nothing was written.
    assert (web_stack.config_dir / "queues.yaml").read_text(encoding="utf-8") == text
    async with admin.post("/api/admin/config/queues.yaml/validate",
                          json={"text": text}) as response:
        assert (await response.json())["ok"] is True


async def test_a_bad_apply_keeps_the_config_in_force(web_stack):
    admin = await web_stack.client("admin")
    before = web_stack.config
    text = (web_stack.config_dir / "agents.yaml").read_text(encoding="utf-8")
    bad = text.replace("team: east", "team: west", 1)  # no such team
    async with admin.put("/api/admin/config/agents.yaml", json={"text": bad}) as response:
        assert response.status == 422
        body = await response.json()
    assert body["applied"] is False
    assert any(i["file"] == "agents.yaml" and i["line"] for i in body["issues"])
    assert web_stack.config is before
    assert (web_stack.config_dir / "agents.yaml").read_text(encoding="utf-8") == text
    async with admin.get("/api/admin/changes") as response:
        assert await response.json() == []
    async with admin.put("/api/admin/config/agents.yaml", data="queues: [", headers={
            "Content-Type": "text/yaml"}) as response:
        assert response.status == 422  # a raw upload that does not parse


async def test_apply_is_audited_and_keeps_calls(web_stack):
    stack = web_stack
    admin = await stack.client("admin")
    # A chat is connected to an agent while the admin edits the queue it came from.
    zhang = await stack.client("zhangwei")
    async with zhang.post("/api/agent/login", json={"device": "1001", "ready": True}):
        pass
    task = await stack.chat_arrives("sales", None)
    offer_id = stack.deps.routing.agent("zhangwei").offers[0]
    async with zhang.post(f"/api/agent/offers/{offer_id}/accept"):
        pass
    text = (stack.config_dir / "queues.yaml").read_text(encoding="utf-8")
    new = text.replace("wrapup_seconds: 10 ", "wrapup_seconds: 15 ", 1)
    assert new != text
    async with admin.put("/api/admin/config/queues.yaml", json={"text": new}) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    assert body["applied"] is True and "sales(wrapup_seconds)" in body["summary"]
    assert stack.config.queues["sales"].wrapup_seconds == 15
    await stack.deps.routing.flush()
    assert stack.deps.routing.agent("zhangwei").connected == (task,)
    assert stack.deps.routing.agent("zhangwei").state is acd.AgentState.BUSY
    async with admin.get("/api/admin/changes") as response:
        changes = await response.json()
    assert len(changes) == 1
    change = changes[0]
    assert change["actor"] == "admin" and change["filename"] == "queues.yaml"
    assert "wrapup_seconds" in change["summary"]
    async with admin.get(f"/api/admin/changes/{change['id']}") as response:
        detail = await response.json()
    assert detail["old_text"] == text and detail["new_text"] == new
    async with admin.get("/api/admin/changes?filename=agents.yaml") as response:
        assert await response.json() == []
