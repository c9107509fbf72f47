"""Chat at scale: 10,000 widget sessions against one engine, 1,000 messages/s visitor->agent.

Run: ``.venv/bin/python -m bench.chat`` (about 3 minutes; ``--sessions 2000`` for a quick look).

Two servers, each in a process of its own, measured by the same client code in this
process one after the other:

* the baseline: a bare aiohttp WebSocket echo server;
* the engine (``callcenter.app.App`` without Asterisk): 50 agents signed in with their
  console sockets (``/api/ws``), each taking up to 20 chats; ``--sessions`` visitors
  start a chat through the pre-chat API and keep the widget's socket open (the ones no
  agent has room for wait in the queue, as they would).

For each: memory per session (the server's RSS growth over the idle process, divided by
the sessions), then latency at ``--rate`` messages per second for ``--seconds`` (echo:
round trip; engine: a visitor's message until the agent's console socket has it, stored
in SQLite on the way), then throughput with as many messages in flight as ``--window``
allows. Both servers freeze their long-lived objects after start-up and once the
sessions are open (``gc.freeze``), so collector pauses do not dominate the tail: the
engine through its own ``HeapKeeper`` (``callcenter/heap.py``, as ``callcenter run``
does: a round after start-up and every few minutes, here asked for once the sessions
are open), which also sets the 0.2 ms GIL switch interval (``--switch-interval``).

The last line: ``chat: sessions=... kib_per_session=... p99_ms=... vs_echo=...``
(``vs_echo``: the engine's relay throughput over the echo server's, same run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

AGENT_PASSWORD = "bench-agent-pass"


# ---------------------------------------------------------------------------- servers


def _freeze_on_signal(round_: Callable[[], object] | None = None) -> None:
    """SIGUSR1: collect, then freeze what is alive (the sessions just opened); ``round_``:
    the engine's HeapKeeper does it."""

    def freeze() -> None:
        if round_ is not None:
            round_()
        else:
            gc.collect()
            gc.freeze()
        print("frozen", flush=True)

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, freeze)


async def serve_echo(port: int) -> None:
    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/ws", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    gc.collect()
    gc.freeze()
    _freeze_on_signal()
    print("ready", flush=True)
    await asyncio.Event().wait()


async def serve_engine(config_dir: Path, switch_interval: float) -> None:
    # As `callcenter run` does: the engine's HeapKeeper (callcenter/heap.py) freezes what
    # is alive after start-up and every few minutes, and sets the GIL switch interval
    # (every store write goes to aiosqlite's thread; with Python's default 5 ms the event
    # loop waited that long for the GIL back: relay p50 ~28 ms against ~10 ms here).
    # SIGUSR1 asks it for its round now, once the sessions are open.
    from argon2 import PasswordHasher

    from callcenter.app import App
    from callcenter.config import ConfigStore
    from callcenter.heap import HeapKeeper

    app = App(ConfigStore.open(config_dir, env={}), asterisk=False,
              settings={"password_hasher": PasswordHasher(time_cost=1, memory_cost=8,
                                                          parallelism=1)})
    await app.start()
    for agent in app.config.agents:
        await app.store.set_password(agent.id, AGENT_PASSWORD, revoke_sessions=False)
    keeper = HeapKeeper(switch_interval=switch_interval)
    keeper.start()
    _freeze_on_signal(keeper.round)
    print("ready", flush=True)
    await asyncio.Event().wait()


# ---------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def spawn(*args: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=REPO)
    wait_line(proc, "ready", 120)
    return proc


