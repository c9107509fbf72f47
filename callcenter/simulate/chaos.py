"""Load and faults on loopback: SIPp callers and agents against a real engine and Asterisk.

One run: a configuration of ``queues`` x ``agents_per_queue`` (each 400 number
goes straight to its queue), ``callcenter run`` as a process with its managed
Asterisk, agents' phones registered and answered by SIPp, agents signed in at
the console over REST, callers placed by SIPp at ``rate`` for ``arrivals_s``,
one fault in the middle, and an ``AmiObserver`` (independent of the engine)
counting what happened to every caller. Faults:

* ``baseline``          none;
* ``engine_kill``       SIGKILL the engine, start it again ``outage_s`` later;
* ``ami_cut``           reset the engine's AMI connection (``ss -K``);
* ``asterisk_restart``  ``core restart now``: calls in Asterisk end with it.

Traffic goes to loopback addresses only, and every step is bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from ruamel.yaml import YAML

from asterisk import local_asterisk
from callcenter import runtime
from callcenter.config import ConfigStore
from callcenter.simulate import sipp
from callcenter.simulate.observer import AmiObserver, Caller, Tally

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
FAULTS = ("baseline", "engine_kill", "ami_cut", "asterisk_restart")


@dataclass
class LoadPlan:
    queues: int = 2
    agents_per_queue: int = 10
    rate: float = 4.0  # calls per second
    arrivals_s: float = 24.0  # callers keep arriving this long (rate x this = calls)
    waiting: int | None = None  # keep about this many callers waiting (SIPp's call limit)
    talk_ms: int = 5000
    ring_ms: int = 150
    fault: str = "baseline"
    fault_at_s: float = 9.0  # after the first caller
    outage_s: float = 5.0  # engine_kill: how long the engine stays dead
    drain_s: float = 60.0  # after the last arrival, at most this long for calls to end
    seed: int = 7
    ami_tape: Path | None = None  # record the engine's AMI event stream here (bench/ami.py)
    rtp_ports: int = 2000  # Asterisk's RTP port range: two ports per call leg

    @property
    def agents(self) -> int:
        return self.queues * self.agents_per_queue


@dataclass
class RunResult:
    plan: LoadPlan
    tally: Tally
    engine_log: str
    leaked_channels: list[str] = field(default_factory=list)
    callers: list[Caller] = field(default_factory=list)
    engine_log_path: Path | None = None

    def log_about(self, words: Iterable[str], limit: int = 60) -> str:
        """The engine's log lines that name any of ``words`` (a caller's task), with the
        AMI link's own: what the engine did for the callers a check picked out."""
        if self.engine_log_path is None or not self.engine_log_path.exists():
            return ""
        keys = [w for w in words if w] + ["callcenter.ami.link", "voice.reconciled"]
        lines = [line for line in self.engine_log_path.read_text(errors="replace").splitlines()
                 if any(key in line for key in keys)]
        return "\n".join(lines[:limit])

    def line(self) -> str:
        t = self.tally
        resume = "-" if t.resume_s is None else f"{t.resume_s:.2f}"
        return (f"{self.plan.fault:17} callers={t.callers} served={t.served} "
                f"dropped={t.dropped} served_twice={t.served_twice} leaked={t.leaked} "
                f"order_violations={t.order_violations} waiting={t.still_waiting} "
                f"lost_with_asterisk={t.lost_with_asterisk} outage_callers={t.outage_callers} "
                f"outage_served={t.outage_served} resume_s={resume} "
                f"agents_after_resume={t.agents_after_resume}")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def queue_number(index: int) -> str:
    return f"40080000{index + 1:02d}"


