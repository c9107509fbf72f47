"""Builds the speech feature: every recorded call transcribed, summarised and inspected.

It listens for ``recording.complete`` (voice), pushes ``interaction.summary`` to the
agent (their console's wrap-up shows it), adds its figures to the wallboard's queue
tiles (backlog, failed, flagged today) and mounts its API. Worker processes start on
the first call to decode, not before.
"""

from __future__ import annotations

from callcenter.features import Dependencies
from callcenter.wallboard.services import WallboardService

from . import http
from .notifier import SpeechNotifier
from .processing import CallProcessor, PoolKeeper
from .services import SpeechService


def load(deps: Dependencies) -> None:
    pools = PoolKeeper(lambda: deps.config().callcenter.stt)
    processor = CallProcessor(store=deps.store, config=deps.config, pools=pools,
                              clock=deps.clock)
    speech = deps.provide(SpeechService(store=deps.store, bus=deps.bus, config=deps.config,
                                        clock=deps.clock, processor=processor, pools=pools,
                                        notifier=SpeechNotifier(deps.bus, deps.clock)))
    deps.web.add_api(http.api, speech)
    if deps.has(WallboardService):
        deps.need(WallboardService).add_figures("speech", speech.wallboard_figures)
    deps.on_start(speech.start)
    deps.on_stop(speech.stop)
    deps.on_reload(lambda _old, _new: speech.reloaded())
