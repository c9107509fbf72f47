"""A softphone that fetches its own settings: Linphone's remote provisioning.

The agent asks their console for a link (``POST /api/agent/softphone/provisioning``)
and types or pastes it into Linphone ("Fetch remote configuration"); Linphone gets an
XML with the server, user name and SIP password. The link carries a random token
instead of a session (Linphone has none): it works once, for ``TOKEN_MINUTES``, and a
new link replaces the agent's previous one. Tokens live in memory only: a restart
ends them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

TOKEN_MINUTES = 10


@dataclass(frozen=True)
class Grant:
    agent_id: str
    expires_at: float


class Provisioning:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._grants: dict[str, Grant] = {}

    def grant(self, agent_id: str) -> tuple[str, float]:
        """A new one-time token for the agent (their older one stops working)."""
        now = self.clock()
        self._grants = {t: g for t, g in self._grants.items()
                        if g.agent_id != agent_id and g.expires_at > now}
        token = secrets.token_urlsafe(24)
        expires = now + TOKEN_MINUTES * 60
        self._grants[token] = Grant(agent_id, expires)
        return token, expires

    def redeem(self, token: str) -> str | None:
        """The agent the token was for, once; None if unknown, used or expired."""
        grant = self._grants.pop(token, None)
        if grant is None or grant.expires_at <= self.clock():
            return None
        return grant.agent_id


def linphone_xml(*, name: str, username: str, password: str, host: str, port: int,
                 transport: str, realm: str = "callcenter") -> str:
    """Linphone's lpconfig XML: one SIP account (proxy_0) and its credentials."""
    def entry(key: str, value: str) -> str:
        return f'    <entry name="{key}" overwrite="true">{escape(value)}</entry>\n'

    proxy = f"<sip:{host}:{port};transport={transport.lower()}>"
    identity = f'"{name}" <sip:{username}@{host}>'
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<config xmlns="http://www.linphone.org/xsds/lpconfig.xsd">\n'
            '  <section name="proxy_0">\n'
            + entry("reg_proxy", proxy) + entry("reg_identity", identity)
            + entry("reg_expires", "3600") + entry("reg_sendregister", "1")
            + '  </section>\n  <section name="auth_info_0">\n'
            + entry("username", username) + entry("passwd", password)
            + entry("realm", realm) + entry("domain", host)
            + "  </section>\n</config>\n")