def write_config(plan: LoadPlan, work: Path) -> tuple[Path, dict[str, int], str]:
    """The sample configuration turned into ``plan``'s queues, agents and numbers; its
    folder, ports and AMI secret (the observer logs in with it too)."""
    directory = work / "config"
    shutil.copytree(REPO / "config", directory)
    ports = {"ami": free_port(), "sip": free_port(socket.SOCK_DGRAM), "agi": free_port(),
             "web": free_port()}
    rtp = 40000 + (os.getpid() % 10) * 2000  # two RTP sessions (caller, agent) per call
    rtp = min(rtp, 65535 - plan.rtp_ports)
    yaml = YAML(typ="safe", pure=True)
    names = [f"q{i + 1}" for i in range(plan.queues)]

    def save(name: str, data: dict) -> None:
        with (directory / name).open("w") as out:
            yaml.dump(data, out)

    cc = yaml.load((directory / "callcenter.yaml").read_text())
    ami_secret = secrets.token_hex(16)
    cc["ami"].update(port=ports["ami"], secret=ami_secret, ping_interval_seconds=1,
                     reconnect_max_delay_seconds=1)
    cc["asterisk"].update(managed=True, sip_port=ports["sip"], agi_port=ports["agi"],
                          rtp_start=rtp, rtp_end=rtp + plan.rtp_ports - 1,
                          inbound_numbers=[queue_number(i) for i in range(plan.queues)])
    cc["web"].update(port=ports["web"], public_origin=f"http://127.0.0.1:{ports['web']}",
                     login_failures_allowed=1000)
    cc["storage"] = {"path": str(work / "var" / "cc.sqlite3")}
    cc["recordings"].update(directory=str(work / "var" / "recordings"))
    cc.pop("chat", None)  # voice only: the sample's chat topics name its queues
    save("callcenter.yaml", cc)
    quality = yaml.load((directory / "quality.yaml").read_text())
    quality["queues"] = {}  # the sample's per-queue rules name its queues
    save("quality.yaml", quality)
    queue = {"channels": ["voice"], "strategy": "longest_idle", "max_wait_seconds": 3600,
             "wrapup_seconds": 0, "offer_timeout_seconds": 10,
             "missed_offers_before_not_ready": 3, "preferred_agent_seconds": 0,
             "announce": {"position": False, "expected_wait": False, "interval_seconds": 30},
             "recording": {"enabled": False, "split_legs": False},
             "callback": {"enabled": False}}
    save("queues.yaml", {"queues": {
        q: {**queue, "name": {"zh": q, "en": q}, "skills": {q: 10}} for q in names}})
    agents = []
    for i, q in enumerate(names):
        for j in range(plan.agents_per_queue):
            extension = f"{3000 + i * 100 + j}"
            agents.append({"id": f"agent{extension}", "name": f"Agent {extension}",
                           "extension": extension, "sip_password": f"load-sip-{extension}",
                           "password": f"load-pass-{extension}", "skills": {q: 50},
                           "queues": [q], "capacity": {"voice": 1, "chat": 0},
                           "languages": ["zh"]})
    agents.append({"id": "admin", "name": "Admin", "role": "admin", "queues": [],
                   "capacity": {"voice": 0, "chat": 0}, "password": "load-admin"})
    save("agents.yaml", {"agents": agents})
    nodes = {f"to_{q}": {"type": "queue", "queue": q, "label": {"zh": q, "en": q}}
             for q in names}
    save("ivr.yaml", {"languages": ["zh"], "language_default": "zh", "entry": f"to_{names[0]}",
                      "numbers": {queue_number(i): {"entry": f"to_{q}"}
                                  for i, q in enumerate(names)},
                      "nodes": nodes})
    return directory, ports, ami_secret


