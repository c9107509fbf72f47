"""Who reads what of a call's speech, search, and flag review (tier 2, written calls).

Agents read their own calls with personal numbers masked and may not search by
number; supervisors read their teams' calls unmasked and confirm or dismiss flags once;
the wallboard counts today's flagged calls per queue.
"""

from __future__ import annotations

import aiohttp

from recordings.services import SpeechService
from tests.support.speech import REFUND, RUDE, written_call


async def read(client: aiohttp.ClientSession, path: str, status: int = 200):
    async with client.get(path) as response:
        assert response.status == status, (path, await response.text())
        return await response.json()


async def test_agents_read_their_calls_masked_supervisors_their_teams(web_stack) -> None:
    task = await written_call(web_stack, REFUND, agent_id="wangfang")
    agent = await web_stack.client("wangfang")
    supervisor = await web_stack.client("zhaolei")  # supervises north: wangfang's team
    other_agent = await web_stack.client("zhangwei")

    masked = await read(agent, f"/api/interactions/{task}/transcript")
    assert masked["masked"] is True
    assert masked["lines"][1]["text"] == \
        "我想退款，订单号是 ************5678，我的手机号是 *******5678。"
    plain = await read(supervisor, f"/api/interactions/{task}/transcript")
    assert plain["masked"] is False and "13812345678" in plain["lines"][1]["text"]
    await read(other_agent, f"/api/interactions/{task}/transcript", 403)

    summary = await read(agent, f"/api/interactions/{task}/summary")
    assert [t["name"] for t in summary["topics"]] == ["refund"]
    values = {e["kind"]: e["value"] for e in summary["entities"]}
    assert values["phone"] == "*******5678" and values["order_number"].endswith("5678")
    assert "13812345678" not in summary["text"] and "退款" in summary["text"]
    full = await read(supervisor, f"/api/interactions/{task}/summary")
    assert {e["kind"]: e["value"] for e in full["entities"]}["phone"] == "13812345678"
    inspection = await read(agent, f"/api/interactions/{task}/inspection")
    assert (inspection["score"], inspection["passed"], inspection["flags"]) == (100, True, [])

    # Search ignores spacing and punctuation; masked readers may not search by number.
    [hit] = await read(agent, "/api/speech/search?q=" + "欢迎 致电")
    assert hit["task_id"] == task and hit["speaker"] == "agent"
    [hit] = await read(agent, "/api/speech/search?q=退款")
    assert "*******5678" in hit["snippet"]
    refused = await read(agent, "/api/speech/search?q=13812345678", 422)
    assert refused["details"][0]["loc"] == ["q"]
    [hit] = await read(supervisor, "/api/speech/search?q=13812345678")
    assert "13812345678" in hit["snippet"]
    assert await read(other_agent, "/api/speech/search?q=退款") == []


async def test_supervisors_review_their_teams_flags_once(web_stack) -> None:
    task = await written_call(web_stack, RUDE, agent_id="wangfang")
    other = await written_call(web_stack, RUDE, agent_id="zhangwei")  # east
    supervisor = await web_stack.client("zhaolei")
    flags = await read(supervisor, "/api/supervisor/flags")
    assert {f["task_id"] for f in flags} == {task}  # not the other team's
    codes = [f["code"] for f in flags]
    assert codes == ["missing:greeting", "missing:identity_check", "missing:closing",
                     "forbidden:不知道"], codes  # agent talked 3.5 of 9 s: within 30-70 %
    forbidden = next(f for f in flags if f["code"] == "forbidden:不知道")
    assert [line["index"] for line in forbidden["lines"]] == [1]
    assert forbidden["message"] == "agent said a forbidden phrase: 不知道, 你自己看"
    inspection = await read(supervisor, f"/api/interactions/{task}/inspection")
    assert inspection["score"] == 100 - 10 - 15 - 10 - 20 == 45
    assert inspection["metrics"]["agent_share"] == 0.389
    admin = await web_stack.client("admin")
    board = await read(admin, "/api/supervisor/wallboard")
    tile = next(q for q in board["queues"] if q["id"] == "support")
    assert tile["extras"]["speech"]["flagged"] == 2  # two calls flagged today

    for flag in flags:
        verdict = "confirm" if flag["code"].startswith("forbidden") else "dismiss"
        async with supervisor.post(f"/api/supervisor/flags/{flag['id']}/review",
                                   json={"verdict": verdict, "note": "listened"}) as response:
            assert response.status == 200
            reviewed = await response.json()
        assert reviewed["reviewed_by"] == "zhaolei" and reviewed["review_note"] == "listened"
    async with supervisor.post(f"/api/supervisor/flags/{flags[0]['id']}/review",
                               json={"verdict": "confirm"}) as response:
        assert response.status == 409  # once
    other_flag = (await read(admin, "/api/supervisor/flags?status=all"))[0]
    assert other_flag["task_id"] == other
    async with supervisor.post(f"/api/supervisor/flags/{other_flag['id']}/review",
                               json={"verdict": "dismiss"}) as response:
        assert response.status == 403
    assert await read(supervisor, "/api/supervisor/flags") == []
    confirmed = await read(supervisor, "/api/supervisor/flags?status=confirmed")
    assert [f["code"] for f in confirmed] == ["forbidden:不知道"]
    for flag in await read(admin, "/api/supervisor/flags"):  # the other call: all dismissed
        async with admin.post(f"/api/supervisor/flags/{flag['id']}/review",
                              json={"verdict": "dismiss"}) as response:
            assert response.status == 200
    await web_stack.need(SpeechService).refresh_board()
    board = await read(admin, "/api/supervisor/wallboard")
    tile = next(q for q in board["queues"] if q["id"] == "support")
    assert tile["extras"]["speech"]["flagged"] == 1  # a call whose flags were all dismissed
