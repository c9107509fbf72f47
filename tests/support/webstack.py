"""A real console stack for component and browser tests, built by the composition root.

``App`` (the same root ``callcenter run`` uses) on a private copy of ``config/`` and a
SQLite file, without an Asterisk: every feature is loaded through its plugin, the
consoles listen on a free loopback port. The routes that need a telephone answer 503.

The chat channel is the real chat feature (``chatbridge``): ``chat_arrives`` opens a
conversation through it, so an arriving chat pops the agent's card end to end.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from argon2 import PasswordHasher
from ruamel.yaml import YAML

import acd
from callcenter.agents.notifier import OfferNotifier
from callcenter.app import App
from callcenter.config import ConfigStore
from callcenter.config.models import Config
from callcenter.features import Dependencies
from callcenter.wallboard.services import WallboardService
from chatbridge.services import ChatService

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
SAMPLES = REPO / "config"

PASSWORDS = {
    "zhangwei": "welcome-1001", "lina": "welcome-1002", "wangfang": "welcome-1003",
    "liuyang": "welcome-1004", "chenjing": "welcome-1005", "emily": "welcome-1006",
    "zhaolei": "welcome-1090", "admin": "change-me-now",
}
# In these tests zhaolei supervises the north team only (the sample: east and north),
# so there is an "own team" (wangfang, north) and an "other team" (zhangwei, east).
SUPERVISOR = "zhaolei"
OWN_TEAM_AGENT = "wangfang"
OTHER_TEAM_AGENT = "zhangwei"

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    """Wall time plus an offset a test can move forward; or, frozen, a time the test sets
    (a scenario whose every wait and talk time is exact)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.frozen: float | None = None

    def __call__(self) -> float:
        return self.frozen if self.frozen is not None else time.time() + self.offset

    def advance(self, seconds: float) -> None:
        if self.frozen is not None:
            self.frozen += seconds
        self.offset += seconds

    def freeze(self, at: float) -> None:
        """From now on the time is ``at`` until the test sets another."""
        self.frozen = at


class VoiceSink:
    """The voice side of routing is not under test in these tests: decisions for calls
    (announcements, offers of a waiting call) are only kept, nothing rings."""

    def __init__(self) -> None:
        self.decisions: list[acd.Decision] = []

    async def apply(self, decision: acd.Decision) -> None:
        self.decisions.append(decision)

    async def after_batch(self) -> None:
        pass


