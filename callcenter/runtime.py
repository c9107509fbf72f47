"""One running engine per configuration: its pid file, and ``callcenter stop``.

The engine and its managed Asterisk have separate lives: the engine dying
(a crash, the OOM killer, SIGKILL) leaves Asterisk and every call in it
running, and the next engine takes them over. Only an operator's stop
(``callcenter stop``, or SIGTERM / Ctrl-C of ``callcenter run``) stops both.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

from asterisk.local_asterisk import live_pid
from callcenter.config.models import Config


class AlreadyRunning(RuntimeError):
    """Another engine runs with this configuration; the message says which."""


def data_dir(config: Config) -> Path:
    """The engine's own folder (var/): the database, the pid file, generated secrets."""
    return Path(config.callcenter.storage.path).parent


def pid_file(config: Config) -> Path:
    return data_dir(config) / "callcenter.pid"


def generated_secret(config: Config, name: str) -> str:
    """A random secret made once per installation and kept (mode 600) in the data folder:
    what a configuration that sets none gets, instead of a value everyone knows."""
    path = data_dir(config) / f"{name}.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def managed_instance_name(config: Config) -> str:
    """One managed Asterisk per AMI port: a test's engine never touches `make run`'s."""
    port = config.callcenter.ami.port
    return "callcenter" if port == 5038 else f"callcenter-{port}"


def running_engine(path: Path) -> int | None:
    """The pid in ``path`` if that process is alive and is an engine."""
    return live_pid(path, b"callcenter")


def claim(path: Path) -> None:
    """Record this process as the engine, unless another one is alive."""
    other = running_engine(path)
    if other is not None and other != os.getpid():
        raise AlreadyRunning(f"an engine already runs with this configuration (pid {other}); "
                             "stop it first with: callcenter stop")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n")


def release(path: Path) -> None:
    if running_engine(path) == os.getpid():
        path.unlink(missing_ok=True)


def stop_engine(path: Path, timeout: float = 60.0) -> int | None:
    """SIGTERM the running engine (it stops its Asterisk) and wait; its pid, or None."""
    pid = running_engine(path)
    if pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running_engine(path) == pid and time.monotonic() < deadline:
        time.sleep(0.1)
    if running_engine(path) == pid:
        raise TimeoutError(f"the engine (pid {pid}) did not stop within {timeout:.0f}s")
    return pid
