"""Builds the voice feature: calls over AMI, the IVR over FastAGI, agents' phones.

Needs an Asterisk (``deps.asterisk``); without one (console tests, chat only) only
its API is mounted, and every request answers that no telephone system is connected.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import subprocess
from pathlib import Path

import acd
from callcenter.agents.notifier import OfferNotifier
from callcenter.agents.services import AgentService
from callcenter.bus import BusEvent
from callcenter.customers.services import CustomerService
from callcenter.features import AsteriskSide, Dependencies, TopicAudience
from callcenter.webkit.principal import Principal
from ivr import prompts
from ivr.fastagi import IvrServer

from . import http
from .base import AsteriskPaths, NoTelephone, VoiceDeps
from .endpoints import render_endpoints, write_if_changed
from .messages import CHANNEL as MESSAGE_CHANNEL
from .messages import MessageDesk
from .notifier import VoiceNotifier
from .phrases import phrases_in
from .services import VoiceService

log = logging.getLogger(__name__)


class WithoutTelephone:
    """The voice API's service when the engine runs without Asterisk."""

    def __init__(self, deps: Dependencies) -> None:
        self.config = deps.config

    async def transfer(self, *_args: object, **_kwargs: object) -> dict[str, str]:
        raise NoTelephone("no telephone system is connected")

    async def spy(self, *_args: object) -> dict[str, str]:
        raise NoTelephone("no telephone system is connected")

    async def call_state(self, *_args: object, **_kwargs: object) -> dict[str, str]:
        raise NoTelephone("no telephone system is connected")

    hold = mute = hangup = why_no_calls = dial = consult = end_consult = call_state


def load(deps: Dependencies) -> None:
    deps.web.audiences.append(TopicAudience(frozenset({"callback.attempt"}), _own_callback))
    deps.web.audiences.append(TopicAudience(frozenset({"call.control", "call.outbound"}),
                                            _own_call))
    asterisk = deps.asterisk
    if asterisk is None:
        deps.web.add_api(http.api, WithoutTelephone(deps))
        desk = deps.provide(MessageDesk(store=deps.store, routing=deps.routing,
                                        offers=deps.need(OfferNotifier),
                                        request_callback=None))
        deps.web.add_api(http.messages_api, desk)
        deps.routing.attach(MESSAGE_CHANNEL, desk)
        return
    config = deps.config()
    agents = deps.need(AgentService)
    paths = AsteriskPaths(host_root=asterisk.host_root,
                          recordings_spool=f"{asterisk.files_dir}/recordings",
                          recordings_archive=config.callcenter.recordings.directory,
                          prompts_dir=f"{asterisk.files_dir}/sounds")
    voice = deps.provide(VoiceService(VoiceDeps(
        link=asterisk.link, routing=deps.routing, agents=agents, store=deps.store,
        offers=deps.need(OfferNotifier), notifier=VoiceNotifier(deps.bus, deps.clock),
        config=deps.config, paths=paths)))
    deps.routing.attach(acd.VOICE, voice)
    voice.dialout.customers = deps.need(CustomerService)  # calling a customer back
    deps.routing.attach(MESSAGE_CHANNEL, voice.messages)
    agents.device_probe = voice.probe_device
    deps.web.add_api(http.api, voice)
    deps.web.add_api(http.messages_api, deps.provide(MessageDesk(
        store=deps.store, routing=deps.routing, offers=deps.need(OfferNotifier),
        request_callback=voice.request_callback)))
    ivr = IvrServer(host=config.callcenter.asterisk.agi_host,
                    port=config.callcenter.asterisk.agi_port, config=deps.config,
                    on_routed=voice.route_call, prompts_dir=lambda: paths.prompts_dir,
                    key=asterisk.agi_secret, allowed_peer=lambda peer: _is_asterisk(deps, peer),
                    channel_exists=voice.channel_exists, resume=voice.requeue)
    setup = AsteriskSetup(deps, asterisk)

    reconciling: list[asyncio.Task[None]] = []

    async def start() -> None:
        reconciling.append(asyncio.get_running_loop().create_task(
            voice.recovery.keep_reconciling(
                lambda: deps.config().callcenter.asterisk.reconcile_seconds)))
        await asterisk.link.start()
        await setup.render_prompts()
        await ivr.start()
        try:
            await asterisk.link.wait_up(10)
        except TimeoutError:
            log.error("voice.no_ami", extra={"waited_s": 10})
        await setup.sync_endpoints()
        await voice.messages.resume()

    async def stop() -> None:
        for task in reconciling:
            task.cancel()
        voice.messages.close()
        await ivr.close()
        await asterisk.link.close()

    def reloaded(_old, _new) -> None:
        voice.messages.reconsider()  # business hours may have changed
        task = asyncio.get_running_loop().create_task(setup.after_reload())
        task.add_done_callback(lambda t: t.exception() and log.error(
            "voice.reload_followup_failed", extra={"error": str(t.exception())}))

    deps.on_start(start)
    deps.on_stop(stop)
    deps.on_reload(reloaded)


