"""Offers of a queued call: ring from the caller's channel, confirm the answer, or take back.

The rules (see ``recipes.py`` for the AMI side):

* an offer is dialled only while the caller is on hold; offers made while the
  caller is elsewhere (still in the IVR's last step, or coming back from a ring)
  wait for the ``CallCenterWaiting`` that says the caller is on hold again;
  offers of one engine batch (``ring_all``) are dialled together;
* an answer is only a request: the engine accepts it (the offer is still live)
  or refuses it (withdrawn, timed out, another agent was first), and only an
  accepted answer is bridged. That is what keeps a caller from being served
  twice or dropped when an answer crosses a withdrawal;
* a busy, unreachable or ring-timed-out device is a reject; a withdrawal hangs
  up the agent's leg (or does as soon as Asterisk reports it);
* a callback (no caller channel) rings the agent with ``Originate`` first; the
  customer's answer is the accept (``callbacks.py`` tells the rest).
"""

from __future__ import annotations

import logging
import uuid

import acd
from acd.events import WITHDRAW_TIMEOUT
from callcenter.ami import AmiError
from callcenter.ami.link import AmiEvent
from callcenter.storage.masking import mask_number
from callcenter.voice import recipes
from callcenter.voice.base import VoiceDeps
from callcenter.voice.callbacks import Callbacks, dialable
from callcenter.voice.calls import Ring, VoiceCall, endpoint_of
from callcenter.voice.recordings import Recorder

log = logging.getLogger(__name__)

# OriginateResponse Reason codes (AST_CONTROL_*): 3 = ringing timed out.
_NO_ANSWER = "3"
# DialEnd statuses that mean the agent's device did not take the call.
_REJECTING_STATUSES = {"BUSY", "CONGESTION", "CHANUNAVAIL", "NOANSWER", "DONTCALL", "TORTURE",
                       "INVALIDARGS"}
_RANG_UNKNOWN_MAX = 1000  # outgoing channels ringing at once, with room to spare


