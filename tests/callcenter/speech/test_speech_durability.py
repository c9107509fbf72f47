"""Killing the engine mid-backlog loses nothing (real process, kill -9, real vosk).

An engine process works through a backlog of recorded calls; it is killed while it
decodes one. A new engine resumes: the call it was decoding goes back to the backlog
(its job still says who had it), every call ends transcribed exactly once, including
one archived just before an earlier crash with no job written.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from callcenter.app import App
from callcenter.config import ConfigStore
from callcenter.storage import Store
from recordings.services import SpeechService
from tests.support.speech import Legs, recorded_call, stt_settings
from tests.support.voice import REPO, edit_yaml, eventually
from tests.support.webstack import copy_config

pytestmark = pytest.mark.timeout(180)


async def test_killed_engine_loses_nothing(tmp_path: Path, legs: Legs) -> None:
    directory = copy_config(tmp_path / "config")

    def change(data: dict) -> None:
        data["storage"] = {"path": str(tmp_path / "cc.sqlite3")}
        data["stt"] = stt_settings()

    edit_yaml(directory / "callcenter.yaml", change)
    store = await Store.open(tmp_path / "cc.sqlite3")
    calls = []
    for i in range(2):  # the backlog: calls recorded while no engine ran
        calls.append(await recorded_call(store, *legs.copy_to(tmp_path / "rec", f"c{i}")))
        await store.enqueue_speech_job(calls[-1], language="en")
    # Archived, then the engine died before the job was written: queued at the next start.
    calls.append(await recorded_call(store, *legs.copy_to(tmp_path / "rec", "nojob")))
    # Recorded two days ago while stt was off: `callcenter transcribe`'s, not the engine's.
    old = await store.create_interaction("voice", queue="support", agent_id="zhangwei")
    await store.add_recording(old.id, str(legs.caller), leg="caller", status="complete",
                              created_at=time.time() - 2 * 86400)

    engine = subprocess.Popen(
        [sys.executable, "-c", "from tests.support.speech import serve; "
         f"serve({str(directory)!r})"], cwd=REPO, start_new_session=True)
    try:
        async def one_done_one_running() -> bool:
            jobs = await store.list_speech_jobs()
            statuses = [j.status for j in jobs]
            assert statuses.count("running") <= 1  # stt.workers: 1 call at a time
            return statuses.count("done") >= 1 and "running" in statuses

        await eventually(one_done_one_running, timeout=90, what="the engine at work")
        os.kill(engine.pid, signal.SIGKILL)  # the engine only: its workers see it go
        engine.wait(10)
    finally:
        if engine.poll() is None:
            os.killpg(engine.pid, signal.SIGKILL)
    [interrupted] = await store.list_speech_jobs(["running"])
    assert interrupted.owner and f":{engine.pid}:" in interrupted.owner

    app = App(ConfigStore.open(directory, env={}), asterisk=False, web=False)
    await app.start()
    try:
        await asyncio.wait_for(app.deps.need(SpeechService).idle(), 90)
    finally:
        await app.stop()
    jobs = {j.interaction_id: j for j in await store.list_speech_jobs()}
    assert {t: jobs[t].status for t in calls} == {t: "done" for t in calls}
    assert old.id not in jobs
    assert jobs[interrupted.interaction_id].attempts == 2  # started twice, finished once
    for task in calls:  # exactly one transcript and one summary per call
        lines = await store.list_transcript(task)
        assert sorted({line.speaker for line in lines}) == ["agent", "caller"]
        assert len(lines) == len({(line.speaker, line.start) for line in lines})
        assert len(await store.list_summaries(task)) == 1
    await store.close()
