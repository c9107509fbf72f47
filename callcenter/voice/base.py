"""What every part of the voice side shares: its dependencies, the call book, AMI sending."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.agents.notifier import OfferNotifier
from callcenter.agents.services import AgentService
from callcenter.ami import AmiError, AmiLink
from callcenter.config.models import Config
from callcenter.routing.services import RoutingService
from callcenter.storage import Store
from callcenter.voice.calls import CallBook
from callcenter.voice.notifier import VoiceNotifier

log = logging.getLogger(__name__)


class VoiceError(ValueError):
    """A request the voice side cannot carry out; the message says why."""


class NoTelephone(VoiceError):
    """No Asterisk is connected to this engine (chat only, or console tests)."""


@dataclass(frozen=True)
class AsteriskPaths:
    """Where Asterisk's files are, seen from Asterisk and from this host."""

    host_root: str
    recordings_spool: str  # Asterisk writes recordings here (its own view)
    recordings_archive: Path  # finished recordings are moved here (this host)
    prompts_dir: str  # rendered prompts (Asterisk's view)

    def on_host(self, asterisk_path: str) -> Path:
        return Path(self.host_root + asterisk_path) if self.host_root else Path(asterisk_path)


@dataclass
class VoiceDeps:
    link: AmiLink
    routing: RoutingService
    agents: AgentService
    store: Store
    offers: OfferNotifier
    notifier: VoiceNotifier
    config: Callable[[], Config]
    paths: AsteriskPaths
    book: CallBook = field(default_factory=CallBook)
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    def clock(self) -> float:
        return self.routing.clock()

    async def send(self, actions: Iterable[dict[str, Any]], what: str) -> bool:
        """Send actions in order; stop at the first that fails (logged). True if all ran."""
        for action in actions:
            try:
                await self.link.action(action)
            except AmiError as exc:
                log.warning("voice.action_failed", extra={"what": what,
                                                          "action": action.get("Action"),
                                                          "error": str(exc)})
                return False
        return True

    def post(self, actions: Iterable[dict[str, Any]], what: str,
             on_failure: Callable[[], None] | None = None) -> bool:
        """Write actions to Asterisk now, in order, and check their answers in the
        background: nothing after this waits for Asterisk's round trips (the engine's
        next decision, the next AMI event). Asterisk runs them in order anyway; if one
        fails (logged) ``on_failure`` runs once. False if the link is down (not sent)."""
        answers: list[tuple[dict[str, Any], Awaitable[Any]]] = []
        try:
            for action in actions:
                answers.append((action, self.link.send_now(action)))
        except AmiError as exc:
            log.warning("voice.action_failed", extra={"what": what, "error": str(exc)})
            for _, answer in answers:
                answer.close()  # type: ignore[attr-defined]  # a coroutine never awaited
            return False

        async def check() -> None:
            failed = False
            for action, answer in answers:
                try:
                    await answer
                except AmiError as exc:
                    failed = True
                    log.warning("voice.action_failed", extra={
                        "what": what, "action": action.get("Action"), "error": str(exc)})
            if failed and on_failure is not None:
                on_failure()

        self.in_background(check())
        return True

    def in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run work that must not hold up the AMI event stream; failures are logged."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("voice.background_failed", exc_info=task.exception())

    def endpoint(self, extension: str) -> str:
        return f"{self.config().callcenter.asterisk.agent_endpoint_prefix}{extension}"

    def extension_of(self, endpoint: str) -> str:
        return endpoint.removeprefix(self.config().callcenter.asterisk.agent_endpoint_prefix)
