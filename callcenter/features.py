"""What the composition root hands every feature's plugin, and what a plugin gives back.

A feature is a folder with the same rooms (the shape of wazo-calld's plugins):
``plugin.py`` builds the feature from these dependencies and is the only place
that constructs its objects; ``http.py`` is thin and calls its own service only;
``services.py`` does the work; ``schemas.py`` holds its request and response
models; ``notifier.py`` writes every event payload the feature publishes. The
root (``callcenter.app``) loads the plugins in order; a plugin finds what an
earlier one provided with ``deps.need(SomeService)``.

Nothing here imports a feature: this module sits below them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiohttp import web

from callcenter.ami import AmiLink
from callcenter.bus import BusEvent, EventBus
from callcenter.config import ConfigStore
from callcenter.config.models import Config
from callcenter.routing.services import RoutingService
from callcenter.storage import Store
from callcenter.webkit.endpoints import Api
from callcenter.webkit.principal import Principal

T = TypeVar("T")

Audience = Callable[[Principal, BusEvent], bool]
"""Whether a console user's WebSocket gets a bus event (any feature's rule may say yes)."""


@dataclass(frozen=True, slots=True)
class TopicAudience:
    """An audience rule that only ever accepts events of ``topics``: the hub asks it about
    those alone (every event is checked against every open console, so a rule asked
    about every topic costs each event once per console)."""

    topics: frozenset[str]
    rule: Audience

    def __call__(self, user: Principal, event: BusEvent) -> bool:
        return event.topic in self.topics and self.rule(user, event)

Shaper = Callable[[dict[str, Any], Principal], dict[str, Any]]
"""What of an event's data a given user sees (the wallboard, cut to a supervisor's teams)."""
Greeter = Callable[[Principal], Awaitable[list[tuple[str, dict[str, Any]]]]]
"""(topic, data) messages a console gets as soon as its WebSocket opens."""


class Plugin(Protocol):
    def load(self, deps: Dependencies) -> None: ...


@dataclass(frozen=True)
class AsteriskSide:
    """The Asterisk the voice feature drives: its AMI link and where its files are."""

    link: AmiLink
    host_root: str
    files_dir: str  # Asterisk's view of the folder both share
    cli: Callable[[str], str] | None = None
    """Runs an Asterisk CLI command (blocking) where the engine may: a managed Asterisk's
    control socket. The AMI user has no "command" right, so reloads go this way."""
    agi_secret: str = ""
    """What Asterisk answers for the dialplan's global CC_AGI_KEY: the IVR's proof."""

    def host_path(self, inside: str) -> str:
        return self.host_root + inside if self.host_root else inside


@dataclass
class WebParts:
    """What features add to the consoles: route tables, and who sees which live events."""

    apis: list[tuple[Api, Any]] = field(default_factory=list)
    audiences: list[Audience] = field(default_factory=list)
    """Rules; a ``TopicAudience`` is asked only about its topics, a plain one about all."""
    shapers: dict[str, Shaper] = field(default_factory=dict)
    greeters: list[Greeter] = field(default_factory=list)
    watchers: Callable[[str], int] = lambda _topic: 0
    """How many open consoles receive a topic (set by the consoles once they run)."""
    sockets: dict[str, Callable[[], int]] = field(default_factory=dict)
    """Open WebSockets by kind ("console", "widget"), for metrics: each count is given by
    the part that holds the sockets."""
    routes: list[web.RouteDef] = field(default_factory=list)
    """Routes for machines that prove who they are themselves (WeChat's signed callback):
    mounted as they are, outside the guard (no session, no Origin check)."""
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Run when the consoles stop: close a feature's own long-lived sockets (the chat
    widget's), which would otherwise hold the server's shutdown for its whole timeout."""

    def add_api(self, api: Api, service: Any) -> None:
        """Mount ``api``; its handlers reach ``service`` (and only it) as ``call.service``."""
        self.apis.append((api, service))


@dataclass
class Dependencies:
    config_store: ConfigStore
    store: Store
    bus: EventBus
    routing: RoutingService
    clock: Callable[[], float]
    asterisk: AsteriskSide | None = None
    """None when the engine runs without Asterisk (console tests, chat-only)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Tunables for plugins (``snapshot_interval``, ``password_hasher``): tests shorten them."""
    demo: bool = False
    """``make run`` on loopback: the sample's passwords need not be changed first."""
    web: WebParts = field(default_factory=WebParts)
    starts: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    stops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    reloads: list[Callable[[Config, Config], None]] = field(default_factory=list)
    _provided: dict[type, Any] = field(default_factory=dict)

    def config(self) -> Config:
        return self.config_store.config

    def provide(self, service: T) -> T:
        """Offer a service to the plugins loaded after this one."""
        self._provided[type(service)] = service
        return service

    def need(self, kind: type[T]) -> T:
        try:
            return self._provided[kind]
        except KeyError:
            raise LookupError(f"no {kind.__name__}: its feature's plugin must load first") \
                from None

    def has(self, kind: type) -> bool:
        return kind in self._provided

    def on_start(self, start: Callable[[], Awaitable[None]]) -> None:
        """Run once everything is built (in plugin order)."""
        self.starts.append(start)

    def on_stop(self, stop: Callable[[], Awaitable[None]]) -> None:
        """Run when the engine stops (in reverse plugin order)."""
        self.stops.append(stop)

    def on_reload(self, changed: Callable[[Config, Config], None]) -> None:
        """Run after a configuration reload was applied (old, new)."""
        self.reloads.append(changed)
