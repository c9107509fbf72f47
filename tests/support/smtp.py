"""A small SMTP server on loopback that takes mail and keeps it, for tests of what the
engine e-mails: the real protocol over TCP (EHLO, MAIL, RCPT, DATA with dot-stuffing),
no relay. ``refuse`` lists recipients it answers 550."""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    host: str = "127.0.0.1"
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    port: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> SmtpServer:
        self._server = await asyncio.start_server(self._session, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _session(self, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        sender, recipients = "", []
        say("220 test.local ESMTP")
        try:
            while line := await reader.readline():
                verb = line[:4].decode("ascii", "replace").upper()
                argument = line[5:].decode("utf-8", "replace").strip()
                if verb in ("EHLO", "HELO"):
                    say("250-test.local")
                    say("250 8BITMIME")
                elif verb == "MAIL":
                    sender, recipients = argument.split(":", 1)[1].strip(" <>").split(">")[0], []
                    say("250 OK")
                elif verb == "RCPT":
                    address = argument.split(":", 1)[1].strip(" <>")
                    if address in self.refuse:
                        say("550 no such user")
                    else:
                        recipients.append(address)
                        say("250 OK")
                elif verb == "DATA":
                    say("354 end with <CRLF>.<CRLF>")
                    await writer.drain()
                    lines = []
                    while (part := await reader.readline()) not in (b".\r\n", b".\n", b""):
                        lines.append(part[1:] if part.startswith(b"..") else part)
                    message = email.message_from_bytes(b"".join(lines),
                                                       policy=email.policy.default)
                    self.received.append(Received(sender, recipients, message))  # type: ignore[arg-type]
                    self.arrived.set()
                    say("250 OK queued")
                elif verb == "QUIT":
                    say("221 bye")
                    await writer.drain()
                    break
                else:  # RSET, NOOP...
                    say("250 OK")
                await writer.drain()
        finally:
            writer.close()
