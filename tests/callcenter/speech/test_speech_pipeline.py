"""A recorded call through the speech feature (tier 2): real vosk on the real Korean
model in worker processes, real SQLite, the real consoles on loopback.

``recording.complete`` queues the call; the transcript (both legs, timed, labelled),
the summary and the inspection are stored with it; the summary is pushed to the agent
who handled it; readers see what their role allows; a leg that cannot be decoded is
retried and the call marked partial or failed with the reasons, never dropped (a re-run
of a failed call: ``test_speech_cli``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from callcenter.bus import BusEvent
from callcenter.customers.services import CustomerService
from callcenter.webkit.principal import Principal
from recordings.services import SpeechService
from tests.support.speech import Legs, recorded_call

pytestmark = pytest.mark.timeout(120)
ADMIN = Principal("admin", "admin", None, "Admin")


async def summary_pushed(ws: aiohttp.ClientWebSocketResponse, task_id: str) -> dict:
    """The ``interaction.summary`` frame of ``task_id`` the agent's socket receives."""
    async with asyncio.timeout(60):
        async for msg in ws:
            frame = json.loads(msg.data)
            if frame["topic"] == "interaction.summary" and frame["data"]["task_id"] == task_id:
                return frame
    raise AssertionError("the socket closed")


async def get(client: aiohttp.ClientSession, path: str, status: int = 200) -> dict:
    async with client.get(path) as response:
        assert response.status == status, await response.text()
        return await response.json()


async def test_recorded_call_becomes_transcript_summary_and_inspection(
        speech_stack, legs: Legs, tmp_path: Path) -> None:
    stack = await speech_stack()
    store = stack.deps.store
    agent = await stack.client("zhangwei")
    socket = await agent.ws_connect("/api/ws")
    customer = await stack.customer("王小明", phone="13812345678")
    task = await recorded_call(store, *legs.copy_to(tmp_path / "rec", "call1"),
                               agent_id="zhangwei", queue="support", at=stack.clock(),
                               customer_id=customer)
    stack.deps.bus.publish("recording.complete", {"task_id": task}, at=stack.clock())

    pushed = await summary_pushed(socket, task)
    assert pushed["agent_id"] == "zhangwei" and pushed["data"]["status"] == "done"
    job = await store.speech_job(task)
    assert job.status == "done" and job.attempts == 1 and job.error is None
    assert job.language == "en" and job.audio_seconds == pytest.approx(
        legs.agent_speech[1] + 0.8, abs=0.05)

    # The transcript: both legs, in time order, each line where that leg spoke.
    lines = await store.list_transcript(task)
    assert {line.speaker for line in lines} == {"caller", "agent"}
    assert [line.start for line in lines] == sorted(line.start for line in lines)
    for line in lines:
        low, high = legs.caller_speech if line.speaker == "caller" else legs.agent_speech
        assert line.text and low - 0.3 <= line.start < line.end <= high + 0.3, line
        assert line.engine == "speech:vosk" and line.recording_id is not None
    assert lines[0].speaker == "caller"
    # ...with word timings, from the API (the agent handled it: they may read it, masked).
    transcript = await get(agent, f"/api/interactions/{task}/transcript")
    assert transcript["status"] == "done" and transcript["masked"] is True
    assert [(x["speaker"], x["text"]) for x in transcript["lines"]] == \
        [(line.speaker, line.text) for line in lines]
    words = transcript["lines"][0]["words"]
    assert words and all(w["start"] < w["end"] for w in words)
    assert words[0]["start"] >= transcript["lines"][0]["start"]

    # The summary: the paragraph agents see is the pushed one, stored with the call.
    stored = await store.latest_summary(task)
    assert stored.text == pushed["data"]["text"]
    assert lines[0].text in stored.text  # the caller's first sentence is the reason
    summary = await get(agent, f"/api/interactions/{task}/summary")
    assert summary["reason"]["evidence"][0]["speaker"] == "caller"
    assert summary["text"] == stored.text
    # ...in the agent's wrap-up form after a page reload, and the customer's next screen-pop.
    [wrapup] = await get(agent, "/api/agent/wrapups")
    assert (wrapup["task_id"], wrapup["summary"]) == (task, stored.text)
    later = await store.create_interaction("voice", queue="sales", customer_id=customer)
    pop = await stack.need(CustomerService).screen_pop(later.id)
    assert [(h["interaction_id"], h["summary"]) for h in pop["history"]] == \
        [(task, stored.text)]

    # The inspection: none of the default rules' phrases were said (the speech is Korean).
    inspection = await get(agent, f"/api/interactions/{task}/inspection")
    codes = [f["code"] for f in inspection["flags"]]
    assert {"missing:greeting", "missing:identity_check", "missing:closing"} <= set(codes)
    assert inspection["rules"] == "default" and inspection["passed"] is False
    assert inspection["score"] == 100 - sum(f["deduction"] for f in inspection["flags"])
    assert inspection["metrics"]["agent_talk"] > 0 and inspection["metrics"]["caller_talk"] > 0

    # A supervisor of another team may not read it; the wallboard counts the flagged call.
    supervisor = await stack.client("zhaolei")  # north; zhangwei is east
    await get(supervisor, f"/api/interactions/{task}/transcript", 403)
    admin = await stack.client("admin")
    board = await get(admin, "/api/supervisor/wallboard")
    support = next(q for q in board["queues"] if q["id"] == "support")
    assert support["extras"]["speech"] == {"backlog": 0, "failed": 0, "flagged": 1}


