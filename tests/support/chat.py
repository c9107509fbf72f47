"""Helpers for the chat tests: a visitor of the web widget and a console's live socket,
both real aiohttp clients of a real stack on loopback."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.webstack import PASSWORDS, WebStack

TIMEOUT = 5.0


def always_open(queues: dict) -> None:
    """queues.yaml without business hours: chats are live whatever the time of the test."""
    for queue in queues["queues"].values():
        queue.pop("business_hours", None)


def set_chat(**web: Any) -> Callable[[dict], None]:
    """A callcenter.yaml change: ``chat.web`` settings (dotted keys reach one level in)."""

    def change(data: dict) -> None:
        section = data["chat"]["web"]
        for key, value in web.items():
            if "." in key:
                outer, inner = key.split(".", 1)
                section[outer][inner] = value
            else:
                section[key] = value

    return change


class Frames:
    """A socket's frames, read in the background: wait for one of a kind, keep the rest."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, key: str) -> None:
        self.ws = ws
        self.key = key  # "t" for the widget, "topic" for the consoles
        self.seen: list[dict[str, Any]] = []
        self._new = asyncio.Event()
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.seen.append(json.loads(msg.data))
                    self._new.set()
        finally:
            if not self.closed.done():
                self.closed.set_result(self.ws.close_code)
            self._new.set()

    async def next(self, kind: str, where: Callable[[dict], bool] = lambda _f: True,
                   timeout: float = TIMEOUT) -> dict[str, Any]:
        """The first frame of ``kind`` (matching ``where``) not taken yet."""
        async with asyncio.timeout(timeout):
            while True:
                for i, frame in enumerate(self.seen):
                    if frame.get(self.key) == kind and where(frame):
                        return self.seen.pop(i)
                if self.closed.done():
                    raise AssertionError(f"socket closed ({self.closed.result()}) waiting "
                                         f"for {kind}")
                self._new.clear()
                await self._new.wait()

    def taken(self, kind: str) -> list[dict[str, Any]]:
        out = [f for f in self.seen if f.get(self.key) == kind]
        self.seen = [f for f in self.seen if f.get(self.key) != kind]
        return out

    async def close(self) -> None:
        await self.ws.close()
        self._task.cancel()


@dataclass
class Visitor:
    """A browser with the widget open: the pre-chat form, then the socket."""

    stack: WebStack
    http: aiohttp.ClientSession
    conversation: str | None = None
    token: str | None = None
    visitor: str | None = None
    frames: Frames | None = None
    since: int = 0
    hellos: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def open(cls, stack: Any) -> Visitor:
        return cls(stack, await stack.client())

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def start(self, topic: str = "buy", *, expect: int = 201,
                    **form: Any) -> dict[str, Any]:
        body = {"topic": topic, "name": form.pop("name", "访客"), "language": "zh",
                "visitor": self.visitor, **form}
        async with self.http.post("/api/widget/conversations", json=body) as response:
            data = await response.json()
            assert response.status == expect, data
        if expect == 201:
            self.conversation, self.token = data["conversation_id"], data["token"]
            self.visitor = data["visitor"]
            self.since = 0
        return data

    async def connect(self, since: int | None = None) -> dict[str, Any]:
        ws = await self.http.ws_connect("/api/widget/ws")
        await ws.send_json({"t": "auth", "conversation": self.conversation,
                            "token": self.token, "since": self.since if since is None else since})
        self.frames = Frames(ws, "t")
        hello = await self.frames.next("hello")
        self.hellos.append(hello)
        for m in hello["messages"]:
            self.since = max(self.since, m["mid"])
        return hello

    async def say(self, text: str, cid: str | None = None, *, ack: bool = True) -> str:
        cid = cid or uuid.uuid4().hex[:16]
        assert self.frames is not None
        await self.frames.ws.send_json({"t": "msg", "id": cid, "text": text})
        if ack:
            frame = await self.frames.next("ack", lambda f: f["id"] == cid)
            self.since = max(self.since, frame["mid"])
        return cid

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.frames is not None
        await self.frames.ws.send_json(frame)

    async def hear(self, text: str | None = None) -> dict[str, Any]:
        """The next message from the agent (with this text)."""
        assert self.frames is not None
        frame = await self.frames.next("msg", lambda f: f["from"] == "agent"
                                       and (text is None or f["text"] == text))
        self.since = max(self.since, frame["mid"])
        return frame

    async def drop(self) -> None:
        """The network goes away (the socket closes without a word)."""
        if self.frames is not None:
            await self.frames.close()
            self.frames = None