def _own_call(user: Principal, event: BusEvent) -> bool:
    """``call.control`` and ``call.outbound`` go to the agent whose call it is, and nobody
    else."""
    return event.topic in ("call.control", "call.outbound") and user.agent_id is not None \
        and event.agent_id == user.agent_id


def _own_callback(user: Principal, event: BusEvent) -> bool:
    """``callback.attempt`` goes to the agent making the callback, and nobody else."""
    return event.topic == "callback.attempt" and user.agent_id is not None \
        and event.agent_id == user.agent_id


def _is_asterisk(deps: Dependencies, peer: str) -> bool:
    """FastAGI connections come from the Asterisk host (``ami.host``) and nowhere else."""
    host = deps.config().callcenter.ami.host
    try:
        expected = ipaddress.ip_address(socket.gethostbyname(host))
        seen = ipaddress.ip_address(peer)
    except (OSError, ValueError):
        return False
    return seen == expected or (seen.is_loopback and expected.is_loopback)


class AsteriskSetup:
    """What Asterisk needs from the configuration: prompts, agents' SIP endpoints."""

    def __init__(self, deps: Dependencies, asterisk: AsteriskSide) -> None:
        self.deps = deps
        self.asterisk = asterisk

    async def render_prompts(self) -> None:
        config = self.deps.config()
        out = Path(self.asterisk.host_path(f"{self.asterisk.files_dir}/sounds"))
        texts = [*prompts.prompts_in(config.ivr, config.queues), *phrases_in(config)]
        try:
            written = await asyncio.to_thread(prompts.render, iter(texts), out)
        except (RuntimeError, OSError) as exc:
            log.error("voice.prompts_not_rendered", extra={"error": str(exc)})
            return
        if written:
            log.info("voice.prompts_rendered", extra={"count": len(written)})

    async def sync_endpoints(self) -> None:
        """agents.yaml -> the endpoints include file; PJSIP reloads when it changed.

        The reload goes through Asterisk's CLI (the AMI user may not run commands);
        an Asterisk this host cannot reach that way is told in the log to reload.
        """
        config = self.deps.config()
        text = render_endpoints(config.agents, config.callcenter.asterisk.agent_endpoint_prefix)
        target = Path(self.asterisk.host_path(
            f"{self.asterisk.files_dir}/include/pjsip_agents.conf"))
        changed = write_if_changed(target, text)
        if not changed and self.asterisk.link.connects > 1:
            return
        if self.asterisk.cli is None:
            if changed:
                log.warning("voice.pjsip_reload_needed",
                            extra={"run": "module reload res_pjsip.so", "file": str(target)})
            return
        try:
            await asyncio.to_thread(self.asterisk.cli, "module reload res_pjsip.so")
        except (OSError, subprocess.SubprocessError) as exc:
            log.error("voice.pjsip_reload_failed", extra={"error": str(exc)})

    async def after_reload(self) -> None:
        await self.render_prompts()
        await self.sync_endpoints()
