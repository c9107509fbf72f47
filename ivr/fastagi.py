"""Serve the IVR to Asterisk over FastAGI (``AGI(agi://host:port/ivr)``).

panoramisk's ``fast_agi.Request`` speaks the AGI command protocol; the
accept loop is ours because panoramisk's spins forever when a connection
closes before its headers end, and its ``add_route`` wraps plain functions
with ``asyncio.coroutine``, gone in Python 3.11.

One connection is one call. The tree comes from the configuration in force
when the call arrived (a reload never changes a call mid-menu). When the walk
ends, ``on_routed`` (the application's) decides what the route means and
returns the channel variables the dialplan reads next (``CC_ROUTE`` ...). A
channel the application has queued already (a standby caller woken by a returning
engine just as their own retry came in) is not walked again: ``resume`` gives its
variables back (back to hold, the same task).

Who is knocking is checked before anything is done for a connection: its address
(``allowed_peer``: the Asterisk host), the request read within ``HEADER_SECONDS``
and ``MAX_HEADER_BYTES``, the dialplan's secret (the global ``CC_AGI_KEY``, read
back with ``GET VARIABLE``: only the real Asterisk knows it) and, over AMI, that
the channel it names exists (``channel_exists``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from panoramisk.fast_agi import Request

from callcenter.config.models import Config
from ivr.prompts import sound_name
from ivr.runner import CallerHungUp, IvrOutcome, run_ivr

log = logging.getLogger(__name__)
MAX_HEADER_BYTES = 16384
HEADER_SECONDS = 5.0
MSET_LINE_BYTES = 1500
"""res_agi reads a command into a 2048-byte buffer; a longer line would be cut."""
_VARIABLE_NAME = re.compile(r"_{0,2}[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class AgiCall:
    """What Asterisk told us about the call when it connected."""

    channel: str
    uniqueid: str
    caller_number: str
    dialed_number: str
    headers: dict[str, str]
    standby_since: float | None = None
    """When the call arrived, if the caller then had to wait for an engine that was not
    there (the dialplan's standby loop), so their place is kept; else None."""


RoutedHandler = Callable[[AgiCall, IvrOutcome], Awaitable[dict[str, str]]]


class AgiCaller:
    """The IVR's caller port, carried out with AGI commands on one channel."""

    def __init__(self, request: Request, prompts_dir: str) -> None:
        self.request = request
        self.prompts_dir = prompts_dir

    async def command(self, command: str) -> dict[str, Any]:
        try:
            result = await self.request.send_command(command)
        except (ConnectionError, OSError) as exc:
            raise CallerHungUp(str(exc)) from exc
        if result.get("error") == "AGIResultHangup" or result.get("status_code") in (0, 511):
            raise CallerHungUp(result.get("msg", "hangup"))
        return result

    async def play(self, prompt: Any, language: str) -> None:
        await self.command(f'STREAM FILE {sound_name(prompt, language, self.prompts_dir)} ""')

    async def ask(self, prompt: Any, language: str, max_digits: int,
                  timeout: float) -> str | None:
        sound = sound_name(prompt, language, self.prompts_dir)
        result = await self.command(f"GET DATA {sound} {int(timeout * 1000)} {max_digits}")
        if "error" in result:  # AGIAppError: -1, the channel is going away
            raise CallerHungUp(result.get("msg", ""))
        digits = result.get("result", ("", ""))[0]
        return digits or None

    async def set_variables(self, values: dict[str, str]) -> None:
        """Set channel variables in order, in as few round trips as fit in a line.

        One ``SET VARIABLE`` per variable cost ~22 round trips per queued call: with
        Asterisk busy, each waits its turn, and a caller reached hold up to 1.3 s after
        being queued. ``MSet`` sets many per ``EXEC``, in order (so ``CC_ROUTE``, last,
        is still set last). Each value is escaped for MSet's argument parser
        (backslash before every ASCII character but letters and digits), then the whole for
        the AGI line; commands stay under res_agi's line buffer (``AGI_BUF_LEN``)."""
        for chunk in _mset_chunks(values):
            line = chunk.replace("\\", "\\\\").replace('"', '\\"')
            await self.command(f'EXEC MSet "{line}"')


class IvrServer:
    def __init__(self, *, host: str, port: int, config: Callable[[], Config],
                 on_routed: RoutedHandler, prompts_dir: Callable[[], str], key: str,
                 allowed_peer: Callable[[str], bool],
                 channel_exists: Callable[[str], Awaitable[bool]],
                 resume: Callable[[AgiCall], Awaitable[dict[str, str] | None]] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.host = host
        self.port = port
        self._config = config
        self._on_routed = on_routed
        self._prompts_dir = prompts_dir
        self._key = key
        self._allowed_peer = allowed_peer
        self._channel_exists = channel_exists
        self._resume = resume
        self._clock = clock
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("ivr.listening", extra={"port": self.port})

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._calls):
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._calls.add(task)
        try:
            peer = (writer.get_extra_info("peername") or ("?",))[0]
            if not self._allowed_peer(peer):
                log.warning("ivr.refused", extra={"peer": peer, "why": "not the Asterisk host"})
                return
            try:
                async with asyncio.timeout(HEADER_SECONDS):
                    headers = await _read_headers(reader)
            except TimeoutError:
                log.warning("ivr.refused", extra={"peer": peer, "why": "request too slow"})
                return
            if headers is None:
                return
            script = headers.get("agi_network_script", "")
            if script != "ivr":
                log.warning("ivr.unknown_script", extra={"script": script})
                return
            request = Request(app=None, headers=headers, reader=reader, writer=writer)
            if not await self._trusted(peer, headers, request):
                return
            await self._serve(headers, request)
        except Exception:
            log.exception("ivr.call_failed")
        finally:
            if task is not None:
                self._calls.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _trusted(self, peer: str, headers: dict[str, str], request: Request) -> bool:
        """The connection is our Asterisk's, about a channel that exists."""
        try:
            async with asyncio.timeout(HEADER_SECONDS):
                reply = await request.send_command("GET VARIABLE CC_AGI_KEY")
        except (TimeoutError, ConnectionError, OSError):
            reply = {}
        given = str(reply.get("result", ("", ""))[1] or "").strip("()")
        if not self._key or not hmac.compare_digest(given.encode(), self._key.encode()):
            log.warning("ivr.refused", extra={"peer": peer, "why": "no valid CC_AGI_KEY"})
            return False
        if not await self._channel_exists(headers.get("agi_uniqueid", "")):
            log.warning("ivr.refused", extra={"peer": peer, "why": "no such channel"})
            return False
        return True

    async def _serve(self, headers: dict[str, str], request: Request) -> None:
        config = self._config()
        call = AgiCall(channel=headers.get("agi_channel", ""),
                       uniqueid=headers.get("agi_uniqueid", ""),
                       caller_number=headers.get("agi_callerid", ""),
                       dialed_number=headers.get("agi_extension", ""), headers=headers,
                       standby_since=_epoch(headers.get("agi_arg_1", "")))
        caller = AgiCaller(request, self._prompts_dir())
        try:
            again = await self._resume(call) if self._resume is not None else None
            if again is not None:  # already queued: back to hold, no second IVR or task
                log.info("ivr.resumed")
                await caller.set_variables(again)
                return
            if call.dialed_number not in config.callcenter.asterisk.inbound_numbers:
                log.warning("ivr.unknown_number")
                outcome = IvrOutcome(route="hangup", language=config.ivr.language_default,
                                     reason="not a configured inbound number")
            else:
                outcome = await run_ivr(config.ivr, config.queues, caller, self._clock(),
                                        dialled=call.dialed_number)
            variables = await self._on_routed(call, outcome)
            await caller.set_variables(variables)
        except CallerHungUp:
            log.info("ivr.caller_left")


def _mset_chunks(values: dict[str, str]) -> list[str]:
    """``name=value,...`` argument lists for MSet, each short enough for one AGI line."""
    chunks: list[str] = []
    pairs: list[str] = []
    size = 0
    for name, value in values.items():
        if not _VARIABLE_NAME.fullmatch(name):
            raise ValueError(f"not a channel variable name: {name!r}")
        pair = f"{name}={_mset_escape(value)}"
        length = len(pair.encode()) + pair.count("\\") + pair.count('"') + 1
        if pairs and size + length > MSET_LINE_BYTES:
            chunks.append(",".join(pairs))
            pairs, size = [], 0
        pairs.append(pair)
        size += length
    if pairs:
        chunks.append(",".join(pairs))
    return chunks


def _mset_escape(value: str) -> str:
    """Every ASCII character but letters and digits escaped: MSet's parser treats commas,
    quotes, brackets and backslashes specially, and drops the backslash before any."""
    return "".join("\\" + ch if ch.isascii() and not ch.isalnum() else ch for ch in value)


def _epoch(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 else None


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str] | None:
    """AGI environment lines up to the blank line; None if the peer went away first."""
    headers: dict[str, str] = {}
    size = 0
    while True:
        line = await reader.readline()
        size += len(line)
        if not line or size > MAX_HEADER_BYTES:
            return None
        text = line.decode("utf-8", "replace").rstrip("\n")
        if not text:
            return headers
        key, sep, value = text.partition(": ")
        if sep:
            headers[key] = value