class Offers:
    def __init__(self, deps: VoiceDeps, recorder: Recorder, callbacks: Callbacks) -> None:
        self.deps = deps
        self.recorder = recorder
        self.callbacks = callbacks
        self._to_dial: dict[str, VoiceCall] = {}
        # Channels heard ringing before any call knew them (their DialBegin was late):
        # insertion-ordered, the oldest forgotten past _RANG_UNKNOWN_MAX or at Hangup.
        self._rang_unknown: dict[str, None] = {}

    # ---- decisions from the engine ---------------------------------------------

    async def offer(self, offer: acd.Offer) -> None:
        deps = self.deps
        call = deps.book.get(offer.task_id)
        device = deps.agents.device_of(offer.agent_id)
        if call is None or call.ended or device is None:
            self._reject(offer.offer_id)
            return
        ring = Ring(offer.offer_id, offer.agent_id, deps.endpoint(device))
        call.rings[offer.offer_id] = ring
        call.offer_id, call.agent_id = offer.offer_id, offer.agent_id
        await deps.offers.offered(offer)
        log.info("voice.offer", extra={"interaction": call.task_id, "agent": offer.agent_id,
                                       "device": ring.endpoint, "offer": offer.offer_id})
        if call.callback:
            await self._originate_callback(call, ring, offer)
        else:
            self._to_dial[call.task_id] = call

    async def after_batch(self) -> None:
        """Dial what this batch of decisions offered (all of a ring_all at once)."""
        calls, self._to_dial = list(self._to_dial.values()), {}
        for call in calls:
            await self.dial(call)

    async def dial(self, call: VoiceCall) -> None:
        """Ring every undialled live offer, if the caller is on hold to do it."""
        rings = [r for r in call.rings.values() if not r.dialled and not r.withdrawn]
        if not rings or not call.holding or call.ended or call.connected or call.callback:
            return
        for ring in rings:
            ring.dialled = True
        call.holding, call.dialling = False, True
        endpoints = [r.endpoint for r in rings]

        def still_on_hold() -> None:  # the engine decides (its offer deadline)
            if call.dialling and not call.connected and not call.ended:
                call.holding, call.dialling = True, False
                for ring in rings:
                    if ring.leg_uid is None:
                        ring.dialled = False

        if not self.deps.post(recipes.offer(call.caller_uid, endpoints), "offer",
                              on_failure=still_on_hold):
            still_on_hold()

    async def withdraw(self, withdraw: acd.WithdrawOffer) -> None:
        deps = self.deps
        deps.offers.withdrawn(withdraw)
        call = deps.book.get(withdraw.task_id)
        ring = call.rings.get(withdraw.offer_id) if call else None
        if call is None or ring is None:
            return
        if withdraw.reason == WITHDRAW_TIMEOUT:
            log.info("voice.missed", extra={"interaction": call.task_id, "agent": ring.agent_id,
                                            "device": ring.endpoint, "offer": ring.offer_id,
                                            "status": "NOANSWER",
                                            "cause": "ringing past the offer timeout"})
        else:
            log.info("voice.offer_withdrawn", extra={"interaction": call.task_id,
                                                     "agent": ring.agent_id,
                                                     "device": ring.endpoint,
                                                     "reason": withdraw.reason})
        if not ring.dialled:
            call.rings.pop(ring.offer_id, None)
        else:
            ring.withdrawn = True
            if ring.leg_uid:
                deps.post([recipes.hangup(ring.leg_uid)], "stop ringing")
        if call.offer_id == withdraw.offer_id and not call.connected:
            call.clear_agent()
            call.callback_dialling = False

    # ---- events from Asterisk ------------------------------------------------------

    async def on_waiting(self, call: VoiceCall) -> None:
        """The caller is on hold (again): rings that ended are over; dial what is live."""
        call.holding, call.dialling = True, False
        for ring in list(call.rings.values()):
            if ring.answered:  # its Hangup may come later still
                self._answered_and_gone(call, ring)
                continue
            self.deps.book.drop_leg(ring.leg_uid)
            if ring.withdrawn:
                call.rings.pop(ring.offer_id, None)
            else:
                ring.dialled, ring.leg_uid, ring.channel, ring.rang = False, None, None, False
        if not call.connected:
            call.agent_uid = call.agent_channel = None
        await self.dial(call)

    async def on_dial_begin(self, event: AmiEvent) -> None:
        deps = self.deps
        call = deps.book.by_caller(event.get("Uniqueid"))
        if call is None:
            return
        endpoint = event.get("DialString") or endpoint_of(event.get("DestChannel"))
        ring = call.ring_for(endpoint)
        if ring is None:
            return
        ring.leg_uid, ring.channel = event.get("DestUniqueid"), event.get("DestChannel")
        deps.book.add_leg(ring.leg_uid, call)
        if ring.withdrawn:
            deps.post([recipes.hangup(ring.leg_uid)], "stop ringing")
            return
        call.agent_uid, call.agent_channel = ring.leg_uid, ring.channel
        rang_first = ring.leg_uid in self._rang_unknown
        self._rang_unknown.pop(ring.leg_uid, None)
        if rang_first or event.get("DestChannelStateDesc") == "Ringing":
            # Asterisk publishes DialBegin after placing the call: a phone quick to say
            # 180 can have its Newstate(Ringing) arrive first, before the leg was known.
            self._ringing(call, ring)

    async def on_dial_end(self, event: AmiEvent) -> None:
        call = self.deps.book.by_leg(event.get("DestUniqueid"))
        status = event.get("DialStatus")
        if call is None or (status not in _REJECTING_STATUSES and status != "ANSWER"):
            return
        ring = next((r for r in call.rings.values()
                     if r.leg_uid == event.get("DestUniqueid")), None)
        if ring is None:
            return
        if status == "ANSWER":
            ring.answered = True
            return
        call.rings.pop(ring.offer_id, None)
        self.deps.book.drop_leg(ring.leg_uid)
        if call.offer_id == ring.offer_id and not call.connected:
            call.clear_agent()
        if not ring.withdrawn:  # a withdrawn ring's end was logged when it was withdrawn
            self.deps.in_background(self._log_miss(call, ring, status,
                                                   event.get("DestChannel")))
            self._reject(ring.offer_id)

    async def on_leg_hangup(self, event: AmiEvent) -> None:
        uid = event.get("Uniqueid")
        self._rang_unknown.pop(uid, None)
        call = self.deps.book.by_leg(uid)
        if call is None or call.callback or (call.connected and call.agent_uid == uid):
            return
        ring = next((r for r in call.rings.values() if r.leg_uid == uid), None)
        if ring is not None and ring.answered:
            self._answered_and_gone(call, ring)

    def _answered_and_gone(self, call: VoiceCall, ring: Ring) -> None:
        """A device that answered and hung up before its answer reached the engine (the
        pre-bridge handler had not asked yet): it did not take the call, as if it had
        refused it. The caller keeps their place and is offered afresh, never rung again
        and again by a phone that drops every call."""
        call.rings.pop(ring.offer_id, None)
        self.deps.book.drop_leg(ring.leg_uid)
        if call.offer_id == ring.offer_id and not call.connected:
            call.clear_agent()
        if not ring.withdrawn:
            self.deps.in_background(self._log_miss(call, ring, "HANGUP", ring.channel or ""))
            self._reject(ring.offer_id)

    async def on_answer(self, event: AmiEvent) -> None:
        """An agent answered and waits in the pre-bridge handler: accept or refuse."""
        deps = self.deps
        leg = event.get("Uniqueid")
        # the leg's DialBegin names the call too, should the channel lack its task
        call = deps.book.get(event.get("Task")) or deps.book.by_leg(leg)
        ring = call.ring_for(event.get("Endpoint")) if call else None
        why = ("unknown call" if call is None else "no ring on this device" if ring is None
               else "offer withdrawn" if ring.withdrawn else "caller already connected"
               if call.connected else None)
        if why is None and not deps.routing.accept(ring.offer_id):
            why = "offer no longer live"
            ring.withdrawn = True  # never rung again: the engine offers the task afresh
            if call.offer_id == ring.offer_id:
                call.clear_agent()
        if call is None or ring is None or why is not None:
            log.info("voice.answer_refused", extra={"task": event.get("Task"),
                                                    "device": event.get("Endpoint"),
                                                    "why": why})
            deps.post(recipes.verdict("", leg, accept=False), "refuse")
            return
        ring.leg_uid = ring.leg_uid or leg
        ring.channel = ring.channel or event.get("Channel")
        deps.book.add_leg(ring.leg_uid, call)
        call.connect(ring)
        deps.agents.forget_offer(ring.offer_id)
        log.info("voice.answered", extra={"interaction": call.task_id, "agent": ring.agent_id,
                                          "device": ring.endpoint, "offer": ring.offer_id,
                                          "caller": mask_number(call.caller_number)})
        deps.offers.connected(ring.agent_id, call.task_id, acd.VOICE)
        recording = await self.recorder.plan(call)
        record, legs = recording if recording else (None, False)
        deps.post(recipes.verdict(call.caller_uid, leg, accept=True, record=record, legs=legs),
                  "accept")

    async def on_ringing(self, event: AmiEvent) -> None:
        if event.get("ChannelStateDesc") != "Ringing":
            return
        uid = event.get("Uniqueid")
        call = self.deps.book.by_leg(uid)
        ring = next((r for r in call.rings.values() if r.leg_uid == uid), None) if call else None
        if ring is not None:
            self._ringing(call, ring)
        elif call is None:
            self._rang_unknown[uid] = None
            if len(self._rang_unknown) > _RANG_UNKNOWN_MAX:
                del self._rang_unknown[next(iter(self._rang_unknown))]

    def _ringing(self, call: VoiceCall, ring: Ring) -> None:
        if ring.rang or ring.withdrawn:
            return
        ring.rang = True
        log.info("voice.ringing", extra={"interaction": call.task_id, "agent": ring.agent_id,
                                         "device": ring.endpoint, "offer": ring.offer_id})
        self.deps.offers.ringing(ring.agent_id, call.task_id, ring.offer_id)

    async def on_bridge_enter(self, event: AmiEvent) -> None:
        """The agent's leg joined the caller's bridge: they talk; the controls may act."""
        call = self.deps.book.by_leg(event.get("Uniqueid"))
        if call is not None and call.connected and call.agent_uid == event.get("Uniqueid"):
            call.bridge_formed.set()
            log.info("voice.bridged", extra={"interaction": call.task_id,
                                             "agent": call.agent_id,
                                             "device": endpoint_of(call.agent_channel or ""),
                                             "bridge": event.get("BridgeUniqueid")})

    async def on_originate_response(self, event: AmiEvent) -> None:
        """Callbacks only: the agent's phone answered (now the customer is dialled) or
        could not (reject)."""
        deps = self.deps
        call = deps.book.by_leg(event.get("Uniqueid"))
        ring = next((r for r in call.rings.values()
                     if r.leg_uid == event.get("Uniqueid")), None) if call else None
        if call is None or ring is None:
            return
        if event.get("Response") == "Success":
            await self.callbacks.agent_answered(call)  # done only once the customer is
            return
        if event.get("Reason") == _NO_ANSWER:
            return  # the engine's own offer deadline decides a ring-no-answer
        call.rings.pop(ring.offer_id, None)
        deps.book.drop_leg(ring.leg_uid)
        call.clear_agent()
        if not ring.withdrawn:
            # AST_CONTROL_* of the failed Originate (5 busy, 8 congestion, 0 unreachable)
            log.info("voice.missed", extra={"interaction": call.task_id,
                                            "agent": ring.agent_id, "device": ring.endpoint,
                                            "offer": ring.offer_id, "status": "ORIGINATE",
                                            "cause": f"reason {event.get('Reason')}"})
            self._reject(ring.offer_id)

    # ---- inside ------------------------------------------------------------------------

    async def _originate_callback(self, call: VoiceCall, ring: Ring, offer: acd.Offer) -> None:
        deps = self.deps
        ring.leg_uid, ring.dialled = uuid.uuid4().hex, True
        call.agent_uid = ring.leg_uid
        deps.book.add_leg(ring.leg_uid, call)
        config = deps.config()
        timeout_ms = int((config.queues[offer.queue].offer_timeout_seconds + 5) * 1000)
        number = dialable(call.caller_number)
        action = recipes.originate_callback(
            endpoint=ring.endpoint, leg_uid=ring.leg_uid, task_id=call.task_id,
            offer_id=offer.offer_id, timeout_ms=timeout_ms,
            caller_id=f'"{offer.queue} {mask_number(call.caller_number)}" <{offer.queue}>',
            customer_dial=config.callcenter.asterisk.callback_dial.format(number=number),
            ring_seconds=config.queues[offer.queue].callback.ring_seconds)
        if number is None or not await deps.send([action], "callback"):
            call.rings.pop(ring.offer_id, None)
            deps.book.drop_leg(ring.leg_uid)
            call.clear_agent()
            self._reject(offer.offer_id)

    async def _log_miss(self, call: VoiceCall, ring: Ring, status: str,
                        leg_channel: str) -> None:
        """One line per device that did not take the call, with the SIP cause Asterisk
        kept on the caller's channel (``HANGUPCAUSE``), e.g. ``SIP 486 Busy Here``."""
        cause = ""
        if leg_channel and not call.callback:
            try:
                reply = await self.deps.link.action(recipes.getvar(
                    call.caller_uid, f"HANGUPCAUSE({leg_channel},tech)"))
                cause = reply.get("Value", "")
            except AmiError:
                cause = ""
        log.info("voice.missed", extra={"interaction": call.task_id, "agent": ring.agent_id,
                                        "device": ring.endpoint, "offer": ring.offer_id,
                                        "status": status, "cause": cause or "unknown"})

    def _reject(self, offer_id: str) -> None:
        self.deps.agents.forget_offer(offer_id)
        self.deps.routing.reject(offer_id)
