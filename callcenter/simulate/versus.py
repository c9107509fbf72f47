"""One workload, two routers: Asterisk's own app_queue, and this engine.

The load harness's pieces (``chaos.write_config``, ``sipp``, ``Engine``, ``sign_in``)
drive the same agents, queues and callers through either:

* ``app_queue``: a private Asterisk from the same templates, with app_queue loaded, a
  generated ``queues.conf`` (the agents as static members: leastrecent, autofill,
  ringinuse=no, wrapuptime=0) and a dialplan that answers each 400 number and puts
  the caller in ``Queue()``; no engine runs;
* ``engine``: ``callcenter run`` with its managed Asterisk (IVR over FastAGI, hold,
  offers over AMI), the agents signed in at the console.

Both are measured the same way (``measure.py``): at the agents' phones (SIPp's
message trace) and from /proc, over a window that starts once the queues are full
and ends before the last caller is placed. No drain: the run stops at the window's end.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from asterisk import local_asterisk
from callcenter import runtime
from callcenter.config import ConfigStore
from callcenter.config.models import Config
from callcenter.simulate import sipp
from callcenter.simulate.chaos import (
    Engine,
    LoadPlan,
    free_port,
    queue_number,
    sign_in,
    write_config,
)
from callcenter.simulate.measure import (
    CpuMeter,
    Dispatch,
    caller_waits,
    descendants,
    dispatch,
    percentile,
    read_trace,
)
from callcenter.voice.endpoints import render_endpoints

SIDES = ("app_queue", "engine")


@dataclass
class SideResult:
    side: str
    plan: LoadPlan
    figures: Dispatch
    asterisk_cpu: float
    engine_cpu: float | None  # None: no engine (app_queue)
    work: Path

    def row(self) -> dict[str, float | None]:
        f = self.figures
        waiting = f.waiting_latencies_ms
        return {"p50": f.percentile(50), "p90": f.percentile(90), "p99": f.percentile(99),
                "w50": percentile(waiting, 50), "w90": percentile(waiting, 90),
                "w99": percentile(waiting, 99), "waiting_dispatches": float(len(waiting)),
                "mean_wait": f.mean_wait_s,
                "dispatches": float(len(f.latencies_ms)), "answered_per_s": f.answered_per_s,
                "asterisk_cpu": self.asterisk_cpu,
                "asterisk_ms_per_call": self.asterisk_ms_per_call,
                "engine_cpu": self.engine_cpu}

    @property
    def asterisk_ms_per_call(self) -> float | None:
        """Asterisk's CPU per call answered (1 % of a core is 10 ms each second): the
        faster router answers more calls in the same window, and each costs Asterisk."""
        answered = self.figures.answered_per_s
        return self.asterisk_cpu * 10.0 / answered if answered > 0 else None


def extension_of(queue: int, agent: int) -> str:
    return f"{3000 + queue * 100 + agent}"  # as chaos.write_config numbers them


def queue_of(plan: LoadPlan) -> Callable[[str], str | None]:
    def which(extension: str) -> str | None:
        if not extension.isdigit():
            return None
        queue, agent = divmod(int(extension) - 3000, 100)
        return f"q{queue + 1}" if 0 <= queue < plan.queues and agent < plan.agents_per_queue \
            else None
    return which


# ---- app_queue's configuration ------------------------------------------------------

def queues_conf(config: Config, plan: LoadPlan) -> str:
    """The same queues as app_queue queues, every agent a static member of its own."""
    prefix = config.callcenter.asterisk.agent_endpoint_prefix
    lines = ["[general]", "persistentmembers = no", "shared_lastcall = no", ""]
    for q in range(plan.queues):
        lines += [f"[q{q + 1}]", "strategy = leastrecent", "autofill = yes",
                  "ringinuse = no", "wrapuptime = 0", "timeout = 15", "retry = 1",
                  "joinempty = yes", "leavewhenempty = no", "announce-frequency = 0",
                  "periodic-announce-frequency = 0", "announce-position = no",
                  "announce-holdtime = no", "musicclass = default"]
        lines += [f"member => PJSIP/{prefix}{extension_of(q, a)}"
                  for a in range(plan.agents_per_queue)]
        lines.append("")
    return "\n".join(lines)


def queue_dialplan(plan: LoadPlan) -> str:
    lines = ["[general]", "static = yes", "writeprotect = yes", "", "[from-pstn]"]
    for q in range(plan.queues):
        lines += [f"exten => {queue_number(q)},1,Answer()", f" same => n,Queue(q{q + 1},,,,3600)",
                  " same => n,Hangup()"]
    lines += ["", "[cc-internal]", "exten => 600,1,Hangup()", ""]
    return "\n".join(lines)


def app_queue_files(config: Config, plan: LoadPlan) -> dict[str, str]:
    modules = (local_asterisk.TEMPLATES / "modules.conf").read_text()
    modules = re.sub(r"^noload => app_queue\.so.*\n", "", modules, flags=re.M)
    prefix = config.callcenter.asterisk.agent_endpoint_prefix
    return {"etc/modules.conf": modules, "etc/queues.conf": queues_conf(config, plan),
            "etc/extensions.conf": queue_dialplan(plan),
            "include/pjsip_agents.conf": render_endpoints(config.agents, prefix)}


def free_media_ports(tries: int = 50) -> int:
    """An even UDP port with the next three free on the loopback addresses SIPp uses
    (agents' RTP from it, callers' from it + 2000): another run on this machine may hold
    any fixed choice."""
    for _ in range(tries):
        base = random.randrange(20000, 30000, 2)
        try:
            for ip, port in [(ip, base + offset + extra) for ip in ("127.0.0.2", "127.0.0.3")
                             for offset in (0, 2000) for extra in range(4)]:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.bind((ip, port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free UDP ports for SIPp's media")


def _caller_dir(work: Path, queue: int) -> Path:
    return work / f"callers-q{queue + 1}"


def place_callers(plan: LoadPlan, endpoint: sipp.SippEndpoint, work: Path,
                  rng: random.Random) -> list[subprocess.Popen]:
    """One SIPp caller stream per queue, each at ``rate / queues`` and at most
    ``agents_per_queue + waiting / queues`` calls at once: every queue keeps its share
    of the waiting callers. (One stream for all queues, each call to a queue drawn at
    random, lets the queues' shares drift: some run dry for seconds while others pile
    up, and a freed agent of a dry queue waits for the next caller to arrive, under
    either router. That is arrivals, not dispatch.)"""
    per_queue = round((plan.waiting or 0) / plan.queues)
    rate = plan.rate / plan.queues
    total = int(rate * plan.arrivals_s)
    budget = plan.arrivals_s + 60
    procs = []
    for q in range(plan.queues):
        folder = _caller_dir(work, q)
        folder.mkdir()
        stream = replace(endpoint, caller_port=free_port(socket.SOCK_DGRAM),
                         media_port=free_media_ports())
        calls = [(queue_number(q), f"1{rng.randrange(10**10):010d}") for _ in range(total)]
        procs.append(sipp.place_calls(stream, folder, calls, rate=rate,
                                      patience_ms=int(budget * 1000), timeout=budget,
                                      limit=plan.agents_per_queue + per_queue,
                                      trace=folder / "callers-messages.log"))
    return procs


def _stop(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
        if proc.poll() is None:
            proc.kill()


def _meters(asterisk_pid: int, engine_pid: int | None) -> tuple[CpuMeter, CpuMeter]:
    """CPU meters for Asterisk, and for the engine with its children but Asterisk."""
    return (CpuMeter(lambda: [asterisk_pid], time.monotonic),
            CpuMeter(lambda: [p for p in descendants(engine_pid) if p != asterisk_pid]
                     if engine_pid else [], time.monotonic))


async def _phones(plan: LoadPlan, endpoint: sipp.SippEndpoint, work: Path,
                  **answer: Any) -> tuple[list[str], subprocess.Popen]:
    """Every agent's phone registered, and one SIPp answering them all (``answer``: its
    options); returns the extensions and that SIPp."""
    extensions = [extension_of(q, a) for q in range(plan.queues)
                  for a in range(plan.agents_per_queue)]
    await asyncio.to_thread(sipp.register_agents, endpoint, work,
                            [(e, f"load-sip-{e}") for e in extensions])
    return extensions, sipp.answer_as_agents(endpoint, work, ring_ms=plan.ring_ms,
                                             talk_ms=plan.talk_ms, **answer)


async def _sign_in(web_port: int, extensions: list[str]) -> None:
    await sign_in(f"http://127.0.0.1:{web_port}",
                  [(f"agent{e}", f"load-pass-{e}", e) for e in extensions])


def _prepare(plan: LoadPlan, work: Path) -> tuple[Path, dict[str, int], str, Config,
                                                  sipp.SippEndpoint]:
    """The run's configuration (folder, ports, AMI secret, loaded) and SIPp's addresses."""
    work.mkdir(parents=True, exist_ok=True)
    config_dir, ports, ami_secret = write_config(plan, work)
    endpoint = sipp.SippEndpoint(asterisk_port=ports["sip"],
                                 caller_port=free_port(socket.SOCK_DGRAM),
                                 agent_port=free_port(socket.SOCK_DGRAM),
                                 media_port=free_media_ports())
    return config_dir, ports, ami_secret, ConfigStore.open(config_dir).config, endpoint


# ---- one side ----------------------------------------------------------------------

async def run_side(side: str, plan: LoadPlan, work: Path, *, warmup_s: float) -> SideResult:
    """Run ``plan`` through ``side``; measure from ``warmup_s`` after the first caller
    to ``plan.arrivals_s``."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {', '.join(SIDES)}")
    if not 0 <= warmup_s < plan.arrivals_s:
        raise ValueError("warmup_s must be shorter than arrivals_s")
    config_dir, ports, ami_secret, config, endpoint = _prepare(plan, work)
    root = local_asterisk.default_root()
    engine: Engine | None = None
    instance = f"appq-{ports['ami']}"
    procs: list[subprocess.Popen] = []
    trace = work / "agents-messages.log"
    try:
        if side == "engine":
            engine = Engine(config_dir, work)
            await engine.start()
            name = runtime.managed_instance_name(config)
        else:
            asterisk = config.callcenter.asterisk
            params = {"AMI_PORT": str(ports["ami"]), "SIP_PORT": str(ports["sip"]),
                      "AGI_PORT": str(ports["agi"]), "RTP_START": str(asterisk.rtp_start),
                      "RTP_END": str(asterisk.rtp_end), "AMI_USER": "callcenter",
                      "AMI_SECRET": ami_secret, "AGI_SECRET": secrets.token_hex(8)}
            name = instance
            await asyncio.to_thread(local_asterisk.start, root, name, params, 60.0,
                                    app_queue_files(config, plan))
        asterisk_pid = local_asterisk.running(root, name)
        if asterisk_pid is None:
            raise RuntimeError(f"{side}: no Asterisk running for {name}")
        extensions, phones = await _phones(plan, endpoint, work, trace=trace)
        procs.append(phones)
        if engine is not None:
            await _sign_in(ports["web"], extensions)
        rng = random.Random(plan.seed)
        asterisk_cpu, engine_cpu = _meters(
            asterisk_pid, engine.proc.pid if engine is not None and engine.proc else None)
        began = time.time()
        callers = place_callers(plan, endpoint, work, rng)
        procs += callers
        await asyncio.sleep(warmup_s)
        window_start = time.time()
        asterisk_cpu.begin()
        engine_cpu.begin()
        await asyncio.sleep(plan.arrivals_s - warmup_s)
        window_end = time.time()
        asterisk_percent, engine_percent = asterisk_cpu.end(), engine_cpu.end()
        for proc in callers:
            if proc.poll() is not None:
                raise RuntimeError(f"{side}: a callers' SIPp ended early "
                                   f"(exit {proc.returncode}, {time.time() - began:.0f}s in)")
    finally:
        for proc in reversed(procs):
            _stop(proc, grace=5)
        if engine is not None:
            await asyncio.to_thread(engine.stop)
        else:
            await asyncio.to_thread(local_asterisk.stop, root, instance)
    agents = read_trace(trace)
    numbers = {queue_number(q): f"q{q + 1}" for q in range(plan.queues)}
    caller_events = sorted((e for q in range(plan.queues)
                            for e in read_trace(_caller_dir(work, q) / "callers-messages.log")),
                           key=lambda e: e.at)
    waits = caller_waits(caller_events, agents, numbers.get)
    figures = dispatch(agents, queue_of(plan), (window_start, window_end), waits)
    return SideResult(side, plan, figures, asterisk_percent,
                      engine_percent if engine is not None else None, work)