def wait_line(proc: subprocess.Popen, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if text in line:
            return
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("server did not start:\n" + "".join(seen)[-3000:])


async def freeze(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGUSR1)
    await asyncio.to_thread(wait_line, proc, "frozen", 60)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def gather_limited(count: int, make: Callable[[int], Awaitable[Any]],
                         limit: int = 200) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with gate:
            return await make(i)

    return await asyncio.gather(*(one(i) for i in range(count)))


async def paced(rate: float, seconds: float, send: Callable[[int], Awaitable[None]]) -> int:
    """Call ``send(i)`` ``rate`` times a second for ``seconds`` (in small bursts)."""
    start = time.perf_counter()
    sent = 0
    total = int(rate * seconds)
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        while sent < due:
            await send(sent)
            sent += 1
        await asyncio.sleep(0.002)
    return sent


async def saturate(seconds: float, window: int, send: Callable[[int], Awaitable[None]],
                   done: Callable[[], int]) -> float:
    """Keep ``window`` messages in flight for ``seconds``; completions per second."""
    start = time.perf_counter()
    first = done()
    sent = 0
    while time.perf_counter() - start < seconds:
        while sent - (done() - first) < window:
            await send(sent)
            sent += 1
        await asyncio.sleep(0.0005)
    return (done() - first) / (time.perf_counter() - start)


async def measure(proc: subprocess.Popen, args: argparse.Namespace,
                  send: Callable[[int], Awaitable[None]], latencies: list[float],
                  received: list[int]) -> dict[str, float]:
    """Latency at the paced rate (with the server's CPU per message), then throughput."""
    cpu = cpu_seconds(proc.pid)
    sent = await paced(args.rate, args.seconds, send)
    await asyncio.sleep(1.0)
    cpu_us = (cpu_seconds(proc.pid) - cpu) / sent * 1e6
    measured = list(latencies)
    latencies.clear()
    throughput = await saturate(args.burst, args.window, send, lambda: received[0])
    return {"p50": percentile(measured, 0.5) * 1000, "p99": percentile(measured, 0.99) * 1000,
            "count": len(measured), "cpu_us": cpu_us, "throughput": throughput}


# ---------------------------------------------------------------------------- echo


async def echo_run(args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    proc = await asyncio.to_thread(spawn, "--serve-echo", str(port))
    connector = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=connector)
    latencies: list[float] = []
    received = [0]
    try:
        base = rss_kib(proc.pid)

        async def connect(_i: int) -> aiohttp.ClientWebSocketResponse:
            return await http.ws_connect(f"http://127.0.0.1:{port}/ws", autoping=True)

        sockets = await gather_limited(args.sessions, connect)
        await freeze(proc)
        per_session = (rss_kib(proc.pid) - base) / args.sessions

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                latencies.append(time.perf_counter() - float(msg.data))
                received[0] += 1

        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        step = max(1, len(sockets) // max(1, int(args.rate)))

        async def send(i: int) -> None:
            await sockets[(i * step) % len(sockets)].send_str(repr(time.perf_counter()))

        figures = await measure(proc, args, send, latencies, received)
        for ws in sockets:
            await ws.close()
        for task in readers:
            task.cancel()
        return {"kib": per_session, **figures}
    finally:
        await http.close()
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------------------- engine


def bench_config(directory: Path, port: int, agents: int) -> None:
    from ruamel.yaml import YAML

    shutil.copytree(REPO / "config", directory)
    yaml = YAML(typ="safe", pure=True)

    def edit(name: str, change: Callable[[dict], None]) -> None:
        path = directory / name
        data = yaml.load(path.read_text(encoding="utf-8"))
        change(data)
        with path.open("w", encoding="utf-8") as out:
            yaml.dump(data, out)

    def callcenter(data: dict) -> None:
        data["web"].update(port=port, public_origin=f"http://127.0.0.1:{port}")
        data["storage"] = {"path": str(directory.parent / "bench.sqlite3")}
        data["logging"] = {"level": "WARNING"}
        data["chat"]["web"]["limits"].update(messages_per_minute=6000,
                                             conversations_per_hour=1_000_000)

    def queues(data: dict) -> None:
        sales = data["queues"]["sales"]
        for key in ("business_hours", "escalation", "blend"):
            sales.pop(key, None)
        sales.update(max_wait_seconds=0, offer_timeout_seconds=600, wrapup_seconds=0,
                     preferred_agent_seconds=0, require_disposition=False)

    def people(data: dict) -> None:
        data["agents"] = [{"id": f"bench{i:03d}", "name": f"Bench {i}", "role": "agent",
                           "skills": {"sales": 50}, "capacity": {"voice": 0, "chat": 20},
                           "queues": ["sales"], "team": "east",
                           "password": AGENT_PASSWORD} for i in range(agents)]
        data["agents"].append({"id": "admin", "name": "Admin", "role": "admin",
                               "capacity": {"voice": 0, "chat": 0}, "queues": [],
                               "password": AGENT_PASSWORD})

    edit("callcenter.yaml", callcenter)
    edit("queues.yaml", queues)
    edit("agents.yaml", people)


class Agent:
    def __init__(self, http: aiohttp.ClientSession, base: str, agent_id: str,
                 latencies: list[float], received: list[int], active: set[str]) -> None:
        self.http = http
        self.base = base
        self.agent_id = agent_id
        self.latencies = latencies
        self.received = received
        self.active = active
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.task: asyncio.Task[None] | None = None
        self.accepting: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        headers = {"Origin": self.base}
        async with self.http.post(f"{self.base}/api/auth/login", headers=headers, json={
                "username": self.agent_id, "password": AGENT_PASSWORD}) as response:
            assert response.status == 200, await response.text()
        self.ws = await self.http.ws_connect(f"{self.base}/api/ws", headers=headers)
        self.task = asyncio.create_task(self.read())
        async with self.http.post(f"{self.base}/api/agent/login", headers=headers,
                                  json={"device": None, "ready": True}) as response:
            assert response.status == 200, await response.text()

    async def read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            event = json.loads(msg.data)
            topic = event.get("topic")
            if topic == "chat.message":
                body = event["data"]["message"]["body"]
                if body.startswith("t="):
                    self.latencies.append(time.perf_counter() - float(body[2:]))
                    self.received[0] += 1
            elif topic == "agent.offer" and event["data"]["channel"] == "chat":
                task = asyncio.create_task(self.accept(event["data"]["offer_id"]))
                self.accepting.add(task)
                task.add_done_callback(self.accepting.discard)
            elif topic == "chat.conversation":
                conversation = event["data"]["conversation"]
                if conversation["status"] == "active":
                    self.active.add(conversation["id"])

    async def accept(self, offer_id: str) -> None:
        async with self.http.post(f"{self.base}/api/agent/offers/{offer_id}/accept",
                                  headers={"Origin": self.base}) as response:
            await response.read()


async def engine_run(args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    bench_config(work / "config", port, args.agents)
    proc = await asyncio.to_thread(spawn, "--serve-engine", str(work / "config"),
                                   "--switch-interval", str(args.switch_interval))
    base = f"http://127.0.0.1:{port}"
    connector = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=connector)
    latencies: list[float] = []
    received = [0]
    active: set[str] = set()
    try:
        agents = []
        for i in range(args.agents):
            agent = Agent(aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)),
                          base, f"bench{i:03d}", latencies, received,
                          active)
            await agent.start()
            agents.append(agent)
        idle = rss_kib(proc.pid)
        started = time.perf_counter()
        readers: list[asyncio.Task[None]] = []

        async def visitor(i: int) -> tuple[str, aiohttp.ClientWebSocketResponse]:
            async with http.post(f"{base}/api/widget/conversations", headers={
                    "Origin": base}, json={"topic": "buy", "name": f"v{i}",
                                           "language": "zh"}) as response:
                data = await response.json()
                assert response.status == 201, data
            ws = await http.ws_connect(f"{base}/api/widget/ws", headers={"Origin": base})
            await ws.send_json({"t": "auth", "conversation": data["conversation_id"],
                                "token": data["token"], "since": 0})
            hello = await ws.receive_json()
            assert hello["t"] == "hello", hello
            readers.append(asyncio.create_task(_drain(ws)))  # answers the server's pings
            return data["conversation_id"], ws

        sessions = await gather_limited(args.sessions, visitor, limit=50)
        opened = time.perf_counter() - started
        expected = min(args.sessions, args.agents * 20)
        deadline = time.monotonic() + 120
        while len(active) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        await freeze(proc)
        per_session = (rss_kib(proc.pid) - idle) / args.sessions

        talking = [ws for conversation, ws in sessions if conversation in active]

        async def send(i: int) -> None:
            ws = talking[i % len(talking)]
            await ws.send_json({"t": "msg", "id": uuid.uuid4().hex[:16],
                                "text": f"t={time.perf_counter()!r}"})

        figures = await measure(proc, args, send, latencies, received)
        rss_end = rss_kib(proc.pid)
        for task in readers:
            task.cancel()
        for _, ws in sessions:
            await ws.close()
        for agent in agents:
            if agent.task:
                agent.task.cancel()
            await agent.http.close()
        return {"kib": per_session, **figures, "talking": len(talking), "open_s": opened,
                "rss_mib": rss_end / 1024}
    finally:
        await http.close()
        proc.kill()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    with contextlib.suppress(Exception):
        async for _msg in ws:
            pass


