"""`callcenter simulate` outside business hours says why and places nothing; a demo
engine can keep every queue open (``--demo --always-open``)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ruamel.yaml import YAML

from callcenter import cli
from callcenter.config import ConfigStore, load_config
from callcenter.config.models import Config
from callcenter.simulate.traffic import why_no_agent

REPO = Path(__file__).resolve().parents[3]
MONDAY_3AM_SHANGHAI = datetime(2026, 12, 6, 19, 0, tzinfo=UTC)
WEDNESDAY_11AM_SHANGHAI = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


async def test_the_walk_says_what_is_closed_and_until_when():
    config = load_config(REPO / "config").config
    assert await why_no_agent(config, "21", WEDNESDAY_11AM_SHANGHAI) is None
    why = await why_no_agent(config, "21", MONDAY_3AM_SHANGHAI)
    assert why is not None and why.startswith("calls to 4008001234 with keys 21 end")
    assert "queue sales opens Mon 2026-12-07 09:00 (Asia/Shanghai)" in why
    assert await why_no_agent(config.always_open(), "21", MONDAY_3AM_SHANGHAI) is None


def test_always_open_holds_for_every_load_and_leaves_the_files_alone(tmp_path):
    directory = shutil.copytree(REPO / "config", tmp_path / "config")
    before = (directory / "queues.yaml").read_text()
    store = ConfigStore.open(directory, adjust=Config.always_open)
    assert all(q.business_hours is None for q in store.config.queues.values())
    assert store.reload(actor="test").applied
    assert store.config.ivr.schedules["office"].is_open(MONDAY_3AM_SHANGHAI)
    assert (directory / "queues.yaml").read_text() == before
    plain = ConfigStore.open(directory)
    assert not plain.config.ivr.schedules["office"].is_open(MONDAY_3AM_SHANGHAI)


def test_simulate_outside_hours_places_nothing_and_says_why(tmp_path, capsys):
    directory = shutil.copytree(REPO / "config", tmp_path / "config")
    yaml = YAML()
    path = directory / "queues.yaml"
    data = yaml.load(path.read_text())
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # sales: closed all day today
    hours = data["queues"]["sales"]["business_hours"]
    hours["holidays"] = [*hours["holidays"], str(today)]
    with path.open("w") as out:
        yaml.dump(data, out)
    assert cli.main(["simulate", "--config", str(directory)]) == 2
    err = capsys.readouterr().err
    assert "queue sales opens" in err and "Nothing placed" in err
    assert "--always-open" in err


def test_always_open_is_for_a_demo_only(tmp_path, capsys):
    assert cli.main(["run", "--always-open", "--config", str(REPO / "config")]) == 2
    assert "--demo" in capsys.readouterr().err
