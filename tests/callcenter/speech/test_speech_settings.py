"""Each ``stt`` setting does what its comment in callcenter.yaml says, and quality.yaml
is checked like the other files (file:line:column) and reloaded without a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.config import ConfigStore, check_config, load_config
from recordings.services import SpeechService
from tests.support.speech import Legs, recorded_call
from tests.support.voice import edit_yaml
from tests.support.webstack import copy_config

pytestmark = pytest.mark.timeout(120)
FAKE = "tests.support.fake_recognizer:FakeRecognizer"


async def transcribe(stack, legs: Legs, folder: Path, name: str, *, wait: bool = True) -> str:
    task = await recorded_call(stack.deps.store, *legs.copy_to(folder, name))
    events = stack.deps.bus.subscribe(lambda e: e.topic == "interaction.summary")
    stack.deps.bus.publish("recording.complete", {"task_id": task}, at=stack.clock())
    if wait:
        await asyncio.wait_for(events.get(), 60)
    return task


async def test_enabled_backend_workers_and_queue_size(speech_stack, legs: Legs,
                                                      tmp_path: Path) -> None:
    models = tmp_path / "model"  # the stand-in recognizer reads no model, but one must exist
    models.mkdir()
    stack = await speech_stack(enabled=False, backend=FAKE, models={"en": str(models)},
                               workers=2, queue_size=1)
    store = stack.deps.store
    speech = stack.need(SpeechService)

    # enabled: false -> a finished recording is not queued (the CLI can take it later)
    off = await transcribe(stack, legs, tmp_path / "rec", "off", wait=False)
    await asyncio.sleep(0.5)
    assert await store.speech_job(off) is None and not speech.pools.started

    # ...and turning it on is live: the next call is transcribed
    edit_yaml(stack.config_dir / "callcenter.yaml",
              lambda data: data["stt"].update(enabled=True))
    assert stack.deps.config_store.reload(actor="test").applied
    on = await transcribe(stack, legs, tmp_path / "rec", "on")
    assert (await store.speech_job(on)).status == "done"
    # backend: the recognizer named there decoded it (the stand-in hears "fake")
    lines = await store.list_transcript(on)
    assert {line.text for line in lines} == {"fake"} and lines[0].engine == "speech:" + FAKE
    # workers: decoding processes; queue_size: legs waiting for them
    pool = await speech.pools.get()
    assert len(pool.worker_pids()) == 2 and pool._queue.maxsize == 1
    assert await store.speech_job(off) is None


async def test_job_timeout_kills_a_slow_decode(speech_stack, legs: Legs, tmp_path: Path) -> None:
    # Loading the Korean model alone takes longer than this: every attempt times out.
    stack = await speech_stack(job_timeout_seconds=0.3, retries=0)
    task = await transcribe(stack, legs, tmp_path / "rec", "slow")
    job = await stack.deps.store.speech_job(task)
    assert job.status == "failed"
    assert "timed out after 0.3s" in job.error and "(1 attempt)" in job.error


def test_stt_and_quality_errors_point_at_file_line_and_column(tmp_path: Path) -> None:
    directory = copy_config(tmp_path / "config")
    text = (directory / "callcenter.yaml").read_text()
    text = text.replace("  backend: vosk ", "  backend: sherpa ")
    text = text.replace("  models: {}    ", "  models: {ZH: /m}")
    text = text.replace("  workers: 1 ", "  workers: 0 ")
    (directory / "callcenter.yaml").write_text(text)
    quality = (directory / "quality.yaml").read_text().replace("  vip:\n", "  vipp:\n")
    (directory / "quality.yaml").write_text(quality)
    code, report = check_config(directory, env={})
    assert code == 1
    lines = {line.split(": ", 1)[0].rsplit("/", 1)[-1]: line for line in report.splitlines()}
    stt_line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("stt:"))
    assert lines[f"callcenter.yaml:{stt_line + 4}:12"].endswith(
        "stt.backend: 'sherpa' is not a speech backend: write vosk, or package.module:Class "
        "for another recognizer")
    assert "stt.models.ZH: 'ZH' is not a language code" in \
        lines[f"callcenter.yaml:{stt_line + 5}:12"]
    assert "stt.workers: 0 is out of range" in lines[f"callcenter.yaml:{stt_line + 8}:12"]
    vip = next(i for i, x in enumerate(quality.splitlines(), 1) if x == "  vipp:")
    assert lines[f"quality.yaml:{vip}:3"].endswith(
        "queues.vipp: queue 'vipp' does not exist; queues (in queues.yaml): sales, support, "
        "vip (did you mean 'vip'?)")


def test_missing_models_are_warnings_that_say_what_happens(tmp_path: Path) -> None:
    directory = copy_config(tmp_path / "config")
    edit_yaml(directory / "callcenter.yaml", lambda data: data["stt"].update(
        enabled=True, models={"en": str(tmp_path / "nowhere")}))
    result = load_config(directory, env={})
    [zh, en] = sorted(result.warnings, key=lambda w: w.path)
    assert en.path == "stt.models.en" and "is not a folder; calls in en will be marked " \
        "failed" in en.message
    assert zh.path == "stt.models" and "has no model for 'zh'" in zh.message


def test_quality_yaml_reloads_and_is_optional(tmp_path: Path) -> None:
    directory = copy_config(tmp_path / "config")
    store = ConfigStore.open(directory, env={})
    assert store.config.quality.rules_for("vip").pass_score == 90
    text = (directory / "quality.yaml").read_text()
    text = text.replace("    pass_score: 90", "    pass_score: 95")
    issues = store.apply_text("quality.yaml", text, actor="admin")
    assert not [i for i in issues if i.is_error]
    assert store.config.quality.rules_for("vip").pass_score == 95
    bad = store.apply_text("quality.yaml", text.replace("pass_score: 95", "pass_score: 195"),
                           actor="admin")
    assert [i.path for i in bad if i.is_error] == ["queues.vip.pass_score"]
    assert store.config.quality.rules_for("vip").pass_score == 95  # the old rules stay
    (directory / "quality.yaml").unlink()
    assert store.reload(actor="test").applied
    assert store.config.quality.queues == {} and store.config.quality.default.required == []


async def test_a_transferred_call_is_transcribed_in_all_its_parts(
        speech_stack, legs: Legs, tmp_path: Path) -> None:
    """Each connection to an agent is recorded apart (a transfer starts a second set); the
    transcript joins them in call time, and a set archived after the work began makes
    the call run again. (The stand-in recognizer: what is heard is not under test here.)"""
    models = tmp_path / "model"
    models.mkdir()
    stack = await speech_stack(backend=FAKE, models={"en": str(models)})
    store = stack.deps.store
    first = legs.copy_to(tmp_path / "rec", "part1")
    task = await recorded_call(store, *first, at=1000.0)
    second = {}
    for leg, path in zip(("caller", "agent"), legs.copy_to(tmp_path / "rec", "part2"),
                         strict=True):
        second[leg] = await store.add_recording(task, str(path), leg=leg, started_at=1030.0,
                                                status="recording")
    events = stack.deps.bus.subscribe(lambda e: e.topic == "interaction.summary")
    stack.deps.bus.publish("recording.complete", {"task_id": task}, at=stack.clock())
    await asyncio.wait_for(events.get(), 30)
    assert {line.start < 30 for line in await store.list_transcript(task)} == {True}

    for recording in second.values():  # the transferred part is archived afterwards
        await store.update_recording(recording.id, status="complete",
                                     ended_at=stack.clock() + 1)
    stack.deps.bus.publish("recording.complete", {"task_id": task}, at=stack.clock())
    await asyncio.wait_for(events.get(), 30)
    lines = await store.list_transcript(task)
    later = [line for line in lines if line.start >= 30]
    assert len(later) == 2 and len(lines) == 4
    assert {line.recording_id for line in later} == {r.id for r in second.values()}
    assert all(line.speaker == next(k for k, r in second.items() if r.id == line.recording_id)
               for line in later)
    job = await store.speech_job(task)
    length = legs.agent_speech[1] + 0.8  # each set's files are this long
    assert job.status == "done" and job.audio_seconds == pytest.approx(30 + length, abs=0.05)