@dataclass
class Console:
    """A staff member's HTTP session and live socket (``/api/ws``)."""

    stack: WebStack
    http: aiohttp.ClientSession
    frames: Frames

    @classmethod
    async def open(cls, stack: Any, username: str) -> Console:
        return await cls.attach(stack, await stack.client(username))

    @classmethod
    async def attach(cls, stack: Any, http: aiohttp.ClientSession) -> Console:
        """A (new) live socket for a session that is logged in already."""
        ws = await http.ws_connect("/api/ws")
        frames = Frames(ws, "topic")
        await frames.next("hello")
        return cls(stack, http, frames)

    async def call(self, method: str, path: str, body: Any = None,
                   expect: int | tuple[int, ...] = 200) -> Any:
        async with self.http.request(method, path, json=body) as response:
            text = await response.text()
            wanted = (expect,) if isinstance(expect, int) else expect
            assert response.status in wanted, f"{method} {path}: {response.status} {text}"
            return json.loads(text) if text else None

    async def sign_in(self, device: str | None = None) -> None:
        await self.call("POST", "/api/agent/login", {"device": device, "ready": True})

    async def accept_next(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Accept the next chat offer from its card; returns the conversation."""
        offer = await self.frames.next("agent.offer", lambda f: f["data"]["channel"] == "chat",
                                       timeout=timeout)
        await self.call("POST", f"/api/agent/offers/{offer['data']['offer_id']}/accept")
        event = await self.frames.next("chat.conversation", lambda f: f["data"][
            "conversation"]["status"] == "active" and f["data"]["conversation"]["task_id"]
            == offer["data"]["task_id"])
        return event["data"]["conversation"]

    async def message(self, conversation_id: str, body: str | None = None) -> dict[str, Any]:
        frame = await self.frames.next("chat.message", lambda f: f["data"][
            "conversation_id"] == conversation_id and f["data"]["message"]["direction"] == "in"
            and (body is None or f["data"]["message"]["body"] == body))
        return frame["data"]["message"]

    async def reply(self, conversation_id: str, text: str,
                    client_id: str | None = None) -> dict[str, Any]:
        return await self.call("POST", f"/api/chat/conversations/{conversation_id}/messages",
                               {"text": text, "client_id": client_id or uuid.uuid4().hex})


async def chat_with_agent(stack: Any, agent: str = "zhangwei", topic: str = "buy",
                          **form: Any) -> tuple[Console, Visitor, dict[str, Any]]:
    """An agent signed in for chats, a visitor whose chat they accepted, the conversation."""
    console = await Console.open(stack, agent)
    await console.sign_in()
    visitor = await Visitor.open(stack)
    await visitor.start(topic, **form)
    await visitor.connect()
    conversation = await console.accept_next()
    await visitor.frames.next("status", lambda f: f["status"] == "active")
    return console, visitor, conversation


class RemoteStack:
    """An engine running in another process, reached over HTTP like a browser would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sessions: list[aiohttp.ClientSession] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    async def client(self, username: str | None = None) -> aiohttp.ClientSession:
        from tests.support.webstack import PASSWORDS

        session = aiohttp.ClientSession(base_url=self.origin, headers={"Origin": self.origin},
                                        cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.sessions.append(session)
        if username is not None:
            async with session.post("/api/auth/login", json={
                    "username": username, "password": PASSWORDS[username]}) as response:
                assert response.status == 200, await response.text()
        return session

    async def close(self) -> None:
        for session in self.sessions:
            await session.close()


# ---------------------------------------------------------------------------- browsers

HOST_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>星辰商城</title></head><body><h1>星辰商城</h1>
<script src="{engine}/chat/widget.js" data-lang="zh" data-topic="buy" async></script>
</body></html>"""


async def company_site(engine: str | None = None) -> tuple[web.AppRunner, str, dict]:
    """A web site on its own origin (localhost:<port>) whose page embeds the widget."""
    where = {"engine": engine}

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=HOST_PAGE.format(engine=where["engine"]),
                            content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://localhost:{runner.addresses[0][1]}", where


async def new_page(browser):
    """A fresh browser context and page; confirm() dialogs are accepted, errors kept."""
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    return page


async def login(page, stack, path: str, username: str) -> None:
    """Open a console page of ``stack`` and log in through its form."""
    await page.goto(stack.url(path))
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", PASSWORDS[username])
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")


async def ready_in_browser(page: Any, stack: Any, username: str, device: str = "") -> None:
    """The agent console in ``page``: log in, sign in to ``device`` ("" = chats only), go
    ready."""
    await login(page, stack, "/agent", username)
    await page.select_option("#device", device)
    await page.click("#signin")
    await page.wait_for_selector("#state-badge.st-not_ready")
    await page.click("#go-ready")
    await page.wait_for_selector("#state-badge.st-ready")


async def widget_chat(browser: Any, site: str, **form: str) -> tuple[Any, Any]:
    """A visitor opens ``site``, clicks the chat button and sends the pre-chat form
    (``name``, ``phone``, ``email`` inputs, ``message`` text); (page, the widget's frame)."""
    page = await new_page(browser)
    await page.goto(site + "/")
    await page.click("#cc-chat-widget button.button")
    widget = page.frame_locator("#cc-chat-frame")
    for name, value in form.items():
        tag = "textarea" if name == "message" else "input"
        await widget.locator(f"#prechat {tag}[name={name}]").fill(value)
    await widget.locator("#prechat button[type=submit]").click()
    return page, widget
