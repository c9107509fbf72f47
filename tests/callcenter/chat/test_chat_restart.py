"""A chat survives the engine being killed (SIGKILL) and started again mid-conversation:
no message lost or duplicated in either direction, on the web widget and on WeChat (a
reply still waiting for WeChat at the crash is sent by the next run), and the agent gets
both conversations back without a new offer."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from ruamel.yaml import YAML

from tests.support.chat import Console, RemoteStack, always_open, chat_with_agent
from tests.support.webstack import REPO, copy_config
from tests.support.wechat import wechat_section
from tests.support.wechat_standin import WeChatStandIn, text_xml

OPENID = "oRestart0000000000000000000x"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure(tmp_path: Path, standin: WeChatStandIn, port: int) -> Path:
    directory = copy_config(tmp_path / "config")
    yaml = YAML(typ="rt")
    path = directory / "callcenter.yaml"
    data = yaml.load(path.read_text(encoding="utf-8"))
    data["web"].update(port=port, public_origin=f"http://127.0.0.1:{port}")
    data["storage"]["path"] = str(tmp_path / "cc.sqlite3")
    wechat_section(standin)(data)
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
    queues = directory / "queues.yaml"
    data = yaml.load(queues.read_text(encoding="utf-8"))
    always_open(data)
    with queues.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
    return directory


def start_engine(directory: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.chat_engine", str(directory)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if "chat engine ready" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("the engine did not start:\n" + "".join(seen)[-3000:])


@pytest.fixture
async def standin():
    async with WeChatStandIn() as server:
        yield server


async def test_chats_survive_sigkill_and_restart_exactly_once(tmp_path, standin):
    port = free_port()
    directory = configure(tmp_path, standin, port)
    remote = RemoteStack(port)
    wechat = remote.url("/chat/wechat")
    engine = await asyncio.to_thread(start_engine, directory)
    try:
        agent, visitor, web = await chat_with_agent(remote, name="访客甲")
        assert (await standin.push(wechat, text_xml(OPENID, "微信一", 1), mode="secure")).ok
        wx = await agent.accept_next()

        await visitor.say("网页一")
        await agent.reply(web["id"], "回复网页一")
        await visitor.hear("回复网页一")
        await agent.reply(wx["id"], "回复微信一")
        await agent.frames.next("chat.delivery", lambda f: f["data"]["status"] == "sent")
        await agent.reply(web["id"], "回复网页二")  # stored (200); the visitor may not see it
        standin.token_delay_s = 8  # WeChat's token service hangs: the next reply waits...
        standin.expire_tokens()
        await agent.reply(wx["id"], "回复微信待发")  # ...stored, still pending at the crash
        await visitor.send({"t": "msg", "id": "web-2", "text": "网页二"})  # then the crash
        engine.kill()  # SIGKILL: no shutdown of any kind
        await asyncio.to_thread(engine.wait, 10)
        await visitor.drop()
        with pytest.raises(aiohttp.ClientConnectorError):  # WeChat finds nobody: it retries
            await standin.push(wechat, text_xml(OPENID, "微信二", 2), mode="secure")

        standin.token_delay_s = 0
        engine = await asyncio.to_thread(start_engine, directory)
        agent = await Console.attach(remote, agent.http)  # the page reconnects its socket
        back = await agent.call("GET", "/api/chat/conversations")
        deadline = time.monotonic() + 10
        while {c["id"] for c in back if c["status"] == "active"} != {web["id"], wx["id"]}:
            assert time.monotonic() < deadline, back
            await asyncio.sleep(0.2)
            back = await agent.call("GET", "/api/chat/conversations")
        assert {c["agent_id"] for c in back} == {"zhangwei"}
        assert not agent.frames.taken("agent.offer")  # given back, not offered again

        hello = await visitor.connect()  # from the last id it saw
        missed = [m["text"] for m in hello["messages"] if m["from"] == "agent"]
        assert missed == ["回复网页二"]  # stored before the crash, never heard: now, once
        for cid, text in (("web-2", "网页二"), ("web-3", "网页三")):  # the outbox, then more
            await visitor.send({"t": "msg", "id": cid, "text": text})
            await visitor.frames.next("ack", lambda f, c=cid: f["id"] == c)
        assert (await standin.push(wechat, text_xml(OPENID, "微信二", 2), mode="secure")).ok
        await agent.message(wx["id"], "微信二")
        await agent.reply(wx["id"], "回复微信二")
        await agent.frames.next("chat.delivery", lambda f: f["data"]["status"] == "sent")
        await agent.reply(web["id"], "回复网页三")
        await visitor.hear("回复网页三")

        transcript_web = await agent.call("GET", f"/api/chat/conversations/{web['id']}")
        assert [m["body"] for m in transcript_web["messages"]] == [
            "网页一", "回复网页一", "回复网页二", "网页二", "网页三", "回复网页三"]
        transcript_wx = await agent.call("GET", f"/api/chat/conversations/{wx['id']}")
        assert [m["body"] for m in transcript_wx["messages"]] == [
            "微信一", "回复微信一", "回复微信待发", "微信二", "回复微信二"]
        assert {m["status"] for m in transcript_wx["messages"] if m["direction"] == "out"} \
            == {"sent"}  # the one pending at the crash was sent by the next run
        assert [s.payload["text"]["content"] for s in standin.sends] == [
            "回复微信一", "回复微信待发", "回复微信二"]
    finally:
        engine.kill()
        await asyncio.to_thread(engine.wait, 10)
        await remote.close()