# ---- the most concurrent calls -----------------------------------------------------

@dataclass
class HoldResult:
    """One level of the concurrency run: ``calls`` callers placed at once, talking."""

    calls: int
    bridged_min: int  # fewest caller-agent bridges seen over the hold
    talking: int  # channels whose received audio kept growing over the hold
    lost_pct: float  # RTP packets Asterisk reported lost, of those it expected
    asterisk_cpu: float
    engine_cpu: float
    why_not: str | None  # None: all held for the whole hold

    @property
    def held(self) -> bool:
        return self.why_not is None


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s")


def bridged_calls(bridges: str) -> int:
    """Bridges of two channels or more in ``bridge show all`` (columns: id, name, chans,
    type, technology, duration): calls put through."""
    rows = (line.split() for line in bridges.splitlines() if _UUID.match(line))
    return sum(1 for f in rows if len(f) >= 6 and f[-4].isdigit() and int(f[-4]) >= 2)


def _count(text: str) -> int:
    """``1400``, ``326K``: Asterisk shortens large counts."""
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)


def received_audio(channelstats: str) -> dict[str, tuple[int, int]]:
    """``pjsip show channelstats``: each channel's (packets received, lost), by channel
    (columns: bridge, channel, up time, codec, then received count, lost, ...)."""
    found: dict[str, tuple[int, int]] = {}
    for line in channelstats.splitlines():
        fields = line.split()
        if len(fields) >= 6 and re.fullmatch(r"\d\d:\d\d:\d\d", fields[2]):
            try:
                found[fields[1]] = (_count(fields[4]), max(0, _count(fields[5])))
            except ValueError:
                continue
    return found


