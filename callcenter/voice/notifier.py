"""Every event payload the voice side publishes on the bus (besides the agent's offers).

* ``caller.position`` ``{task_id, position, expected_wait}`` (queue) — a waiting caller's place;
* ``callback.attempt`` ``{task_id, outcome}`` (agent) — a callback the agent took:
  ``dialing`` the customer, ``answered``, or why not (``no answer``, ``busy``...);
* ``recording.complete`` ``{task_id}`` — the call's recording files are archived;
* ``call.control`` ``{task_id, held, muted, held_since, hold_seconds, consult,
  consult_answered, conference}`` (agent) — the agent's own call changed from the console
  (to that agent's consoles only); ``consult`` names whom the agent consults (an agent id
  or a masked number);
* ``call.outbound`` ``{task_id, status, number, reason}`` (agent) — the agent's dial-out:
  ``ringing_agent`` (their phone), ``dialing`` (the number), ``answered``, ``unreached``
  (``reason``: no answer, busy...), ``ended``; ``number`` is masked.

Offers, withdrawals, ringing, connected and wrap-up go to the agent through
``callcenter.agents.notifier.OfferNotifier``, one writer for every channel.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.bus import EventBus


class VoiceNotifier:
    def __init__(self, bus: EventBus, clock: Callable[[], float]) -> None:
        self.bus = bus
        self.clock = clock

    def position(self, task_id: str, queue: str, position: int,
                 expected_wait: float | None) -> None:
        self.bus.publish("caller.position", {"task_id": task_id, "position": position,
                                             "expected_wait": expected_wait},
                         at=self.clock(), queue=queue)

    def callback_attempt(self, agent_id: str, task_id: str, outcome: str) -> None:
        self.bus.publish("callback.attempt", {"task_id": task_id, "outcome": outcome},
                         at=self.clock(), agent_id=agent_id)

    def recording_complete(self, task_id: str) -> None:
        self.bus.publish("recording.complete", {"task_id": task_id}, at=self.clock())

    def call_control(self, agent_id: str, task_id: str, *, held: bool, muted: bool,
                     held_since: float | None, hold_seconds: float, consult: str | None,
                     consult_answered: bool, conference: bool) -> None:
        self.bus.publish("call.control", {"task_id": task_id, "held": held, "muted": muted,
                                          "held_since": held_since,
                                          "hold_seconds": round(hold_seconds, 3),
                                          "consult": consult,
                                          "consult_answered": consult_answered,
                                          "conference": conference},
                         at=self.clock(), agent_id=agent_id)

    def outbound(self, agent_id: str, task_id: str, *, status: str, number: str,
                 reason: str | None) -> None:
        self.bus.publish("call.outbound", {"task_id": task_id, "status": status,
                                           "number": number, "reason": reason},
                         at=self.clock(), agent_id=agent_id)
