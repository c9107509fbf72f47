"""The doors between the engine and Asterisk: AMI rights, Asterisk's user, FastAGI."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from panoramisk import Manager

from callcenter.config import load_config
from ivr import fastagi
from ivr.fastagi import IvrServer

pytestmark = pytest.mark.asterisk
REPO = Path(__file__).resolve().parents[2]


async def manager(asterisk) -> Manager:
    ami = Manager(host="127.0.0.1", port=asterisk.ami_port, username=asterisk.ami_user,
                  secret=asterisk.ami_secret, ping_delay=0)
    await ami.connect()
    return ami


async def test_the_engines_ami_user_cannot_run_commands_or_shell(asterisk):
    ami = await manager(asterisk)
    marker = asterisk.instance / "spool" / "pwned"
    try:
        denied = await ami.send_action({"Action": "Command", "Command": "core show version"})
        assert denied.Response == "Error" and "denied" in denied.Message.lower()
        shell = await ami.send_action({
            "Action": "Originate", "Channel": "Local/s@cc-internal", "Application": "System",
            "Data": f"touch {marker.relative_to(asterisk.root)}", "Async": "false"})
        assert shell.Response == "Error"
        for action in ({"Action": "UpdateConfig", "SrcFilename": "extensions.conf",
                        "DstFilename": "extensions.conf", "Action-000000": "Append",
                        "Cat-000000": "cc-internal", "Var-000000": "exten",
                        "Value-000000": "666,1,System(id)"},
                       {"Action": "ModuleLoad", "Module": "app_system.so", "LoadType": "load"}):
            reply = await ami.send_action(action)
            assert reply.Response == "Error", action["Action"]
        # What the engine needs does work.
        channels = await ami.send_action({"Action": "CoreShowChannels"}, as_list=True)
        assert any(m.get("Event") == "CoreShowChannelsComplete" for m in channels)
    finally:
        ami.close()
    await asyncio.sleep(0.5)
    assert not marker.exists()


def test_asterisk_does_not_run_as_root(asterisk):
    pid = int((asterisk.instance / "run" / "asterisk.pid").read_text())
    status = Path(f"/proc/{pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert all(int(uid) != 0 for uid in uids), uids


def refusals(caplog) -> list[str]:
    return [r.why for r in caplog.records if r.getMessage() == "ivr.refused"]


def config():
    return load_config(REPO / "config", env={}).config


async def agi_server(allowed: str = "127.0.0.1", exists: bool = True) -> tuple[IvrServer, list]:
    routed: list = []

    async def on_routed(call, outcome):
        routed.append(call)
        return {}

    async def channel_exists(_uid: str) -> bool:
        return exists

    server = IvrServer(host="127.0.0.1", port=0, config=config, on_routed=on_routed,
                       prompts_dir=lambda: "/nowhere", key="the-right-key",
                       allowed_peer=lambda peer: peer == allowed, channel_exists=channel_exists)
    await server.start()
    return server, routed


async def knock(port: int, key_reply: str, source: str = "127.0.0.1") -> list[bytes]:
    """A fake Asterisk: sends an AGI request, answers the key question, records commands."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    commands: list[bytes] = []
    try:
        writer.write(b"agi_network: yes\nagi_network_script: ivr\nagi_uniqueid: 1.1\n"
                     b"agi_channel: PJSIP/carrier-00000001\nagi_callerid: 13812345678\n"
                     b"agi_extension: 4008001234\n\n")
        await writer.drain()
        async with asyncio.timeout(3):
            while line := await reader.readline():
                commands.append(line.strip())
                if line.startswith(b"GET VARIABLE CC_AGI_KEY"):
                    writer.write(f"200 result=1 ({key_reply})\n".encode())
                else:
                    writer.write(b"200 result=0\n")
                await writer.drain()
    except (TimeoutError, ConnectionResetError):
        pass  # the server hung up on us: what it sent before is the answer
    writer.close()
    return commands


async def test_fastagi_without_the_key_is_refused_before_anything_is_done(caplog):
    server, routed = await agi_server()
    try:
        with caplog.at_level(logging.WARNING):
            commands = await knock(server.port, "a-guess")
        assert commands == [b"GET VARIABLE CC_AGI_KEY"] and not routed
        assert refusals(caplog) == ["no valid CC_AGI_KEY"]
        commands = await knock(server.port, "the-right-key")
        assert len(commands) > 1  # the IVR walks for the real Asterisk
    finally:
        await server.close()


async def test_fastagi_from_another_address_is_refused(caplog):
    server, routed = await agi_server(allowed="127.0.0.2")
    try:
        with caplog.at_level(logging.WARNING):
            commands = await knock(server.port, "the-right-key", source="127.0.0.1")
        assert commands == [] and not routed
        assert refusals(caplog) == ["not the Asterisk host"]
    finally:
        await server.close()


async def test_fastagi_about_a_channel_that_does_not_exist_is_refused(caplog):
    server, routed = await agi_server(exists=False)
    try:
        with caplog.at_level(logging.WARNING):
            commands = await knock(server.port, "the-right-key")
        assert commands == [b"GET VARIABLE CC_AGI_KEY"] and not routed
        assert refusals(caplog) == ["no such channel"]
    finally:
        await server.close()


async def test_a_stalled_fastagi_client_is_dropped_in_time(monkeypatch):
    monkeypatch.setattr(fastagi, "HEADER_SECONDS", 0.5)
    server, _ = await agi_server()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"agi_network: yes\n")  # and then nothing
        async with asyncio.timeout(3):
            assert await reader.read() == b""  # closed by the server
        writer.close()
    finally:
        await server.close()


def test_the_shipped_asterisk_has_no_test_accounts():
    """The registering test caller (user "caller", password "caller") lives in the tests'
    Asterisk only (tests/support/asterisk.py), never in the shipped configuration."""
    shipped = Path(__file__).resolve().parents[2] / "asterisk" / "conf"
    for conf in shipped.glob("*.conf"):
        text = "\n".join(line.split(";", 1)[0] for line in conf.read_text().splitlines())
        assert "[caller]" not in text and "password = caller" not in text, conf.name
