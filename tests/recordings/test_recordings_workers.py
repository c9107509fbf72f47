"""The decode pool: back-pressure, retries with reasons, crash recovery, shutdown,
and real vosk decoding in a worker process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from recordings.call import transcribe_call
from recordings.recognizer import ModelConfig
from recordings.workers import DecodeJob, DecodePool, PoolClosed
from tests.support.recordings import KoreanSpeech, tone, write_wav

pytestmark = pytest.mark.timeout(120)


def fake(**options: object) -> ModelConfig:
    return ModelConfig("xx", "/nowhere", "tests.support.fake_recognizer:FakeRecognizer",
                       options=options)


@pytest.fixture
def beep(tmp_path: Path) -> str:
    return str(write_wav(tmp_path / "beep.wav", tone(440, 0.5, 8000, 0.3), 8000))


async def test_submit_decodes_in_a_worker_process(beep: str) -> None:
    async with DecodePool(workers=1) as pool:
        result = await pool.submit(DecodeJob(beep, fake(), speaker="caller"))
        assert result.ok and result.attempts == 1 and result.error is None
        assert result.job.speaker == "caller"
        assert result.worker_pid in pool.worker_pids() and result.worker_pid != os.getpid()
        assert result.decoding is not None and result.decoding.words[0].text == "fake"
        assert result.decoding.audio_seconds == pytest.approx(0.5)
        assert pool.stats.completed == 1 and pool.stats.failed == 0


async def test_back_pressure_submit_waits_while_the_queue_is_full(beep: str) -> None:
    slow = fake(sleep=0.8)
    async with DecodePool(workers=1, queue_size=1) as pool:
        first = await pool.enqueue(DecodeJob(beep, slow))  # taken by the worker
        await asyncio.sleep(0.1)
        second = await pool.enqueue(DecodeJob(beep, slow))  # fills the queue
        third = asyncio.create_task(pool.enqueue(DecodeJob(beep, slow)))
        await asyncio.sleep(0.3)
        assert not third.done(), "enqueue must wait while the queue is full"
        assert pool.stats.queued == 1 and pool.stats.busy == 1
        results = [await first, await second, await (await third)]
        assert all(r.ok for r in results)
        assert pool.stats.submitted == 3


async def test_corrupt_file_is_retried_then_reported_with_the_reason(tmp_path: Path) -> None:
    junk = tmp_path / "corrupt.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really a wav file")
    async with DecodePool(workers=1, max_attempts=3, retry_delay=0.01) as pool:
        result = await pool.submit(DecodeJob(str(junk), fake()))
    assert not result.ok and result.decoding is None
    assert result.attempts == 3 and len(result.errors) == 3
    assert "AudioFormatError" in result.error and "corrupt.wav" in result.error


async def test_decoder_error_is_reported_after_the_retries(beep: str) -> None:
    async with DecodePool(workers=1, max_attempts=2, retry_delay=0.01) as pool:
        result = await pool.submit(DecodeJob(beep, fake(fail="decoder exploded")))
        good = await pool.submit(DecodeJob(beep, fake()))  # the worker is still fine
    assert not result.ok and result.attempts == 2
    assert result.errors == ("RuntimeError: decoder exploded",) * 2
    assert good.ok


async def test_a_killed_worker_is_replaced_and_its_job_completes(
        beep: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    async with DecodePool(workers=1, max_attempts=3, retry_delay=0.01) as pool:
        job = asyncio.create_task(pool.submit(DecodeJob(beep, fake(sleep=30,
                                                                   pid_file=str(pid_file)))))
        for _ in range(200):
            if pid_file.exists() and pid_file.read_text():
                break
            await asyncio.sleep(0.05)
        victim = int(pid_file.read_text())
        assert victim in pool.worker_pids()
        os.kill(victim, signal.SIGKILL)
        result = await asyncio.wait_for(job, 60)
        assert result.ok and result.attempts == 2
        assert "died" in result.errors[0] and "signal 9" in result.errors[0]
        assert result.worker_pid != victim and result.worker_pid in pool.worker_pids()
        assert pool.stats.restarts == 1


async def test_a_hung_decoder_times_out(beep: str) -> None:
    async with DecodePool(workers=1, max_attempts=1, job_timeout=0.5) as pool:
        result = await pool.submit(DecodeJob(beep, fake(sleep=30)))
    assert not result.ok and "timed out" in result.error


async def test_close_fails_what_is_queued_and_refuses_new_jobs(beep: str) -> None:
    pool = DecodePool(workers=1, queue_size=4)
    await pool.start()
    running = await pool.enqueue(DecodeJob(beep, fake(sleep=0.5)))
    await asyncio.sleep(0.1)
    queued = await pool.enqueue(DecodeJob(beep, fake()))
    await pool.close(cancel_pending=True)
    assert (await running).ok
    waiting = await queued
    assert not waiting.ok and "closed" in waiting.error
    with pytest.raises(PoolClosed):
        await pool.submit(DecodeJob(beep, fake()))
    assert pool.worker_pids() == []
    await asyncio.wait_for(pool.close(), 5)  # closing twice is harmless


async def test_close_that_times_out_still_answers_the_running_job(beep: str) -> None:
    pool = DecodePool(workers=1)
    await pool.start()
    running = await pool.enqueue(DecodeJob(beep, fake(sleep=30)))
    await asyncio.sleep(0.3)
    await asyncio.wait_for(pool.close(timeout=0.5), 15)
    result = await asyncio.wait_for(running, 5)
    assert not result.ok and result.error == "pool closed while the job ran"
    assert pool.worker_pids() == []


def test_fork_is_refused() -> None:
    with pytest.raises(ValueError, match="fork"):
        DecodePool(start_method="fork")


async def test_real_vosk_in_a_worker_matches_in_process_decoding(
        korean_speech: KoreanSpeech, ko_model: ModelConfig, decoded_1s) -> None:
    path = str(korean_speech.padded(1.0))
    local = decoded_1s  # the same file decoded in this process
    async with DecodePool(workers=1, preload=[ko_model]) as pool:
        result = await pool.submit(DecodeJob(path, ko_model, speaker="caller"))
    assert result.ok, result.errors
    assert result.decoding is not None and result.decoding.words == local.words


async def test_a_worker_that_cannot_start_says_why(tmp_path: Path) -> None:
    missing = ModelConfig("zh", str(tmp_path / "no-model"), "vosk")
    with pytest.raises(RuntimeError, match="vosk model folder not found"):
        async with DecodePool(workers=1, preload=[missing]):
            pass


async def test_logs_never_carry_a_whole_phone_number(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    junk = tmp_path / "in-13812345678-20261130.wav"  # MixMonitor names often hold the number
    junk.write_bytes(b"garbage")
    caplog.set_level(logging.DEBUG, logger="recordings")
    async with DecodePool(workers=1, max_attempts=2, retry_delay=0.01) as pool:
        result = await pool.submit(DecodeJob(str(junk), fake()))
    assert not result.ok and "13812345678" in result.error  # the caller gets the full reason
    records = [r for r in caplog.records if r.name.startswith("recordings")]
    assert {r.getMessage() for r in records} >= {"stt.attempt_failed", "stt.job_failed"}
    for record in records:
        text = record.getMessage() + repr(vars(record))
        assert "13812345678" not in text
        assert "5678" in record.__dict__.get("file", "5678")


async def test_transcribe_call_merges_the_legs_and_reports_a_failed_one(tmp_path: Path) -> None:
    rate = 8000
    caller = np.concatenate([tone(300, 1.0, rate, 0.3), np.zeros(2 * rate, np.float32)])
    agent = np.concatenate([np.zeros(int(1.5 * rate), np.float32), tone(500, 1.0, rate, 0.3),
                            np.zeros(rate // 2, np.float32)])
    legs = {"caller": str(write_wav(tmp_path / "in.wav", caller, rate)),
            "agent": str(write_wav(tmp_path / "out.wav", agent, rate))}
    async with DecodePool(workers=2, max_attempts=1) as pool:
        call = await transcribe_call(pool, legs, fake(), call_id="c1")
        assert call.complete and call.results["agent"].job.job_id == "c1-agent"
        t = call.transcript
        assert [u.speaker for u in t.utterances] == ["caller", "agent"]
        assert t.duration == pytest.approx(3.0) and t.language == "xx"
        # Activity is the legs' voice activity: caller 0-1 s, agent 1.5-2.5 s.
        assert t.activity["caller"][0] == pytest.approx((0.0, 1.0), abs=0.03)
        assert t.activity["agent"][0] == pytest.approx((1.5, 2.5), abs=0.03)
        [gap] = t.silences(0.3)
        assert (gap.start, gap.end) == pytest.approx((1.0, 1.5), abs=0.03)
        broken = dict(legs, agent=str(tmp_path / "missing.wav"))
        partial = await transcribe_call(pool, broken, fake())
    assert not partial.complete and "FileNotFoundError" in partial.failed["agent"]
    assert [u.speaker for u in partial.transcript.utterances] == ["caller"]
