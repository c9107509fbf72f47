"""The composition root: builds every part from the configuration and wires them.

Nothing else in the code base constructs adapters or reaches across features;
this module does, once, in ``App.start``. The order matters:

storage -> engine + routing -> AMI link -> voice -> IVR server -> web,
and the reverse on the way down, so no event finds its handler gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import random
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import acd
from callcenter import runtime
from callcenter.agents.notifier import OfferNotifier
from callcenter.agents.services import AgentService
from callcenter.ami import AmiError, AmiLink
from callcenter.bus import EventBus
from callcenter.config import ConfigStore
from callcenter.config.models import Config
from callcenter.customers.services import CustomerService
from callcenter.routing.mapping import queue_models
from callcenter.routing.services import RoutingService
from callcenter.storage import Store
from callcenter.voice.base import AsteriskPaths, VoiceDeps
from callcenter.voice.endpoints import render_endpoints, write_if_changed
from callcenter.voice.notifier import VoiceNotifier
from callcenter.voice.services import VoiceService
from ivr import prompts
from ivr.fastagi import IvrServer

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parent.parent


def _available(module: str) -> bool:
    """Whether an optional feature's module is present (the consoles may be absent)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def load_local_asterisk() -> Any:
    """``asterisk/local_asterisk.py`` is a stdlib script, not a package: load it by path."""
    spec = importlib.util.spec_from_file_location("local_asterisk",
                                                  REPO / "asterisk" / "local_asterisk.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("asterisk/local_asterisk.py is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("local_asterisk", module)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class AsteriskSite:
    """Where the engine finds the Asterisk it controls, on this host."""

    host_root: str
    files_dir: str  # Asterisk's view of the shared folder

    def host_path(self, inside: str) -> Path:
        return Path(self.host_root + inside) if self.host_root else Path(inside)

    @property
    def endpoints_file(self) -> Path:
        return self.host_path(f"{self.files_dir}/include/pjsip_agents.conf")

    def paths(self, archive: Path) -> AsteriskPaths:
        return AsteriskPaths(host_root=self.host_root,
                             recordings_spool=f"{self.files_dir}/recordings",
                             recordings_archive=archive, prompts_dir=f"{self.files_dir}/sounds")


class App:
    """One running contact center: engine, Asterisk control, IVR and consoles."""

    def __init__(self, config_store: ConfigStore, *, clock: Callable[[], float] = time.time,
                 site: AsteriskSite | None = None, web: bool = True) -> None:
        self.config_store = config_store
        self.clock = clock
        self._site_override = site
        self._web_enabled = web
        self._managed: dict[str, Any] | None = None
        self._web_runner: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self.web_port: int | None = None
        self._stopped = False

    @property
    def config(self) -> Config:
        return self.config_store.config

    # ---- start / stop -----------------------------------------------------------

    async def start(self) -> None:
        config = self.config
        self.site = self._site_override or self._start_managed_asterisk(config)
        self.store = await Store.open(config.callcenter.storage.path)
        self.bus = EventBus()
        self.engine = acd.Engine(queues=queue_models(config), rng=random.Random())
        self.stats = acd.Stats(queues=queue_models(config))
        self.routing = RoutingService(engine=self.engine, stats=self.stats, store=self.store,
                                      bus=self.bus, clock=self.clock)
        self.agents = AgentService(routing=self.routing, store=self.store,
                                   config=lambda: self.config, bus=self.bus)
        ami = config.callcenter.ami
        self.link = AmiLink(host=ami.host, port=ami.port, username=ami.username,
                            secret=ami.secret.get_secret_value(),
                            action_timeout=ami.action_timeout_seconds,
                            ping_interval=ami.ping_interval_seconds,
                            reconnect_max_delay=ami.reconnect_max_delay_seconds)
        archive = config.callcenter.recordings.directory
        self.customers = CustomerService(self.store, lambda: self.config, self.clock)
        self.offers = OfferNotifier(bus=self.bus, agents=self.agents,
                                    screen_pop=self.customers.screen_pop, clock=self.clock,
                                    config=lambda: self.config)
        self.voice = VoiceService(VoiceDeps(
            link=self.link, routing=self.routing, agents=self.agents, store=self.store,
            offers=self.offers, notifier=VoiceNotifier(self.bus, self.clock),
            config=lambda: self.config, paths=self.site.paths(archive)))
        self.routing.attach(acd.VOICE, self.voice)
        self.agents.device_probe = self.voice.probe_device
        await self.routing.start()
        await self.agents.restore()
        await self.link.start()
        await self._render_prompts()
        asterisk = config.callcenter.asterisk
        self.ivr = IvrServer(host=asterisk.agi_host, port=asterisk.agi_port,
                             config=lambda: self.config, on_routed=self.voice.route_call,
                             prompts_dir=lambda: f"{self.site.files_dir}/sounds")
        await self.ivr.start()
        with contextlib.suppress(TimeoutError):
            await self.link.wait_up(10)
        await self._sync_endpoints()
        await self._sync_users()
        self._unsubscribe = self.config_store.subscribe(self._config_changed)
        if self._web_enabled:
            await self._start_web()
        log.info("app.started", extra={"web_port": self.web_port, "ami_up": self.link.is_up})

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
        if hasattr(self, "agents"):
            await self.agents.saved()
        for part, method in (("ivr", "close"), ("routing", "stop"), ("link", "close"),
                             ("store", "close")):
            if hasattr(self, part):
                try:
                    await getattr(getattr(self, part), method)()
                except Exception:
                    log.exception("app.stop_failed", extra={"part": part})
        if self._managed is not None and asterisk:
            local = load_local_asterisk()
            local.stop(Path(self._managed["root"]), self._managed["name"])
        log.info("app.stopped")

    # ---- parts --------------------------------------------------------------------

    def _start_managed_asterisk(self, config: Config) -> AsteriskSite:
        asterisk = config.callcenter.asterisk
        if not asterisk.managed:
            return AsteriskSite(host_root=asterisk.host_root, files_dir=asterisk.files_dir)
        local = load_local_asterisk()
        ami = config.callcenter.ami
        params = {"AMI_PORT": str(ami.port), "SIP_PORT": str(asterisk.sip_port),
                  "AGI_PORT": str(asterisk.agi_port), "RTP_START": str(asterisk.rtp_start),
                  "RTP_END": str(asterisk.rtp_end), "AMI_USER": ami.username,
                  "AMI_SECRET": ami.secret.get_secret_value()}
        root = local.default_root()
        self._managed = local.start(root, runtime.managed_instance_name(config), params)
        if self._managed["adopted"]:
            log.info("app.asterisk_adopted", extra={"pid": self._managed["pid"]})
        return AsteriskSite(host_root=str(root), files_dir=self._managed["instance_inside"])

    async def _render_prompts(self) -> None:
        config = self.config
        out = self.site.host_path(f"{self.site.files_dir}/sounds")
        texts = list(prompts.prompts_in(config.ivr, config.queues))
        try:
            written = await asyncio.to_thread(prompts.render, iter(texts), out)
        except (RuntimeError, OSError) as exc:
            log.error("app.prompts_not_rendered", extra={"error": str(exc)})
            return
        if written:
            log.info("app.prompts_rendered", extra={"count": len(written)})

    async def _sync_endpoints(self) -> None:
        config = self.config
        text = render_endpoints(config.agents, config.callcenter.asterisk.agent_endpoint_prefix)
        changed = write_if_changed(self.site.endpoints_file, text)
        if changed or self.link.connects <= 1:
            try:
                await self.link.action({"Action": "Command",
                                        "Command": "module reload res_pjsip.so"})
            except AmiError as exc:
                log.error("app.pjsip_reload_failed", extra={"error": str(exc)})

    async def _sync_users(self) -> None:
        if not _available("callcenter.auth.services"):
            return
        from callcenter.auth.services import sync_users

        await sync_users(self.config, self.store)

    async def _start_web(self) -> None:
        if not _available("callcenter.web.app"):
            log.warning("app.no_web")
            return
        from aiohttp import web

        from callcenter.web.app import make_web_app
        from callcenter.web.deps import WebDeps

        config = self.config.callcenter
        deps = WebDeps(config_store=self.config_store, store=self.store, bus=self.bus,
                       engine=self.engine, stats=self.stats, routing=self.routing,
                       agents=self.agents, voice=self.voice, clock=self.clock,
                       asterisk_sip={"host": "127.0.0.1", "port": config.asterisk.sip_port,
                                     "transport": "udp"})
        self._web_runner = web.AppRunner(make_web_app(deps), access_log=None)
        await self._web_runner.setup()
        site = web.TCPSite(self._web_runner, config.web.bind, config.web.port)
        await site.start()
        self.web_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def _config_changed(self, old: Config, new: Config) -> None:
        """A reload applied: waiting callers keep their place; new rules apply from now."""
        self.routing.submit(lambda now: self.engine.update_queues(queue_models(new), now))
        self.stats.update_queues(queue_models(new))
        self.agents.refresh()
        task = asyncio.get_running_loop().create_task(self._after_reload())
        task.add_done_callback(lambda t: t.exception() and log.error(
            "app.reload_followup_failed", extra={"error": str(t.exception())}))

    async def _after_reload(self) -> None:
        await self._render_prompts()
        await self._sync_endpoints()
        await self._sync_users()

    def reload(self, actor: str = "signal") -> None:
        result = self.config_store.reload(actor=actor)
        if result.applied:
            log.info("app.reloaded", extra={"changes": result.diff.summary()})
        else:
            for issue in result.issues:
                log.error("app.reload_refused", extra={"issue": str(issue)})


async def serve(config_dir: Path) -> None:
    """``callcenter run``: until SIGTERM/SIGINT; SIGHUP reloads the configuration."""
    store = ConfigStore.open(config_dir)
    pid_file = runtime.pid_file(store.config)
    runtime.claim(pid_file)
    try:
        await _serve(App(store))
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
    print(f"callcenter running: consoles on http://{app.config.callcenter.web.bind}:"
          f"{app.web_port}/ (agent /agent, wallboard /wallboard, admin /admin)", flush=True)
    await stop.wait()
    await app.stop()


def stop(config_dir: Path) -> str:
    """``callcenter stop``: the running engine and its managed Asterisk, every call with it."""
    config = ConfigStore.open(config_dir).config
    pid = runtime.stop_engine(runtime.pid_file(config))
    if pid is not None:
        return f"stopped the engine (pid {pid}) and its Asterisk"
    if config.callcenter.asterisk.managed:
        local = load_local_asterisk()
        name = runtime.managed_instance_name(config)
        if local.running(local.default_root(), name) is not None:
            local.stop(local.default_root(), name)
            return "no engine was running; stopped its Asterisk"
    return "nothing was running"