async def run_concurrency(levels: list[int], work: Path, *, hold_s: float = 60.0,
                          rate: float = 20.0) -> list[HoldResult]:
    """Talking calls through the engine, ``levels`` at a time, each level held for
    ``hold_s``: how many stay bridged with audio both ways (callers speak, agents' phones
    echo it). Stops at the first level that does not hold."""
    queues = 10
    plan = LoadPlan(queues=queues, agents_per_queue=math.ceil(max(levels) / queues),
                    ring_ms=200, talk_ms=24 * 3600 * 1000, rtp_ports=4 * max(levels) + 400)
    config_dir, ports, _, config, endpoint = _prepare(plan, work)
    root = local_asterisk.default_root()
    engine = Engine(config_dir, work)
    agents: subprocess.Popen | None = None
    results: list[HoldResult] = []
    try:
        await engine.start()
        name = runtime.managed_instance_name(config)
        asterisk_pid = local_asterisk.running(root, name)
        if asterisk_pid is None or engine.proc is None:
            raise RuntimeError(f"no Asterisk running for {name}")
        engine_pid = engine.proc.pid

        def cli(command: str) -> str:
            return local_asterisk.cli(root, name, command)

        extensions, agents = await _phones(plan, endpoint, work, codec=sipp.PCMA, echo=True)
        await _sign_in(ports["web"], extensions)
        for level in sorted(levels):
            folder = work / f"level-{level}"
            folder.mkdir()
            result = await _hold(level, plan.queues, folder, endpoint, cli, rate=rate,
                                 hold_s=hold_s, meters=_meters(asterisk_pid, engine_pid))
            results.append(result)
            if not result.held:
                break
    finally:
        if agents is not None:
            _stop(agents, grace=5)
        await asyncio.to_thread(engine.stop)
    return results


