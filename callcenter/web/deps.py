"""What the web application needs from the rest of the engine.

The composition root builds one ``WebDeps`` and passes it to ``make_web_app``. Every
field is a real, running part of the engine; nothing here is created by the web app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import acd
from callcenter.agents.services import AgentService
from callcenter.bus import EventBus
from callcenter.config import ConfigStore
from callcenter.routing.services import RoutingService
from callcenter.storage import DEFAULT_SESSION_TTL, Store


@dataclass
class WebDeps:
    config_store: ConfigStore
    """``.config`` is the configuration in force; the admin console edits through it."""
    store: Store
    bus: EventBus
    engine: acd.Engine
    stats: acd.Stats
    routing: RoutingService
    """Started by the composition root (the web app never starts or stops it)."""
    agents: AgentService
    voice: Any | None
    """``await voice.spy(supervisor_id, agent_id, mode)`` (mode listen|whisper|barge);
    raises ``ValueError`` with a message on a bad request. None: no Asterisk."""
    clock: Callable[[], float]
    """Wall-clock seconds; the same clock the routing service uses."""
    asterisk_sip: dict[str, Any] = field(
        default_factory=lambda: {"host": "127.0.0.1", "port": 5060, "transport": "udp"})
    """Where softphones register: ``{"host", "port", "transport"}`` (shown to agents)."""
    session_ttl: float = DEFAULT_SESSION_TTL
    """A console session ends this long after its last use (sliding)."""
    snapshot_interval: float = 1.0
    """Seconds between wallboard snapshots pushed to supervisors when nothing happens."""
