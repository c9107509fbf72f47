"""The scenario's event log as Asterisk's queue_log: every line parses with the number of
fields app_queue writes for its event, and the values are the scenario's."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from callcenter.reports.services import ReportService

from .scenario import at

# Data fields per event, as apps/app_queue.c (Asterisk 22) formats them:
# ENTERQUEUE "%s|%s|%d" (url, callerid, position; without log_caller_id_name),
# CONNECT "%ld|%s|%ld", COMPLETECALLER/COMPLETEAGENT "%ld|%ld|%d", ABANDON,
# EXITWITHTIMEOUT and EXITEMPTY "%d|%d|%ld", EXITWITHKEY "%s|%d|%d|%ld", RINGNOANSWER and
# RINGCANCELED "%d", BLINDTRANSFER (TRANSFER before Asterisk 12) "%s|%s|%ld|%ld|%d",
# PAUSE/UNPAUSE/PAUSEALL/UNPAUSEALL "%s", AGENTLOGIN "%s", AGENTLOGOFF "%s|%ld",
# CONFIGRELOAD (main/logger.c) "%s".
APP_QUEUE_FIELDS = {
    "ENTERQUEUE": 3, "CONNECT": 3, "COMPLETECALLER": 3, "COMPLETEAGENT": 3, "ABANDON": 3,
    "EXITWITHTIMEOUT": 3, "EXITEMPTY": 3, "EXITWITHKEY": 4, "RINGNOANSWER": 1,
    "RINGCANCELED": 1, "TRANSFER": 5, "PAUSE": 1, "UNPAUSE": 1, "PAUSEALL": 1,
    "UNPAUSEALL": 1, "AGENTLOGIN": 1, "AGENTLOGOFF": 2, "CONFIGRELOAD": 1,
}


def parse(text: str) -> list[list[str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("|")
        assert len(fields) >= 5, f"line {number}: {line!r}"
        event = fields[4]
        assert event in APP_QUEUE_FIELDS, f"line {number}: {event} is not an app_queue event"
        assert len(fields) == 5 + APP_QUEUE_FIELDS[event], \
            f"line {number}: {event} has {len(fields) - 5} data fields, app_queue writes " \
            f"{APP_QUEUE_FIELDS[event]}: {line!r}"
        assert fields[0].isdigit(), f"line {number}: epoch {fields[0]!r}"
        rows.append(fields)
    return rows


async def test_the_scenario_as_queue_log(evening):
    stack, tasks = evening
    out: list[str] = []
    count = await stack.need(ReportService).export_queue_log(
        at("23:00:00"), at("00:30:00"), out.append, chunk_seconds=600)
    rows = parse("".join(out))
    assert count == len(rows)
    by_task = {name: [r for r in rows if r[1] == task] for name, task in tasks.items()}
    events = {name: [r[4] for r in lines] for name, lines in by_task.items()}
    assert events["C1"] == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert events["C3"] == ["ENTERQUEUE", "ABANDON"]
    assert events["C5"] == ["ENTERQUEUE", "CONNECT", "TRANSFER", "ENTERQUEUE", "CONNECT",
                            "COMPLETECALLER"]
    assert events["H1"] == ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    c1 = {r[4]: r for r in by_task["C1"]}
    assert c1["ENTERQUEUE"][:4] == [str(int(at("23:41:00"))), tasks["C1"], "sales", "NONE"]
    assert c1["ENTERQUEUE"][5:] == ["", "138****0001", "1"]  # url, caller (masked), position
    assert c1["CONNECT"][3] == "lina" and c1["CONNECT"][5] == "12" and c1["CONNECT"][7] == "12"
    assert c1["COMPLETECALLER"][5:] == ["12", "180", "1"]  # holdtime, calltime, origposition
    c2 = {r[4]: r for r in by_task["C2"]}
    assert c2["CONNECT"][5] == "24" and c2["CONNECT"][7] == "14"  # waited 24, rang 14
    assert c2["COMPLETEAGENT"][5:7] == ["24", "721"]
    c4 = {r[4]: r for r in by_task["C4"]}
    assert c4["ABANDON"][5:] == ["1", "1", "40"]  # position, original position, wait
    transfer = next(r for r in by_task["C5"] if r[4] == "TRANSFER")
    assert transfer[2:4] == ["support", "wangfang"]
    assert transfer[5:] == ["sales", "queue", "10", "170", "1"]
    pauses = [r for r in rows if r[3] == "lina" and "PAUSE" in r[4]]
    assert [(r[2], r[4], r[5]) for r in pauses] == [
        ("NONE", "PAUSEALL", "meeting"), ("sales", "PAUSE", "meeting"),
        ("NONE", "UNPAUSEALL", ""), ("sales", "UNPAUSE", ""),
        ("NONE", "PAUSEALL", "break"), ("sales", "PAUSE", "break"),
        ("NONE", "UNPAUSEALL", ""), ("sales", "UNPAUSE", "")]
    logins = [r for r in rows if r[4] == "AGENTLOGIN"]
    assert {(r[3], r[5]) for r in logins} == {("lina", "PJSIP/1002"), ("wangfang", "PJSIP/1003")}
    assert [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)


async def test_callcenter_export_queue_log(evening, tmp_path: Path):
    """The command reads the store of a running engine (SQLite in WAL mode)."""
    stack, tasks = evening
    target = tmp_path / "queue_log"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.cli", "export-queue-log", "--config",
        str(stack.config_dir), "--since", "2025-11-14T23:00", "--until", "2025-11-15T00:30",
        "--output", str(target), stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    rows = parse(target.read_text(encoding="utf-8"))
    assert f"{len(rows)} queue_log line(s) written" in err.decode()
    assert sum(1 for r in rows if r[4] == "ENTERQUEUE") == 7  # C1-C5, C5 again, H1
    assert {r[1] for r in rows} >= set(tasks.values())