async def _hold(level: int, queues: int, folder: Path, endpoint: sipp.SippEndpoint,
                cli: Callable[[str], str], *, rate: float, hold_s: float,
                meters: tuple[CpuMeter, CpuMeter]) -> HoldResult:
    ramp_s = level / rate
    rounds = math.ceil((ramp_s + 30 + hold_s) / 7)  # 7 s of speech a round
    calls = [(queue_number(i % queues), f"1{3800000000 + i:010d}") for i in range(level)]
    callers = sipp.place_talking_calls(endpoint, folder, calls, rate=rate, rounds=rounds,
                                       timeout=rounds * 7 + 60)
    asterisk_cpu, engine_cpu = meters
    try:
        deadline = time.monotonic() + ramp_s + 30
        bridged = 0
        while time.monotonic() < deadline:  # every call put through, or time is up
            await asyncio.sleep(1)
            bridged = bridged_calls(await asyncio.to_thread(cli, "bridge show all"))
            if bridged >= level:
                break
        before = received_audio(await asyncio.to_thread(cli, "pjsip show channelstats"))
        asterisk_cpu.begin()
        engine_cpu.begin()
        fewest = bridged
        end = time.monotonic() + hold_s
        while time.monotonic() < end:
            await asyncio.sleep(min(5.0, max(0.0, end - time.monotonic())))
            fewest = min(fewest, bridged_calls(await asyncio.to_thread(cli, "bridge show all")))
        stats = await asyncio.to_thread(cli, "pjsip show channelstats")
        (folder / "channelstats.txt").write_text(stats)  # what Asterisk said, for the record
        after = received_audio(stats)
        cpu = asterisk_cpu.end(), engine_cpu.end()
    finally:
        # SIPp stopped sends no BYE: Asterisk ends the level's calls (both legs) itself.
        await asyncio.to_thread(cli, "channel request hangup all")
        await _until_idle(cli)
        _stop(callers, grace=10)
    talking = sum(1 for channel, (count, _) in after.items()
                  if count > before.get(channel, (0, 0))[0])
    # Loss on the agents' legs: the audio there is Asterisk's own stream echoed back. The
    # callers' recording starts its RTP sequence again every round, which Asterisk counts
    # as a loss on their legs.
    echoed = [stats for channel, stats in after.items() if not channel.startswith("carrier")]
    received = sum(count for count, _ in echoed)
    lost = sum(lost for _, lost in echoed)
    lost_pct = 100.0 * lost / (received + lost) if received + lost else 0.0
    why_not = None
    if fewest < level:
        why_not = f"only {fewest} of {level} calls bridged"
    elif talking < 2 * level:
        why_not = f"audio flowed on {talking} of {2 * level} channels"
    elif lost_pct > 1.0:
        why_not = f"{lost_pct:.1f} % of the audio lost"
    return HoldResult(level, fewest, talking, lost_pct, cpu[0], cpu[1], why_not)


async def _until_idle(cli: Callable[[str], str], timeout: float = 120.0) -> None:
    """Wait until Asterisk carries no call (the last level's calls are all torn down)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = await asyncio.to_thread(cli, "core show channels count")
        found = re.search(r"(\d+) active call", out)
        if found is None or int(found.group(1)) == 0:
            return
        await asyncio.sleep(2)
