"""``callcenter transcribe``: the stored calls the engine did not finish, as a real
process with a progress bar and a final table (real vosk, real SQLite)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.storage import Store
from tests.support.speech import Legs, recorded_call, stt_settings
from tests.support.voice import REPO, edit_yaml
from tests.support.webstack import copy_config

pytestmark = pytest.mark.timeout(120)


def config_dir(tmp_path: Path) -> Path:
    directory = copy_config(tmp_path / "config")

    def change(data: dict) -> None:
        data["storage"] = {"path": str(tmp_path / "cc.sqlite3")}
        data["stt"] = stt_settings(enabled=False)  # the engine would not: the CLI does

    edit_yaml(directory / "callcenter.yaml", change)
    return directory


async def seed(tmp_path: Path, legs: Legs) -> dict[str, str]:
    now = time.time()
    store = await Store.open(tmp_path / "cc.sqlite3")
    try:
        calls = {}
        for name, queue, language, at in (("support_en", "support", "en", now - 600),
                                          ("support_zh", "support", "zh", now - 500),
                                          ("sales_en", "sales", "en", now - 400),
                                          ("old", "support", "en", now - 3 * 86400),
                                          ("done", "support", "en", now - 300)):
            paths = legs.copy_to(tmp_path / "recordings", name)
            calls[name] = await recorded_call(store, *paths, queue=queue, language=language,
                                              at=at)
        await store.enqueue_speech_job(calls["done"], at=now)
        await store.update_speech_job(calls["done"], status="done")
        return calls
    finally:
        await store.close()


def test_transcribe_reruns_what_the_engine_did_not_do(tmp_path: Path, legs: Legs) -> None:
    directory = config_dir(tmp_path)
    calls = asyncio.run(seed(tmp_path, legs))
    run = subprocess.run([sys.executable, "-m", "callcenter.cli", "transcribe", "--config",
                          str(directory), "--queue", "support", "--since", "1d"],
                         cwd=REPO, capture_output=True, text=True, timeout=100)
    print(run.stdout, run.stderr)
    assert run.returncode == 1  # one call failed: it has no model
    assert "transcribing: 100%" in run.stderr and "2/2" in run.stderr  # the progress bar
    table = run.stdout.splitlines()
    assert table[0].split() == ["outcome", "calls", "audio", "min", "decode", "s"]
    rows = {line.split()[0]: line.split()[1:] for line in table[2:] if ":" not in line}
    assert rows["done"][0] == "1" and rows["failed"][0] == "1" and rows["total"][0] == "2"
    assert f"{calls['support_zh']}: no speech model for language 'zh'" in run.stdout

    async def check() -> None:
        store = await Store.open(tmp_path / "cc.sqlite3")
        try:
            assert (await store.speech_job(calls["support_en"])).status == "done"
            assert await store.list_transcript(calls["support_en"])
            assert await store.latest_summary(calls["support_en"]) is not None
            assert (await store.speech_job(calls["support_zh"])).status == "failed"
            for untouched in ("sales_en", "old"):  # another queue; before --since
                assert await store.speech_job(calls[untouched]) is None
            assert not await store.list_transcript(calls["done"])  # done: not without --all
        finally:
            await store.close()

    asyncio.run(check())


def test_transcribe_refuses_bad_arguments(tmp_path: Path, capsys) -> None:
    directory = config_dir(tmp_path)
    assert main(["transcribe", "--config", str(directory), "--since", "last week"]) == 2
    assert "use 7d, 12h, 30m" in capsys.readouterr().err
    assert main(["transcribe", "--config", str(directory), "--queue", "salse"]) == 2
    assert "no such queue; queues: sales, support, vip" in capsys.readouterr().err
