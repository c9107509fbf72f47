"""The IVR's channel variables reach a real Asterisk intact, in few round trips."""

from __future__ import annotations

import asyncio

from panoramisk.fast_agi import Request

from ivr import fastagi
from ivr.fastagi import AgiCaller
from tests.support.asterisk import free_port

# What MSet's argument parser would otherwise split, unquote or unescape.
AWKWARD = {
    "CC_T_LABEL": '"sales 138****5678" <sales>',
    "CC_T_BACKSLASH": "a\\b\\\\c",
    "CC_T_COMMA": "one,two",
    "CC_T_EQUALS": "k=v=w",
    "CC_T_BRACKETS": "(a,b) [c,d] {e,f}",
    "CC_T_DOLLAR": "${EPOCH} $[1+1]",
    "CC_T_QUOTES": "'single' \"double\"",
    "CC_T_PATH": "/var/lib/call center/prompts/en-hold",
    "CC_T_CHINESE": "销售 队列",
    "CC_T_EMPTY": "",
    "__CC_T_INHERITED": "to the agent's leg",
}


async def on_a_real_channel(asterisk, work) -> list[str]:
    """Run ``work(caller, request)`` as the AGI of a fresh channel; the commands sent."""
    sent: list[str] = []
    finished: asyncio.Future = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass  # the AGI environment
        request = Request(app=None, headers={}, reader=reader, writer=writer,
                          encoding="utf-8")
        send = request.send_command

        async def recorded(command: str) -> dict:
            sent.append(command)
            return await send(command)

        request.send_command = recorded  # type: ignore[method-assign]
        try:
            finished.set_result(await work(AgiCaller(request, "/nowhere"), send))
        except Exception as exc:  # handed to the test
            finished.set_exception(exc)
        finally:
            writer.close()  # the AGI ends: the originated channel hangs up

    port = free_port()
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    try:
        # The Local channel's other half waits in the IVR's standby (answered).
        asterisk.cli(f"channel originate Local/4001234567@from-pstn application AGI "
                     f"agi://127.0.0.1:{port}/test")
        async with asyncio.timeout(10):
            return [*await finished, *sent]
    finally:
        server.close()


async def read_back(send, names) -> dict[str, str]:
    values = {}
    for name in names:
        reply = await send(f"GET FULL VARIABLE ${{{name}}}")
        values[name] = reply["result"][1]
    return values


async def test_awkward_values_arrive_exactly_in_one_round_trip(asterisk):
    names = [name.lstrip("_") for name in AWKWARD]

    async def work(caller, send):
        await caller.set_variables(AWKWARD)
        got = await read_back(send, names)
        return [got]

    got, *sent = await on_a_real_channel(asterisk, work)
    assert got == {name.lstrip("_"): value for name, value in AWKWARD.items()}
    assert len(sent) == 1 and sent[0].startswith("EXEC MSet ")


async def test_more_than_a_line_holds_goes_in_order_over_several(asterisk, monkeypatch):
    monkeypatch.setattr(fastagi, "MSET_LINE_BYTES", 200)
    many = {f"CC_T_{i}": f"/prompts/{i:03d}/a long, awkward value" for i in range(12)}
    many["CC_T_LAST"] = "set last"

    async def work(caller, send):
        await caller.set_variables(many)
        return [await read_back(send, many)]

    got, *sent = await on_a_real_channel(asterisk, work)
    assert got == many
    assert len(sent) > 1 and all(len(line.encode()) < 260 for line in sent)
    assert "CC_T_LAST" in sent[-1] and "CC_T_LAST" not in "".join(sent[:-1])


def test_a_name_that_is_not_a_variable_is_refused():
    for bad in ("CC X", "CC=1", "", "1CC", "CC,X"):
        try:
            fastagi._mset_chunks({bad: "v"})
        except ValueError as exc:
            assert repr(bad) in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")
