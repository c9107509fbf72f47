"""Helpers for end-to-end voice tests: a configuration pointed at the test Asterisk,
waiting for conditions, dialling the IVR."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from ruamel.yaml import YAML

from callcenter.app import App
from callcenter.simulate.phone import Call, Phone, dtmf, silence

REPO = Path(__file__).resolve().parents[2]
ALL_DAY = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:
    yaml = YAML(typ="safe")
    data = yaml.load(path.read_text())
    change(data)
    with path.open("w") as out:
        YAML(typ="safe", pure=True).dump(data, out)


def hands_free(directory: Path, agent_id: str) -> None:
    """The agent answers offers hands free (agents.yaml ``auto_answer``)."""
    def change(data: dict) -> None:
        next(a for a in data["agents"] if a["id"] == agent_id)["auto_answer"] = True

    edit_yaml(directory / "agents.yaml", change)


def make_config(tmp_path: Path, asterisk, queue_changes: Callable[[dict], None] | None = None,
                ami_port: int | None = None) -> Path:
    """The sample configuration, pointed at the test's Asterisk and made quick and always open
    (wrap-ups of 2 s, never waiting for a form)."""
    directory = tmp_path / "config"
    if directory.exists():  # a second engine in the same test: same config and store
        return directory
    shutil.copytree(REPO / "config", directory)

    def callcenter(data: dict) -> None:
        data["ami"].update(port=ami_port or asterisk.ami_port, username=asterisk.ami_user,
                           secret=asterisk.ami_secret, ping_interval_seconds=1,
                           reconnect_max_delay_seconds=1)
        data["asterisk"].update(managed=False, host_root=str(asterisk.root),
                                agi_secret=asterisk.agi_secret,
                                files_dir=asterisk.instance_inside, sip_port=asterisk.sip_port,
                                websocket_port=asterisk.ws_port,
                                agi_port=asterisk.agi_port)
        data["web"].update(port=0)
        data["storage"] = {"path": str(tmp_path / "cc.sqlite3")}
        data["recordings"].update(directory=str(tmp_path / "recordings"))

    def queues(data: dict) -> None:
        for queue in data["queues"].values():
            queue.pop("business_hours", None)
            # (a required disposition would hold each agent until a form is sent)
            queue.update(wrapup_seconds=2, offer_timeout_seconds=6, preferred_agent_seconds=0,
                         require_disposition=False)
            queue["announce"] = {"position": True, "expected_wait": True, "interval_seconds": 3}
        if queue_changes:
            queue_changes(data["queues"])

    def ivr(data: dict) -> None:
        for schedule in data.get("schedules", {}).values():
            schedule.update(weekly=ALL_DAY, holidays=[])

    edit_yaml(directory / "callcenter.yaml", callcenter)
    edit_yaml(directory / "queues.yaml", queues)
    edit_yaml(directory / "ivr.yaml", ivr)
    return directory


async def wait_until(predicate: Callable[[], object], timeout: float = 10.0,
                     what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def history(app, task_id: str) -> list[str]:
    """The interaction's queue-log events by name, in order, once the outbox is written."""
    await app.routing.flush()
    return [e.event for e in await app.store.events_between(0, 2e9, interaction_id=task_id)]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0,
                     what: str = "condition") -> None:
    """Like wait_until, for checks that must await (the store)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


MENU = {"sales": "1", "support": "2", "vip": "9"}
LANGUAGE_KEY = {"zh": "1", "en": "2"}


async def dial_queue(phone: Phone, queue: str = "sales", language: str = "en") -> Call:
    """Dial the 400 number, choose the language (English unless told), then the queue's
    menu key."""
    from pyVoIP.VoIP import CallState

    call = await asyncio.to_thread(phone.call, "4008001234")
    assert await asyncio.to_thread(call.wait_state, CallState.ANSWERED, 10), call.state
    await asyncio.sleep(1.0)
    await asyncio.to_thread(call.play, dtmf(LANGUAGE_KEY[language]) + silence(1.2)
                            + dtmf(MENU[queue]))
    return call


async def queued(app: App, count: int = 1, timeout: float = 15) -> list[str]:
    """Task ids of the voice calls the engine holds, in arrival order, once there are ``count``."""
    await wait_until(lambda: len(app.voice.calls) >= count, timeout=timeout,
                     what=f"{count} queued call(s)")
    return list(app.voice.calls)


def agent_state(app: App, agent_id: str) -> str:
    view = app.routing.agent(agent_id)
    return view.state.value if view else "logged_out"
