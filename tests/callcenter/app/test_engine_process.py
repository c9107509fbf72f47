"""``callcenter run`` as a process: its own Asterisk, consoles, SIGHUP reload, clean SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.asterisk


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure(directory: Path, tmp_path: Path) -> dict[str, int]:
    shutil.copytree(REPO / "config", directory)
    ports = {"ami": free_port(), "sip": free_port(socket.SOCK_DGRAM), "agi": free_port(),
             "web": free_port()}
    rtp = 42000 + (os.getpid() % 50) * 40
    yaml = YAML(typ="safe")
    path = directory / "callcenter.yaml"
    data = yaml.load(path.read_text())
    data["ami"].update(port=ports["ami"])
    data["asterisk"].update(managed=True, sip_port=ports["sip"], agi_port=ports["agi"],
                            rtp_start=rtp, rtp_end=rtp + 39)
    data["web"].update(port=ports["web"], public_origin=f"http://127.0.0.1:{ports['web']}")
    data["storage"] = {"path": str(tmp_path / "cc.sqlite3")}
    data["recordings"].update(directory=str(tmp_path / "recordings"))
    with path.open("w") as out:
        YAML(typ="safe", pure=True).dump(data, out)
    return ports


def wait_for_line(proc: subprocess.Popen, text: str, log: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            log.append(line)
            if text in line:
                return
        elif proc.poll() is not None:
            break
    raise AssertionError(f"no {text!r} in time; output:\n{''.join(log)[-4000:]}")


def test_run_serves_reloads_and_stops_cleanly(tmp_path):
    directory = tmp_path / "config"
    ports = configure(directory, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "callcenter.cli", "run", "--config",
                             str(directory)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=REPO)
    log: list[str] = []
    try:
        wait_for_line(proc, "callcenter running", log, timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['web']}/api/openapi.json") as r:
            assert json.load(r)["paths"]
        with socket.create_connection(("127.0.0.1", ports["ami"]), timeout=2):
            pass  # its own Asterisk answers on the chosen AMI port

        queues = directory / "queues.yaml"
        queues.write_text(queues.read_text().replace("strategy: longest_idle",
                                                     "strategy: longest_idel", 1))
        proc.send_signal(signal.SIGHUP)
        wait_for_line(proc, "app.reload_refused", log, timeout=10)
        assert "longest_idel" in log[-1] and "queues.yaml" in log[-1]
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['web']}/api/openapi.json"):
            pass  # still serving on the old configuration

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        out = proc.stdout.read()
        log.append(out)
        assert "app.stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", ports["ami"]), timeout=1)


def test_a_killed_engine_leaves_asterisk_running_and_the_next_one_takes_it_over(tmp_path):
    """SIGKILL (a crash, the OOM killer) is not a stop: Asterisk and its calls stay up."""
    directory = tmp_path / "config"
    ports = configure(directory, tmp_path)
    command = [sys.executable, "-m", "callcenter.cli"]
    first = subprocess.Popen([*command, "run", "--config", str(directory)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    second = None
    log: list[str] = []
    try:
        wait_for_line(first, "callcenter running", log, timeout=60)
        refused = subprocess.run([*command, "run", "--config", str(directory)], cwd=REPO,
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "already runs" in refused.stderr

        first.kill()
        first.wait(timeout=10)
        with socket.create_connection(("127.0.0.1", ports["ami"]), timeout=2):
            pass  # Asterisk outlived its engine

        second = subprocess.Popen([*command, "run", "--config", str(directory)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  cwd=REPO)
        wait_for_line(second, "app.asterisk_adopted", log, timeout=60)
        wait_for_line(second, "callcenter running", log, timeout=60)

        stopped = subprocess.run([*command, "stop", "--config", str(directory)], cwd=REPO,
                                 capture_output=True, text=True, timeout=90)
        assert stopped.returncode == 0 and "stopped the engine" in stopped.stdout
        assert second.wait(timeout=10) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
        subprocess.run([*command, "stop", "--config", str(directory)], cwd=REPO,
                       capture_output=True, timeout=90)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", ports["ami"]), timeout=1)
