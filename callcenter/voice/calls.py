"""What the voice side knows about each queued call, and how to find it by channel.

A call is found by its task id, by the caller's channel uniqueid, or by the
uniqueid of an agent's leg (a ringing or connected agent). An offer the engine
made is a ``Ring``: dialled from the caller's channel when the caller is on
hold, matched to the agent's leg by the device it rings.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Ring:
    """One offer of the call to one agent's device."""

    offer_id: str
    agent_id: str
    endpoint: str
    dialled: bool = False
    leg_uid: str | None = None  # the agent's leg, once Asterisk has created it
    channel: str | None = None
    withdrawn: bool = False  # the engine took it back; the leg is hung up when seen
    answered: bool = False  # the device answered (DialEnd ANSWER); its verdict may follow
    rang: bool = False  # the device's ringing was published (once, whichever event told)


@dataclass
class VoiceCall:
    task_id: str
    caller_uid: str
    queue: str
    caller_number: str
    customer_id: int | None
    holding: bool = False  # in cc-hold: an offer can be dialled now
    dialling: bool = False  # sent to cc-offer, not yet back on hold
    callback: bool = False
    callback_id: int | None = None
    callback_dialling: bool = False  # the agent answered; the customer is being dialled
    rings: dict[str, Ring] = field(default_factory=dict)  # offer id -> ring
    offer_id: str | None = None  # the offer being rung (or, once connected, accepted)
    agent_id: str | None = None
    agent_uid: str | None = None  # the agent's leg
    agent_channel: str | None = None
    connected: bool = False
    bridge_formed: asyncio.Event = field(default_factory=asyncio.Event, repr=False, compare=False)
    """Set when the connected agent's leg joined a bridge: caller and agent hear each
    other. Between the engine's accept and this the agent's leg still waits in the
    pre-bridge handler, where nothing may be done to it (a Redirect ends it)."""
    ended: bool = False
    hung_up_by: str | None = None  # "agent" from the console: whichever leg's Hangup comes first
    recordings: list[int] = field(default_factory=list)
    position: tuple[int, float | None] | None = None
    dialplan_variables: dict[str, str] = field(default_factory=dict)
    """What the IVR's end set on the caller's channel (given again if it comes back)."""

    def ring_for(self, endpoint: str) -> Ring | None:
        """The live ring on a device (the newest, if a withdrawn one is still around)."""
        found = None
        for ring in self.rings.values():
            if ring.endpoint == endpoint and (found is None or not ring.withdrawn):
                found = ring
        return found

    def connect(self, ring: Ring) -> None:
        self.rings.pop(ring.offer_id, None)
        self.connected = True
        self.bridge_formed.clear()
        self.offer_id, self.agent_id = ring.offer_id, ring.agent_id
        self.agent_uid, self.agent_channel = ring.leg_uid, ring.channel

    @property
    def bridged(self) -> bool:
        return self.connected and self.bridge_formed.is_set()

    def clear_agent(self) -> None:
        self.offer_id = self.agent_id = self.agent_uid = self.agent_channel = None


def endpoint_of(channel: str) -> str:
    """``PJSIP/1001-0000002a`` -> ``1001`` (the device a channel is on)."""
    name = channel.partition("/")[2]
    return name.rpartition("-")[0] or name


class CallBook:
    """The calls in progress, indexed by task, caller channel and agent leg."""

    def __init__(self) -> None:
        self.calls: dict[str, VoiceCall] = {}
        self._by_caller: dict[str, VoiceCall] = {}
        self._by_leg: dict[str, VoiceCall] = {}

    def add(self, call: VoiceCall) -> None:
        self.calls[call.task_id] = call
        self._by_caller[call.caller_uid] = call

    def get(self, task_id: str) -> VoiceCall | None:
        return self.calls.get(task_id)

    def by_caller(self, uid: str) -> VoiceCall | None:
        return self._by_caller.get(uid)

    def by_leg(self, uid: str) -> VoiceCall | None:
        return self._by_leg.get(uid)

    def add_leg(self, uid: str, call: VoiceCall) -> None:
        self._by_leg[uid] = call

    def drop_leg(self, uid: str | None) -> None:
        if uid:
            self._by_leg.pop(uid, None)

    def remove(self, call: VoiceCall) -> None:
        self.calls.pop(call.task_id, None)
        self._by_caller.pop(call.caller_uid, None)
        for uid in [call.agent_uid, *(r.leg_uid for r in call.rings.values())]:
            self.drop_leg(uid)

    def of_agent(self, agent_id: str) -> VoiceCall | None:
        """The agent's connected call, if any."""
        return next((c for c in self.calls.values()
                     if c.agent_id == agent_id and c.connected and not c.ended), None)

    def __iter__(self):
        return iter(list(self.calls.values()))

    def __len__(self) -> int:
        return len(self.calls)
