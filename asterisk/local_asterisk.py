#!/usr/bin/env python3
"""Install and run a private Asterisk 22 for development and tests.

Debian's bookworm has no Asterisk; its unstable suite does. We build a minimal
Debian unstable root with debootstrap (cached outside the repository, so the
second run is instant) and run Asterisk chrooted into it. Each running
instance gets its own folder of configuration, spool and logs inside that
root, rendered from the templates in ``asterisk/conf`` with the ports the
caller chose, so several instances can run side by side on loopback.

Stdlib only: it must run before the project's dependencies are installed.

    python3 asterisk/local_asterisk.py install
    python3 asterisk/local_asterisk.py start --name dev --ami-port 5038 ...
    python3 asterisk/local_asterisk.py stop --name dev
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "conf"
MIRROR = os.environ.get("CALLCENTER_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ["asterisk", "asterisk-core-sounds-en-wav", "asterisk-moh-opsound-wav"]
HOSTNAME = socket.gethostname()
STOCK_CONFIGS = ["indications.conf", "acl.conf", "udptl.conf", "ccss.conf", "say.conf",
                 "codecs.conf", "pjsip_notify.conf", "res_parking.conf", "cli_aliases.conf",
                 "voicemail.conf", "amd.conf", "pjproject.conf", "stasis.conf"]


def default_root() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("CALLCENTER_ASTERISK_ROOT", cache / "callcenter" / "asterisk-root"))


class CannotRun(RuntimeError):
    """This machine cannot run a private Asterisk; the message says what to do instead."""


ALTERNATIVE = (
    "To use an Asterisk you already run instead, set ami.host, ami.port, ami.username and "
    "ami.secret (or CALLCENTER_AMI_SECRET) in config/callcenter.yaml, set asterisk.managed "
    "to false, and install the files of asterisk/conf into that Asterisk (see README)."
)


def _run(cmd: list[str], log: Path | None = None, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    if log is None:
        subprocess.run(cmd, check=True, env=env)
        return
    with open(log, "ab") as out:
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT, env=env)


def _check_can_install() -> None:
    if os.geteuid() != 0:
        raise CannotRun("installing a private Asterisk needs root (debootstrap and chroot). "
                        + ALTERNATIVE)
    if shutil.which("debootstrap") is None:
        if shutil.which("apt-get") is None:
            raise CannotRun("debootstrap is missing and there is no apt-get to install it. "
                            + ALTERNATIVE)
        _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "debootstrap"])


def install(root: Path) -> Path:
    """Build (once) the Debian unstable root holding Asterisk."""
    ready = root / ".callcenter-ready"
    if ready.exists():
        return root
    _check_can_install()
    log = root.parent / "install.log"
    root.parent.mkdir(parents=True, exist_ok=True)
    if not (root / "usr" / "bin" / "apt-get").exists():
        if root.exists():
            shutil.rmtree(root)
        _run(["debootstrap", "--variant=minbase", "unstable", str(root), MIRROR], log)
    chroot_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
                  "LANG": "C.UTF-8"}
    apt = ["chroot", str(root), "apt-get", "-q", "-o", "Acquire::Check-Valid-Until=false"]
    _run([*apt, "update"], log, chroot_env)
    _run([*apt, "install", "-y", "--no-install-recommends", *PACKAGES], log, chroot_env)
    # Without DNS, RTP's ICE support resolves our host name on every call.
    hosts = root / "etc" / "hosts"
    text = hosts.read_text() if hosts.exists() else ""
    if HOSTNAME not in text.split():
        hosts.write_text(text + f"127.0.0.1 localhost {HOSTNAME}\n")
    ready.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
    return root


def instance_dir(root: Path, name: str) -> Path:
    return root / "srv" / "callcenter" / name


def render(root: Path, name: str, params: dict[str, str],
           files: dict[str, str] | None = None) -> Path:
    """Render the configuration templates into the instance's own folder; ``files``
    (path inside the instance -> text) replace or add files after that (a benchmark's
    app_queue instance)."""
    base = instance_dir(root, name)
    inside = "/" + str(base.relative_to(root))
    values = {"CARRIER_PORT": "5070", "SIP_BIND": "127.0.0.1", "WS_PORT": "8088", **params,
              "INSTANCE": inside}
    etc = base / "etc"
    if etc.exists():
        shutil.rmtree(etc)
    etc.mkdir(parents=True)
    for sub in ("run", "spool", "log", "lib", "recordings", "sounds", "include", "keys"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    dtls_certificate(base / "keys")
    uid, gid = _asterisk_ids(root)
    # Debian's stock files for what we do not configure ourselves (tones, codecs...).
    for stock in STOCK_CONFIGS:
        source = root / "etc" / "asterisk" / stock
        if source.exists():
            shutil.copyfile(source, etc / stock)
    for template in sorted(TEMPLATES.glob("*.conf")):
        text = template.read_text()
        for key, value in values.items():
            text = text.replace("@" + key + "@", value)
        (etc / template.name).write_text(text)
    # Files the engine generates (agents' endpoints) are included from here.
    for generated in ("pjsip_agents.conf",):
        target = base / "include" / generated
        if not target.exists():
            target.write_text("; generated by callcenter from config/agents.yaml\n")
    for relative, text in (files or {}).items():
        (base / relative).write_text(text)
    _own(base, uid, gid)
    return base


def dtls_certificate(keys: Path) -> None:
    """The instance's DTLS certificate for browser phones' media (DTLS-SRTP), made once:
    self-signed (WebRTC checks it against the fingerprint in the SDP, not a CA), an EC
    P-256 key, never committed, kept with the instance (readable by Asterisk only)."""
    cert, key = keys / "dtls.crt", keys / "dtls.key"
    if cert.exists() and key.exists():
        return
    if shutil.which("openssl") is None:
        raise CannotRun("openssl is missing (browser phones' DTLS certificate): "
                        "install it (sudo apt-get install openssl)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
                    "-subj", "/CN=callcenter-asterisk", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)


def _asterisk_ids(root: Path) -> tuple[int, int]:
    """The uid and gid of the root's ``asterisk`` user (Debian's package made it)."""
    for line in (root / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "asterisk":
            return int(fields[2]), int(fields[3])
    raise CannotRun("the Asterisk root has no 'asterisk' user; remove it and install again")


def _own(base: Path, uid: int, gid: int) -> None:
    """Asterisk runs as its own user (asterisk.conf ``runuser``), never as root: it owns
    what it writes; configuration (with secrets) and what the engine writes for it are
    root's, readable by its group only (set-group-id folders keep new files so)."""
    for sub in ("run", "spool", "log", "lib", "recordings"):
        for path in [base / sub, *(base / sub).rglob("*")]:
            os.chown(path, uid, gid)
    for sub in ("etc", "include", "sounds", "keys"):
        folder = base / sub
        os.chown(folder, 0, gid)
        os.chmod(folder, 0o2750)
        for path in folder.rglob("*"):
            os.chown(path, 0, gid)
            os.chmod(path, 0o2750 if path.is_dir() else 0o640)