@dataclass
class WebStack:
    root: App
    config_dir: Path
    clock: Clock
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)
    _background: set[asyncio.Future[None]] = field(default_factory=set)

    @property
    def deps(self) -> Dependencies:
        return self.root.deps

    @property
    def app(self) -> web.Application:
        """The consoles' aiohttp application."""
        assert self.root.consoles is not None
        return self.root.consoles

    def need(self, kind: type[T]) -> T:
        return self.deps.need(kind)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.root.web_port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    @property
    def config(self) -> Config:
        return self.deps.config_store.config

    async def client(self, username: str | None = None, password: str | None = None, *,
                     origin: str | None = "self",
                     source: str = "127.0.0.1") -> aiohttp.ClientSession:
        """An HTTP client with its own cookie jar, logged in as ``username`` if given.

        ``origin``: the Origin header it sends ("self": this server; None: none);
        ``source``: the loopback address it connects from (another "machine").
        """
        headers = {} if origin is None else {"Origin": self.origin if origin == "self"
                                             else origin}
        session = aiohttp.ClientSession(
            base_url=self.origin, headers=headers, cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(local_addr=(source, 0)))
        self.sessions.append(session)
        if username is not None:
            async with session.post("/api/auth/login", json={
                    "username": username, "password": password or PASSWORDS[username]},
                    headers={"Origin": self.origin}) as response:
                assert response.status == 200, await response.text()
        return session

    async def customer(self, name: str, phone: str | None = None,
                       openid: str | None = None) -> int:
        store = self.deps.store
        customer = None
        if phone:
            customer = await store.find_or_create_customer("phone", phone, name)
        if openid:
            if customer is None:
                customer = await store.find_or_create_customer("wechat_openid", openid, name)
            else:
                customer = await store.link_identity(customer.id, "wechat_openid", openid)
        assert customer is not None
        return customer.id

    @property
    def chat(self) -> ChatService:
        return self.need(ChatService)

    async def chat_arrives(self, queue: str, customer_id: int | None, *,
                           medium: str = "web", first_message: str | None = None) -> str:
        """A chat comes in through the chat feature (a conversation, its first message,
        a queue visit whatever the hours say); returns the task (interaction) id."""
        chat = self.chat
        conv = await chat.open_conversation(medium=medium, address=f"test-{uuid.uuid4().hex}",
                                            customer_id=customer_id, queue=queue)
        if first_message:
            await chat.customer_message(conv, source=medium, external_id=f"{conv.id}:first",
                                        text=first_message)
        await chat.enqueue(conv, leave_message=False)
        await self.deps.routing.flush()
        assert conv.task_id is not None
        return conv.task_id

    async def seed_history(self) -> tuple[int, str, str]:
        """王小明: an earlier call (summary, disposition) and an earlier WeChat chat."""
        store = self.deps.store
        now = self.clock()
        customer = await self.customer("王小明", phone="13812345678", openid="oWx-abcdef123456")
        call = await store.create_interaction(
            "voice", medium="pstn", customer_id=customer, queue="support",
            agent_id="wangfang", arrived_at=now - 26 * 3600, answered_at=now - 26 * 3600 + 40,
            ended_at=now - 26 * 3600 + 400, outcome="answered", disposition="resolved",
            caller_masked="13812345678")
        await store.add_summary(call.id, "客户反映路由器无法联网，已指导重启并更新固件，"
                                         "问题解决。客户希望了解企业版价格。")
        chat = await store.create_interaction(
            "chat", medium="wechat", customer_id=customer, queue="sales", agent_id="lina",
            arrived_at=now - 3 * 3600, ended_at=now - 3 * 3600 + 600, outcome="answered",
            disposition="quote_sent")
        await store.add_message(chat.id, "in", "请问企业版多少钱？可以开发票吗？",
                                created_at=now - 3 * 3600 + 5)
        await store.add_message(chat.id, "out", "您好！企业版每年 999 元，可以开具增值税发票。",
                                sender="lina", created_at=now - 3 * 3600 + 60)
        return customer, call.id, chat.id

    async def seed_day(self, seed: int = 7) -> int:
        """Earlier traffic today, as the queue log would replay it into the statistics."""
        import random

        rng = random.Random(seed)
        stats = self.deps.routing._stats
        wallboard = self.need(WallboardService)
        now = self.clock()
        step = stats.interval_seconds
        start = max(wallboard.day_start(now), stats.bucket(now) - 8 * 3600)
        events: list[acd.LogEvent] = []
        n = 0
        plan = {"sales": ("voice", 3, 9), "support": ("voice", 4, 12), "vip": ("voice", 0, 3)}
        for bucket in range(int(start), int(stats.bucket(now)), int(step)):
            for queue, (channel, low, high) in plan.items():
                for _ in range(rng.randint(low, high)):
                    n += 1
                    task = f"hist-{n}"
                    at = bucket + rng.uniform(0, step - 200)
                    ch = channel if rng.random() < 0.7 or queue == "vip" else "chat"
                    wait = min(150.0, rng.expovariate(1 / 18))
                    events.append(acd.LogEvent(at, "ENTERQUEUE", task, queue, None,
                                               {"channel": ch}))
                    if rng.random() < 0.08:
                        events.append(acd.LogEvent(at + wait, "ABANDON", task, queue, None,
                                                   {"wait": wait}))
                    else:
                        events.append(acd.LogEvent(at + wait, "CONNECT", task, queue, "lina",
                                                   {"wait": wait}))
        events.sort(key=lambda e: e.time)
        stats.feed(events)
        await self.deps.store.log_events([
            {"event": e.kind, "at": e.time, "interaction_id": e.task_id, "queue": e.queue,
             "agent": e.agent_id, "data": dict(e.data)} for e in events])
        await wallboard.load()
        return n

    async def accept_chat(self, agent_id: str, task_id: str) -> str:
        """The agent accepts the chat's offer (as the card's Accept button does); returns
        the conversation id once the chat feature made it the agent's."""
        view = self.deps.routing.agent(agent_id)
        assert view is not None and task_id in view.offered_tasks, "no offer of that chat"
        offer_id = view.offers[view.offered_tasks.index(task_id)]
        assert self.deps.routing.accept(offer_id)
        conv = self.chat.convs.of_task(task_id)
        assert conv is not None
        await self.until(lambda: conv.status == "active" and conv.agent_id == agent_id,
                         what=f"{agent_id} to hold the chat")
        return conv.id

    async def until(self, predicate: Any, *, timeout: float = 5.0,
                    what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    def end_chat(self, task_id: str, agent_id: str) -> None:
        """The agent ends the chat: wrap-up begins (as the End button does)."""
        conv = self.chat.convs.of_task(task_id)
        assert conv is not None and conv.agent_id == agent_id, "not that agent's chat"
        self.deps.routing.end(task_id, "agent")
        self.need(OfferNotifier).wrapup(agent_id, task_id, conv.queue)
        self._background.add(asyncio.ensure_future(self.chat.ended(conv, "agent")))

    async def close(self) -> None:
        await asyncio.gather(*self._background, return_exceptions=True)
        for session in self.sessions:
            await session.close()
        await self.root.stop()


def copy_config(target: Path, *, supervisor_teams: str = "[north]") -> Path:
    shutil.copytree(SAMPLES, target)
    agents = target / "agents.yaml"
    text = agents.read_text(encoding="utf-8")
    text = text.replace("teams_supervised: [east, north]",
                        f"teams_supervised: {supervisor_teams}", 1)
    agents.write_text(text, encoding="utf-8")
    return target


def database_of(first: Path) -> Callable[[dict], None]:
    """A callcenter.yaml change for ``start_stack``: the SQLite file of the stack started
    in ``first`` (an engine restart, as the next run sees it)."""
    database = str(first / "cc.sqlite3")
    return lambda data: data["storage"].update(path=database)


async def start_stack(tmp_path: Path, *, snapshot_interval: float = 1.0,
                      session_idle_minutes: int | None = None,
                      login_failures: int | None = None,
                      passwords_chosen: bool = True, demo: bool = False,
                      callcenter: Callable[[dict], None] | None = None,
                      queues: Callable[[dict], None] | None = None,
                      settings: dict[str, Any] | None = None) -> WebStack:
    """``callcenter``, ``queues``: a change to that file's data before the engine starts;
    ``settings``: more plugin tunables (``chat_tick``...); ``passwords_chosen``: the
    sample's users have made their agents.yaml passwords their own (else each must change
    it at first login, as in a deployment)."""
    config_dir = copy_config(tmp_path / "config")
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    path = config_dir / "callcenter.yaml"
    data = yaml.load(path.read_text(encoding="utf-8"))
    data["web"]["port"] = 0
    data["storage"]["path"] = str(tmp_path / "cc.sqlite3")
    if login_failures is not None:
        data["web"]["login_failures_allowed"] = login_failures
    if session_idle_minutes is not None:
        data["web"]["session_idle_minutes"] = session_idle_minutes
    if callcenter is not None:
        callcenter(data)
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
    if queues is not None:
        queues_path = config_dir / "queues.yaml"
        queues_data = yaml.load(queues_path.read_text(encoding="utf-8"))
        queues(queues_data)
        with queues_path.open("w", encoding="utf-8") as out:
            yaml.dump(queues_data, out)
    clock = Clock()
    tunables: dict[str, Any] = {"snapshot_interval": snapshot_interval,
                                "password_hasher": FAST_HASHER, **(settings or {})}
    root = App(ConfigStore.open(config_dir, env={}), clock=clock, asterisk=False,
               settings=tunables, demo=demo)
    try:
        await root.start()
        root.deps.routing.attach("voice", VoiceSink())
        if passwords_chosen:
            for username, password in PASSWORDS.items():
                await root.deps.store.set_password(username, password)
    except BaseException:
        await root.stop()
        raise
    return WebStack(root, config_dir, clock)


# ---------------------------------------------------------------------------- fixtures
# Imported by tests/callcenter/conftest.py for every console test folder.


@pytest.fixture
async def web_stack(tmp_path: Path):
    stack = await start_stack(tmp_path)
    try:
        yield stack
    finally:
        await stack.close()


@pytest.fixture
async def make_stack(tmp_path: Path):
    """Start stacks with options (``session_idle_minutes=``, ``login_failures=``...)."""
    stacks: list[WebStack] = []

    async def make(**options: Any) -> WebStack:
        stack = await start_stack(tmp_path / f"stack{len(stacks)}", **options)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        await stack.close()


# ---------------------------------------------------------------------------- browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def artifacts_dir() -> Path:
    return Path(os.environ.get("CALLCENTER_TEST_ARTIFACTS", REPO / "test-artifacts"))


@pytest.fixture
def screenshots() -> Path:
    path = artifacts_dir() / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright  # only the browser tests need it

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                    args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


# ---------------------------------------------------------------------------- live events


async def next_topic(ws: aiohttp.ClientWebSocketResponse, topic: str,
                     timeout: float = 3.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            data = json.loads(msg.data)
            if data["topic"] == topic:
                return data


async def no_topic(ws: aiohttp.ClientWebSocketResponse, *topics: str,
                   wait: float = 0.3) -> None:
    try:
        async with asyncio.timeout(wait):
            while True:
                msg = await ws.receive()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    assert json.loads(msg.data)["topic"] not in topics, msg.data
    except TimeoutError:
        pass