async def test_undecodable_leg_is_retried_then_failed_with_the_reason(
        speech_stack, legs: Legs, tmp_path: Path) -> None:
    stack = await speech_stack(retries=1)
    store = stack.deps.store
    caller, agent = legs.copy_to(tmp_path / "rec", "broken")
    agent.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot a recording")
    task = await recorded_call(store, caller, agent)
    events = stack.deps.bus.subscribe(lambda e: e.topic == "interaction.summary")
    stack.deps.bus.publish("recording.complete", {"task_id": task}, at=stack.clock())
    event: BusEvent = await asyncio.wait_for(events.get(), 60)

    job = await store.speech_job(task)
    assert job.status == "partial"  # the caller's leg decoded; the agent's did not
    assert "agent leg: AudioFormatError" in job.error and "(2 attempts)" in job.error
    assert event.data["status"] == "partial"
    assert {line.speaker for line in await store.list_transcript(task)} == {"caller"}
    inspection = await stack.need(SpeechService).inspection(ADMIN, task)
    assert "score" not in inspection  # one leg cannot be inspected for talk share, overtalk

    caller.write_bytes(b"")  # now neither leg decodes: failed, with both reasons
    await stack.need(SpeechService).enqueue(task, again=True)
    event = await asyncio.wait_for(events.get(), 60)
    job = await store.speech_job(task)
    assert (job.status, event.data["status"]) == ("failed", "failed")
    assert "caller leg:" in job.error and "agent leg:" in job.error
    assert "未能生成摘要" in event.data["text"]
    admin = await stack.client("admin")
    failed = await get(admin, "/api/speech/jobs?status=failed")
    assert [(j["task_id"], j["status"]) for j in failed] == [(task, "failed")]
    assert (await store.speech_job(task)).attempts == 1  # a re-run starts counting anew


async def test_language_without_a_model_is_failed_with_the_reason(
        speech_stack, legs: Legs, tmp_path: Path) -> None:
    stack = await speech_stack()  # models: en only
    store = stack.deps.store
    task = await recorded_call(store, *legs.copy_to(tmp_path / "rec", "zh"), language="zh")
    events = stack.deps.bus.subscribe(lambda e: e.topic == "interaction.summary")
    stack.deps.bus.publish("recording.complete", {"task_id": task}, at=stack.clock())
    await asyncio.wait_for(events.get(), 30)
    job = await store.speech_job(task)
    assert job.status == "failed"
    assert job.error.startswith("no speech model for language 'zh': set stt.models.zh")
    assert not stack.need(SpeechService).pools.started  # nothing to decode, no workers
