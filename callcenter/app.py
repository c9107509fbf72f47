"""The composition root: builds the ground from the configuration and loops over the
features' plugins. Nothing else constructs a service; the plugins build their own.

Order on the way up: storage -> routing (the engine) -> the AMI link (if Asterisk)
-> each feature's plugin, in ``PLUGINS`` order, then their start hooks -> the
consoles. On the way down: consoles, routing (pending decisions applied), the
features' stop hooks in reverse, storage, and (an operator's stop only) the
managed Asterisk.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from aiohttp import web

from asterisk import local_asterisk
from callcenter import runtime
from callcenter.admin import plugin as admin_plugin
from callcenter.agents import plugin as agents_plugin
from callcenter.agents.services import AgentService
from callcenter.ami import AmiLink
from callcenter.auth import plugin as auth_plugin
from callcenter.bus import EventBus
from callcenter.config import ConfigError, ConfigIssue, ConfigStore
from callcenter.config.models import Config
from callcenter.config.shipped import is_loopback
from callcenter.consoles.app import make_consoles_app
from callcenter.customers import plugin as customers_plugin
from callcenter.features import AsteriskSide, Dependencies
from callcenter.heap import HeapKeeper
from callcenter.reports import plugin as reports_plugin
from callcenter.routing.mapping import queue_models
from callcenter.routing.services import RoutingService
from callcenter.storage import Store
from callcenter.voice import plugin as voice_plugin
from callcenter.voice.services import VoiceService
from callcenter.wallboard import plugin as wallboard_plugin
from chatbridge import plugin as chat_plugin
from recordings import plugin as speech_plugin

log = logging.getLogger(__name__)

PLUGINS: tuple[ModuleType, ...] = (auth_plugin, customers_plugin, agents_plugin, voice_plugin,
                                   chat_plugin, wallboard_plugin, speech_plugin, admin_plugin,
                                   reports_plugin)
"""The features, in load order: a plugin may need what an earlier one provides."""


@dataclass(frozen=True)
class AsteriskSite:
    """Where the engine finds the Asterisk it controls, on this host."""

    host_root: str
    files_dir: str  # Asterisk's view of the shared folder
    cli: Callable[[str], str] | None = None  # its CLI, when this host may run it


class App:
    """One running contact center: engine, Asterisk control, IVR and consoles.

    ``site``: drive this Asterisk (tests) instead of what callcenter.yaml says;
    ``asterisk=False``: no Asterisk at all (console tests; calls are not routed).
    ``settings``: tunables (``snapshot_interval``, ``password_hasher``).
    ``demo``: the sample's passwords need not be changed at first login (``make run``);
    refused unless the consoles listen on loopback only.
    """

    def __init__(self, config_store: ConfigStore, *, clock: Callable[[], float] = time.time,
                 site: AsteriskSite | None = None, asterisk: bool = True, web: bool = True,
                 settings: dict[str, Any] | None = None, demo: bool = False) -> None:
        self.config_store = config_store
        self.demo = demo
        self.clock = clock
        self._site_override = site
        self._asterisk = asterisk
        self._web_enabled = web
        self._settings = settings or {}
        self._managed: dict[str, Any] | None = None
        self._web_runner: web.AppRunner | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.consoles: web.Application | None = None
        self.web_port: int | None = None
        self._stopped = False
        self._reloading: set[asyncio.Task] = set()

    @property
    def config(self) -> Config:
        return self.config_store.config

    # what tests and the CLI look at
    @property
    def voice(self) -> VoiceService:
        return self.deps.need(VoiceService)

    @property
    def agents(self) -> AgentService:
        return self.deps.need(AgentService)

    @property
    def link(self) -> AmiLink:
        assert self.deps.asterisk is not None
        return self.deps.asterisk.link

    # ---- start / stop -----------------------------------------------------------

    async def start(self) -> None:
        config = self.config
        if self.demo and not is_loopback(config.callcenter.web.bind):
            raise ConfigError([ConfigIssue(
                "callcenter.yaml", None, None, "web.bind",
                f"is {config.callcenter.web.bind}, but demo mode (make run) serves loopback "
                "only: run `callcenter run` without --demo to open the consoles to others")])
        if self.demo:
            log.warning("app.demo_mode", extra={"note": "passwords from agents.yaml need not "
                                                        "be changed; loopback only"})
        site = self._site_override or (self._start_managed_asterisk(config)
                                       if self._asterisk else None)
        self.store = await Store.open(config.callcenter.storage.path,
                                      password_hasher=self._settings.get("password_hasher"))
        self.bus = EventBus()
        self.routing = RoutingService(queues=queue_models(config), store=self.store,
                                      bus=self.bus, clock=self.clock,
                                      timezone=config.callcenter.timezone)
        self.deps = Dependencies(config_store=self.config_store, store=self.store, bus=self.bus,
                                 routing=self.routing, clock=self.clock,
                                 asterisk=self._asterisk_side(site), settings=self._settings,
                                 demo=self.demo)
        for plugin in PLUGINS:
            plugin.load(self.deps)
        await self.routing.start()
        for start in self.deps.starts:
            await start()
        self._unsubscribe = self.config_store.subscribe(self._config_changed)
        if self._web_enabled:
            await self._start_web()
        log.info("app.started", extra={"web_port": self.web_port,
                                       "ami_up": bool(site) and self.link.is_up})

    @property
    def adopted_asterisk(self) -> bool:
        """The managed Asterisk was already running (a previous engine's) and was taken over."""
        return bool(self._managed and self._managed.get("adopted"))

    async def stop(self, *, asterisk: bool = True) -> None:
        """Stop whatever has started, in reverse order; safe after a failed start or twice.

        ``asterisk``: also stop the managed Asterisk (and every call in it). Only an
        operator's stop does that; an engine that dies leaves Asterisk running.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._unsubscribe:
            self._unsubscribe()
        if self._web_runner is not None:
            await self._web_runner.cleanup()
        stops = [self.routing.stop] if hasattr(self, "routing") else []
        if hasattr(self, "deps"):
            stops += list(reversed(self.deps.stops))
        if hasattr(self, "store"):
            stops.append(self.store.close)
        for stop in stops:
            try:
                await stop()
            except Exception:
                log.exception("app.stop_failed", extra={"part": getattr(stop, "__qualname__",
                                                                        "?")})
        if self._managed is not None and asterisk:
            local_asterisk.stop(Path(self._managed["root"]), self._managed["name"])
        log.info("app.stopped")

    # ---- parts --------------------------------------------------------------------

    def _start_managed_asterisk(self, config: Config) -> AsteriskSite:
        asterisk = config.callcenter.asterisk
        if not asterisk.managed:
            return AsteriskSite(host_root=asterisk.host_root, files_dir=asterisk.files_dir)
        ami = config.callcenter.ami
        params = {"AMI_PORT": str(ami.port), "SIP_PORT": str(asterisk.sip_port),
                  "SIP_BIND": asterisk.sip_bind, "WS_PORT": str(asterisk.websocket_port),
                  "AGI_PORT": str(asterisk.agi_port), "RTP_START": str(asterisk.rtp_start),
                  "RTP_END": str(asterisk.rtp_end), "AMI_USER": ami.username,
                  "AMI_SECRET": self._ami_secret(config),
                  "AGI_SECRET": self._agi_secret(config)}
        root = local_asterisk.default_root()
        name = runtime.managed_instance_name(config)
        self._managed = local_asterisk.start(root, name, params)
        if self._managed["adopted"]:
            log.info("app.asterisk_adopted", extra={"pid": self._managed["pid"]})
        return AsteriskSite(host_root=str(root), files_dir=self._managed["instance_inside"],
                            cli=functools.partial(local_asterisk.cli, root, name))

    @staticmethod
    def _ami_secret(config: Config) -> str:
        secret = config.callcenter.ami.secret
        return secret.get_secret_value() if secret else runtime.generated_secret(config, "ami")

    @staticmethod
    def _agi_secret(config: Config) -> str:
        secret = config.callcenter.asterisk.agi_secret
        return secret.get_secret_value() if secret else runtime.generated_secret(config, "agi")

    def _asterisk_side(self, site: AsteriskSite | None) -> AsteriskSide | None:
        if site is None:
            return None
        ami = self.config.callcenter.ami
        link = AmiLink(host=ami.host, port=ami.port, username=ami.username,
                       secret=self._ami_secret(self.config),
                       action_timeout=ami.action_timeout_seconds,
                       ping_interval=ami.ping_interval_seconds,
                       reconnect_max_delay=ami.reconnect_max_delay_seconds)
        return AsteriskSide(link=link, host_root=site.host_root, files_dir=site.files_dir,
                            cli=site.cli, agi_secret=self._agi_secret(self.config))

    async def _start_web(self) -> None:
        config = self.config.callcenter
        self.consoles = make_consoles_app(self.deps)
        self._web_runner = web.AppRunner(self.consoles, access_log=None)
        await self._web_runner.setup()
        site = web.TCPSite(self._web_runner, config.web.bind, config.web.port)
        await site.start()
        self.web_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def _config_changed(self, old: Config, new: Config) -> None:
        """A reload applied: waiting callers keep their place; new rules apply from now."""
        self.routing.update_queues(queue_models(new))
        for changed in self.deps.reloads:
            changed(old, new)

    def reload(self, actor: str = "signal") -> None:
        """Reread the configuration (SIGHUP): read in a worker thread, put in force here."""
        task = asyncio.get_running_loop().create_task(self._reload(actor))
        self._reloading.add(task)
        task.add_done_callback(self._reloading.discard)

    async def _reload(self, actor: str) -> None:
        loaded = await asyncio.to_thread(self.config_store.load, actor=actor)
        result = self.config_store.commit(loaded)
        if result.applied:
            log.info("app.reloaded", extra={"changes": result.diff.summary()})
        else:
            for issue in result.issues:
                log.error("app.reload_refused", extra={"issue": str(issue)})


async def serve(config_dir: Path, *, demo: bool = False, always_open: bool = False) -> None:
    """``callcenter run``: until SIGTERM/SIGINT; SIGHUP reloads the configuration.
    ``always_open`` (a demo's only): business hours never close anything."""
    store = ConfigStore.open(config_dir, adjust=Config.always_open if always_open else None)
    if always_open:
        log.warning("app.always_open", extra={"note": "every queue and IVR schedule is "
                                                      "open around the clock (demo)"})
    pid_file = runtime.pid_file(store.config)
    runtime.claim(pid_file)
    try:
        await _serve(App(store, demo=demo))
    finally:
        runtime.release(pid_file)


async def _serve(app: App) -> None:
    try:
        await app.start()
    except BaseException:
        await app.stop(asterisk=not app.adopted_asterisk)  # never drop calls we took over
        raise
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, app.reload)
    heap = HeapKeeper()  # collector pauses off the relay's tail (callcenter/heap.py)
    heap.start()
    print(f"callcenter running: consoles on http://{app.config.callcenter.web.bind}:"
          f"{app.web_port}/ (agent /agent, wallboard /wallboard, admin /admin)", flush=True)
    await stop.wait()
    await heap.stop()
    await app.stop()


def stop(config_dir: Path) -> str:
    """``callcenter stop``: the running engine and its managed Asterisk, every call with it."""
    config = ConfigStore.open(config_dir).config
    pid = runtime.stop_engine(runtime.pid_file(config))
    if pid is not None:
        return f"stopped the engine (pid {pid}) and its Asterisk"
    if config.callcenter.asterisk.managed:
        name = runtime.managed_instance_name(config)
        if local_asterisk.running(local_asterisk.default_root(), name) is not None:
            local_asterisk.stop(local_asterisk.default_root(), name)
            return "no engine was running; stopped its Asterisk"
    return "nothing was running"