def cli(root: Path, name: str, command: str, timeout: float = 20.0) -> str:
    """Run an Asterisk CLI command on the instance (its control socket, as root here):
    what the engine's AMI user is not allowed to do (reloads, restarts)."""
    inside = "/" + str(instance_dir(root, name).relative_to(root))
    result = subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-C",
                             f"{inside}/etc/asterisk.conf", "-rx", command],
                            capture_output=True, text=True, timeout=timeout,
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
    return result.stdout


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def live_pid(pidfile: Path, program: bytes) -> int | None:
    """The pid in ``pidfile`` if that process is alive (not a zombie) and its command
    line names ``program`` (not a pid reused by something else since)."""
    try:
        pid = int(pidfile.read_text().strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    if stat.rpartition(")")[2].split()[0] == "Z" or program not in command:
        return None
    return pid


def _pid(base: Path) -> int | None:
    """The instance's live Asterisk process."""
    return live_pid(base / "run" / "asterisk.pid", b"asterisk")


def fingerprint(params: dict[str, str], files: dict[str, str] | None = None) -> str:
    """What an instance was started from: its parameters, extra files and the templates."""
    digest = hashlib.sha256(json.dumps([params, files or {}], sort_keys=True).encode()
                            if files else json.dumps(params, sort_keys=True).encode())
    for template in sorted(TEMPLATES.glob("*.conf")):
        digest.update(template.name.encode() + b"\0" + template.read_bytes())
    return digest.hexdigest()


def start(root: Path, name: str, params: dict[str, str], timeout: float = 60.0,
          files: dict[str, str] | None = None) -> dict:
    """Start the instance, or adopt it if it already runs, healthy, from the same setup.

    An engine that crashed (or was killed) leaves its Asterisk running with every
    call in it; the next engine takes that Asterisk over instead of restarting
    it, so no call is dropped. A running instance from other parameters or
    other templates is restarted.
    """
    install(root)
    base = instance_dir(root, name)
    inside = "/" + str(base.relative_to(root))
    wanted = fingerprint(params, files)
    stamp = base / "run" / "fingerprint"
    pid = _pid(base)
    if pid is not None:
        same = stamp.exists() and stamp.read_text() == wanted
        if same and _fully_booted(int(params["AMI_PORT"]), params):
            return {"name": name, "root": str(root), "instance": str(base),
                    "instance_inside": inside, "pid": pid, "adopted": True, **params}
        print(f"local Asterisk {name!r}: running from another setup; restarting it",
              file=sys.stderr)
        stop(root, name)
    base = render(root, name, params, files)
    log = base / "log" / "console.log"
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        proc = _spawn(root, inside, out)

    ami_port = int(params["AMI_PORT"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if _port_open(ami_port) and _fully_booted(ami_port, params):
            stamp.write_text(wanted)
            return {"name": name, "root": str(root), "instance": str(base),
                    "instance_inside": inside, "pid": proc.pid, "adopted": False, **params}
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    stop(root, name)
    raise RuntimeError(f"Asterisk {name!r} did not come up in {timeout:.0f}s; console log:\n{tail}")


def _spawn(root: Path, inside: str, out) -> subprocess.Popen:
    return subprocess.Popen(
        ["chroot", str(root), "/usr/sbin/asterisk", "-f", "-C", f"{inside}/etc/asterisk.conf"],
        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
    )


def _fully_booted(ami_port: int, params: dict[str, str]) -> bool:
    """Log in over AMI and wait for FullyBooted: the port opens before modules load."""
    login = (f"Action: Login\r\nUsername: {params['AMI_USER']}\r\n"
             f"Secret: {params['AMI_SECRET']}\r\n\r\n")
    try:
        with socket.create_connection(("127.0.0.1", ami_port), timeout=2) as sock:
            sock.sendall(login.encode())
            received = b""
            while b"FullyBooted" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                received += chunk
            return True
    except OSError:
        return False


def stop(root: Path, name: str, timeout: float = 10.0) -> None:
    """Stop the instance: SIGTERM, and SIGKILL if it is still there after ``timeout``."""
    base = instance_dir(root, name)
    pid = _pid(base)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid(base) == pid:
        time.sleep(0.05)
    if _pid(base) == pid:
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _pid(base) == pid:
            time.sleep(0.05)


def running(root: Path, name: str) -> int | None:
    """The pid of the instance if it runs."""
    return _pid(instance_dir(root, name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=default_root())
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="build the cached Debian root with Asterisk")
    run = sub.add_parser("start", help="start an instance on the given loopback ports")
    run.add_argument("--name", default="dev")
    run.add_argument("--ami-port", type=int, default=5038)
    run.add_argument("--sip-port", type=int, default=5060)
    run.add_argument("--agi-port", type=int, default=4573)
    run.add_argument("--ws-port", type=int, default=8088,
                     help="SIP over WebSocket for browser phones (http.conf)")
    run.add_argument("--rtp-start", type=int, default=10000)
    run.add_argument("--rtp-end", type=int, default=10999)
    run.add_argument("--ami-user", default="callcenter")
    run.add_argument("--ami-secret", required=True, help="the AMI user's secret")
    run.add_argument("--agi-secret", required=True, help="the dialplan's CC_AGI_KEY")
    halt = sub.add_parser("stop", help="stop an instance")
    halt.add_argument("--name", default="dev")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            print(install(args.root))
        elif args.command == "start":
            params = {"AMI_PORT": str(args.ami_port), "SIP_PORT": str(args.sip_port),
                      "AGI_PORT": str(args.agi_port), "WS_PORT": str(args.ws_port),
                      "RTP_START": str(args.rtp_start),
                      "RTP_END": str(args.rtp_end), "AMI_USER": args.ami_user,
                      "AMI_SECRET": args.ami_secret, "AGI_SECRET": args.agi_secret}
            print(json.dumps(start(args.root, args.name, params)))
        elif args.command == "stop":
            stop(args.root, args.name)
    except CannotRun as exc:
        print(f"local Asterisk: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
