"""SIPp (Debian's ``sip-tester``) as callers and agents' phones, on loopback only.

* callers come from the carrier address (127.0.0.2, matched to the trunk by
  ``type=identify``) and dial 400 numbers from an injection file;
* agents' phones register from one address and port (``register.xml``, one
  registration per agent, with digest authentication), then one SIPp on that
  same address and port answers every agent's calls (``agent.xml``).

Scenario templates live beside this file; ``@NAME@`` placeholders are filled in
when a run starts (SIPp reads numbers, not keywords, in timeouts).
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent / "sipp"


class SippError(RuntimeError):
    """SIPp is missing or a run failed; the message says which and why."""


def _loopback(address: str) -> str:
    if not ipaddress.ip_address(address).is_loopback:
        raise SippError(f"{address} is not a loopback address: load stays on this machine")
    return address


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise SippError("sipp is not installed (Debian: apt-get install sip-tester)")
    return path


@dataclass(frozen=True)
class Codec:
    payload: int
    rtpmap: str


PCMU = Codec(0, "PCMU/8000")
PCMA = Codec(8, "PCMA/8000")
# SIPp's own recording of speech, G.711 A-law, 7 s (Debian's sip-tester ships it).
SPEECH_PCAP = Path("/usr/share/sip-tester/g711a.pcap")


def render(name: str, out: Path, **values: int | str) -> Path:
    text = (SCENARIOS / f"{name}.xml").read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    target = out / f"{name}.xml"
    target.write_text(text)
    return target


def injection(out: Path, name: str, rows: list[tuple[str, ...]]) -> Path:
    path = out / f"{name}.csv"
    path.write_text("SEQUENTIAL\n" + "".join(";".join(row) + ";\n" for row in rows))
    return path


@dataclass
class SippEndpoint:
    """Where Asterisk's SIP listens, and the loopback addresses our SIPps use."""

    asterisk_port: int
    caller_ip: str = "127.0.0.2"
    caller_port: int = 5070
    agent_ip: str = "127.0.0.3"
    agent_port: int = 5090
    media_port: int = 16000

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.asterisk_port}"


def register_agents(endpoint: SippEndpoint, work: Path, phones: list[tuple[str, str]],
                    timeout: float = 60.0) -> None:
    """Register every (extension, password) from the agents' address; raise if any fails."""
    scenario = render("register", work)
    accounts = injection(work, "agents", [
        (extension, f"[authentication username={extension} password={password}]")
        for extension, password in phones])
    command = [sipp_binary(), endpoint.target, "-sf", str(scenario), "-inf", str(accounts),
               "-i", _loopback(endpoint.agent_ip), "-p", str(endpoint.agent_port),
               "-m", str(len(phones)), "-r", "50", "-rp", "1000", "-nostdin",
               "-timeout", f"{int(timeout)}s", "-trace_err", "-error_file",
               str(work / "register-errors.log")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 10,
                            cwd=work)
    if result.returncode != 0:
        errors = (work / "register-errors.log")
        raise SippError(f"agent registration failed (sipp exit {result.returncode}): "
                        f"{errors.read_text()[-2000:] if errors.exists() else result.stderr}")


def answer_as_agents(endpoint: SippEndpoint, work: Path, *, ring_ms: int,
                     talk_ms: int, trace: Path | None = None, codec: Codec = PCMU,
                     echo: bool = False) -> subprocess.Popen:
    """One SIPp answering every agent's calls until it is stopped; with ``trace``, every
    SIP message it sends and receives is written there with its time (``measure.py``);
    with ``echo``, the agents send back the audio they receive (SIPp's RTP echo)."""
    scenario = render("agent", work, RING_MS=ring_ms, TALK_MS=talk_ms, PT=codec.payload,
                      CODEC=codec.rtpmap)
    command = [sipp_binary(), "-sf", str(scenario), "-i", _loopback(endpoint.agent_ip),
               "-p", str(endpoint.agent_port), "-mp", str(endpoint.media_port), "-aa",
               "-nostdin", "-trace_err", "-error_file", str(work / "agents-errors.log")]
    if echo:
        command.append("-rtp_echo")
    if trace is not None:
        command += ["-trace_msg", "-message_file", str(trace)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=work)


def place_talking_calls(endpoint: SippEndpoint, work: Path, calls: list[tuple[str, str]], *,
                        rate: float, rounds: int, timeout: float) -> subprocess.Popen:
    """Callers dialling (number, caller id) at ``rate`` calls per second, all at once,
    who speak (``talker.xml``: SIPp's 7 s A-law speech every 7 s) ``rounds`` times and
    hang up."""
    if not SPEECH_PCAP.exists():
        raise SippError(f"{SPEECH_PCAP} is missing (Debian: apt-get install sip-tester)")
    scenario = render("talker", work, ROUNDS=rounds, PCAP=str(SPEECH_PCAP))
    command = _callers(endpoint, work, scenario, calls, rate=rate, limit=len(calls),
                       timeout=timeout)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, cwd=work)


def place_calls(endpoint: SippEndpoint, work: Path, calls: list[tuple[str, str]], *,
                rate: float, patience_ms: int, timeout: float,
                limit: int | None = None, trace: Path | None = None) -> subprocess.Popen:
    """Callers dialling (number, caller id) in order at ``rate`` calls per second, at most
    ``limit`` at once (agents + callers to keep waiting, for a steady queue); ``trace``
    as for ``answer_as_agents``."""
    scenario = render("caller", work, PATIENCE_MS=patience_ms)
    command = _callers(endpoint, work, scenario, calls, rate=rate,
                       limit=limit or len(calls), timeout=timeout)
    if trace is not None:
        command += ["-trace_msg", "-message_file", str(trace)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, cwd=work)


def _callers(endpoint: SippEndpoint, work: Path, scenario: Path, calls: list[tuple[str, str]],
             *, rate: float, limit: int, timeout: float) -> list[str]:
    plan = injection(work, "calls", calls)
    return [sipp_binary(), endpoint.target, "-sf", str(scenario), "-inf", str(plan),
            "-i", _loopback(endpoint.caller_ip), "-p", str(endpoint.caller_port),
            "-mp", str(endpoint.media_port + 2000), "-r", f"{rate:g}", "-rp", "1000",
            "-m", str(len(calls)), "-l", str(limit), "-aa", "-nostdin",
            "-timeout", f"{int(timeout)}s", "-trace_err", "-error_file",
            str(work / "callers-errors.log"), "-trace_stat", "-stf",
            str(work / "callers-stats.csv")]