# ---------------------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> None:
    gc.freeze()
    echo = await echo_run(args)
    print(f"echo:   {args.sessions} sockets, {echo['kib']:.1f} KiB each; at {args.rate:.0f}/s "
          f"p50 {echo['p50']:.2f} ms p99 {echo['p99']:.2f} ms ({echo['count']} round trips, "
          f"{echo['cpu_us']:.0f} us of server CPU each); throughput {echo['throughput']:.0f}/s",
          flush=True)
    engine = await engine_run(args)
    print(f"engine (GIL switch interval {args.switch_interval * 1000:g} ms): "
          f"{args.sessions} widget sessions opened in {engine['open_s']:.0f} s, "
          f"{engine['kib']:.1f} KiB each (RSS {engine['rss_mib']:.0f} MiB); "
          f"{engine['talking']} with an agent; at {args.rate:.0f}/s visitor->agent "
          f"p50 {engine['p50']:.2f} ms p99 {engine['p99']:.2f} ms ({engine['count']} "
          f"messages, {engine['cpu_us']:.0f} us of engine CPU each); throughput "
          f"{engine['throughput']:.0f}/s", flush=True)
    print(f"chat: sessions={args.sessions} kib_per_session={engine['kib']:.1f} "
          f"p99_ms={engine['p99']:.2f} vs_echo={engine['throughput'] / echo['throughput']:.3f}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="of paced messages")
    parser.add_argument("--burst", type=float, default=5.0, help="seconds of throughput")
    parser.add_argument("--window", type=int, default=200, help="messages in flight")
    parser.add_argument("--agents", type=int, default=50, help="each takes 20 chats")
    parser.add_argument("--switch-interval", type=float, default=0.0002,
                        help="the engine's GIL switch interval, s (Python's default: 0.005)")
    parser.add_argument("--serve-echo", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-engine", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    options = parse()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if options.serve_echo:
        asyncio.run(serve_echo(options.serve_echo))
    elif options.serve_engine:
        asyncio.run(serve_engine(options.serve_engine, options.switch_interval))
    else:
        asyncio.run(main(options))