class Engine:
    """``callcenter run`` as a child process, its output kept in a file."""

    def __init__(self, config: Path, work: Path) -> None:
        self.config = config
        self.log_path = work / "engine.log"
        self.proc: subprocess.Popen | None = None

    async def start(self, timeout: float = 90.0) -> None:
        out = self.log_path.open("a")
        self.proc = subprocess.Popen([sys.executable, "-m", "callcenter.cli", "run", "--demo",
                                      "--config", str(self.config)], stdout=out,
                                     stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
        out.close()
        deadline = time.monotonic() + timeout
        while "callcenter running" not in self.log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the engine did not start:\n{self.tail()}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """``callcenter stop``: the engine (if any) and its managed Asterisk."""
        subprocess.run([sys.executable, "-m", "callcenter.cli", "stop", "--config",
                        str(self.config)], cwd=REPO, capture_output=True, timeout=120)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    def tail(self, size: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-size:]


async def sign_in(url: str, agents: list[tuple[str, str, str]]) -> None:
    """Each agent logs in to the console and to their phone, ready, as a person would."""
    async def one(agent_id: str, password: str, extension: str) -> None:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            headers = {"Origin": url}
            async with session.post(f"{url}/api/auth/login", headers=headers,
                                    json={"username": agent_id, "password": password}) as r:
                if r.status != 200:
                    raise RuntimeError(f"{agent_id}: console login {r.status}")
            async with session.post(f"{url}/api/agent/login", headers=headers,
                                    json={"device": extension, "ready": True}) as r:
                if r.status != 200:
                    raise RuntimeError(f"{agent_id}: phone login {r.status} {await r.text()}")

    await asyncio.gather(*(one(*agent) for agent in agents))


def _cut_ami(engine_pid: int, ami_port: int) -> None:
    """Reset the engine's AMI TCP connection (both ends), as a network failure would."""
    listing = subprocess.run(["ss", "-tnpH", "state", "established"], capture_output=True,
                             text=True, check=True).stdout
    for line in listing.splitlines():
        if f"pid={engine_pid}," not in line or f":{ami_port} " not in line + " ":
            continue
        local = re.findall(r"127\.0\.0\.1:(\d+)", line)
        if local and local[0] != str(ami_port):
            subprocess.run(["ss", "-K", "sport", "=", f":{local[0]}"], capture_output=True)
            subprocess.run(["ss", "-K", "dport", "=", f":{local[0]}"], capture_output=True)


async def run(plan: LoadPlan, work: Path) -> RunResult:
    if plan.fault not in FAULTS:
        raise ValueError(f"fault must be one of {', '.join(FAULTS)}")
    work.mkdir(parents=True, exist_ok=True)
    config, ports, ami_secret = write_config(plan, work)
    engine = Engine(config, work)
    endpoint = sipp.SippEndpoint(asterisk_port=ports["sip"],
                                 caller_port=free_port(socket.SOCK_DGRAM),
                                 agent_port=free_port(socket.SOCK_DGRAM),
                                 media_port=20000 + (os.getpid() % 20) * 200)
    observer = AmiObserver(host="127.0.0.1", port=ports["ami"], username="callcenter",
                           secret=ami_secret, tape=plan.ami_tape)
    agents_proc = callers = None
    rng = random.Random(plan.seed)
    outage: tuple[float, float] | None = None
    resumed_at: float | None = None
    try:
        await engine.start()
        await observer.start()
        extensions = [f"{3000 + i * 100 + j}" for i in range(plan.queues)
                      for j in range(plan.agents_per_queue)]
        await asyncio.to_thread(sipp.register_agents, endpoint, work,
                                [(e, f"load-sip-{e}") for e in extensions])
        agents_proc = sipp.answer_as_agents(endpoint, work, ring_ms=plan.ring_ms,
                                            talk_ms=plan.talk_ms)
        await sign_in(f"http://127.0.0.1:{ports['web']}",
                      [(f"agent{e}", f"load-pass-{e}", e) for e in extensions])
        total = int(plan.rate * plan.arrivals_s)
        calls = [(queue_number(rng.randrange(plan.queues)), f"1{rng.randrange(10**10):010d}")
                 for _ in range(total)]
        budget = plan.arrivals_s + plan.drain_s + plan.outage_s + plan.talk_ms / 1000 + 30
        limit = plan.agents + plan.waiting if plan.waiting else None
        callers = sipp.place_calls(endpoint, work, calls, rate=plan.rate,
                                   patience_ms=int(budget * 1000), timeout=budget, limit=limit)
        await asyncio.sleep(plan.fault_at_s)
        outage, resumed_at = await _inject(plan, engine, observer, ports)
        deadline = time.monotonic() + budget
        while callers.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await _settle(observer)
        leaked = await observer.live_channels()
        tally = observer.tally(leaked=len(leaked), outage=outage, resumed_at=resumed_at)
        return RunResult(plan, tally, engine.tail(), leaked, list(observer.callers.values()),
                         engine.log_path)
    finally:
        for proc in (callers, agents_proc):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
                if proc.poll() is None:
                    proc.kill()
        await observer.close()
        await asyncio.to_thread(engine.stop)


async def _inject(plan: LoadPlan, engine: Engine, observer: AmiObserver,
                  ports: dict[str, int]) -> tuple[tuple[float, float] | None, float | None]:
    """Carry out the plan's fault; the outage window and when service should resume."""
    began = time.time()
    if plan.fault == "engine_kill":
        engine.kill()
        await asyncio.sleep(plan.outage_s)
        back = time.time()
        await engine.start()
        return (began, back), back
    if plan.fault == "ami_cut":
        assert engine.proc is not None
        await asyncio.to_thread(_cut_ami, engine.proc.pid, ports["ami"])
        return (began, began + 1.0), began
    if plan.fault == "asterisk_restart":
        reconnects = len(observer.reconnected_at)
        # The CLI, as an operator would: the engine's AMI user may not run commands.
        name = runtime.managed_instance_name(ConfigStore.open(engine.config).config)
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(local_asterisk.cli, local_asterisk.default_root(), name,
                                    "core restart now", 10.0)
        async with asyncio.timeout(60):
            while len(observer.reconnected_at) == reconnects:
                await asyncio.sleep(0.1)
        observer.restarted_since(began)
        back = observer.reconnected_at[-1]
        return (began, back), back
    return None, None


async def _settle(observer: AmiObserver, timeout: float = 15.0) -> None:
    """Wait until no caller is left in Asterisk (or the time is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(c.ended is None
                                              for c in observer.callers.values()):
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # agents' legs and bridges go away just after
