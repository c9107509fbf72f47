"""Every event payload the speech feature publishes on the bus.

* ``interaction.summary`` ``{task_id, text, status}`` (``agent_id``: the agent who
  handled the call) — the masked summary paragraph, pushed to that agent's console
  (the agents feature's audience delivers it; their wrap-up form shows it). When
  the call could not be transcribed, ``text`` says so and ``status`` is ``failed``.

It consumes ``recording.complete`` ``{task_id}`` (the voice feature's). What the
wallboard shows (backlog, the day's flagged calls) is not an event: the wallboard
asks ``SpeechService.wallboard_figures`` each time it builds a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.bus import EventBus

CONSUMES = "recording.complete"
SUMMARY = "interaction.summary"


class SpeechNotifier:
    def __init__(self, bus: EventBus, clock: Callable[[], float]) -> None:
        self.bus = bus
        self.clock = clock

    def summary(self, task_id: str, agent_id: str | None, text: str, status: str) -> None:
        self.bus.publish(SUMMARY, {"task_id": task_id, "text": text, "status": status},
                         at=self.clock(), agent_id=agent_id)
