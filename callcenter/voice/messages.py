"""Voice messages: a caller who cannot be served now leaves one, and an agent gets it.

The promise, rule by rule (tests in ``tests/callcenter/voice/test_voice_messages.py``):

* V1. A closed queue whose ``closed_action.goto`` is ``voicemail`` (the IVR), and a
  waiting caller whose queue's escalation reaches ``action: voicemail``, are asked for
  a message in their language and recorded (``cc-voicemail``: ``Record()``, ended by
  ``#``, silence, the length limit or hanging up).
* V2. Each message is an interaction of its own (channel ``voice_message``, medium
  ``voicemail``; a waiting caller's call leaves its queue as a timeout, not an
  abandon, and the message names it in ``attributes.call``) and its file is a
  recording of that interaction, archived beside the calls'. A message with nothing in
  it (under a second) ends as ``no_message``.
* V3. It becomes a task of channel ``voice_message`` in its queue once the queue is
  open (at once, or when its business hours next open), in the caller's place by the
  time they called; agents take it within ``capacity.voice_message`` from the card,
  which plays it and calls the customer back (a callback of the queue).
* V4. The state is the store: a started engine queues every message a previous run
  left waiting, and takes in a recording whose end it never heard of.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import acd
from callcenter.routing.mapping import VOICE_MESSAGE
from callcenter.storage.masking import mask_number
from callcenter.voice import dialplan, recipes
from callcenter.voice.base import VoiceDeps
from callcenter.voice.calls import VoiceCall
from callcenter.voice.phrases import phrase, sound_of

log = logging.getLogger(__name__)

CHANNEL = VOICE_MESSAGE
MEDIUM = "voicemail"
MIN_BYTES = 44 + 16_000  # a WAV header and one second of 8 kHz 16-bit audio
KEEP_SECONDS = 30 * 86_400  # a message waits for an agent, not for max_wait_seconds


class Messages:
    def __init__(self, deps: VoiceDeps) -> None:
        self.deps = deps
        self._later: dict[str, asyncio.TimerHandle] = {}
        self._taking: set[str] = set()

    # ---- recording (V1, V2) -----------------------------------------------------------

    async def from_ivr(self, *, queue: str, language: str, customer_id: int | None,
                       number: str, arrived: float, attributes: dict[str, Any],
                       ivr_choices: list[dict[str, Any]]) -> dict[str, str]:
        """The IVR found the queue closed and its closed action is voicemail."""
        message = await self._new(queue, customer_id, number, arrived,
                                  {**attributes, "language": language}, ivr_choices)
        log.info("voice.message_asked", extra={"voice_message": message, "queue": queue,
                                                "caller": mask_number(number)})
        return {**self.variables(message, language), dialplan.QUEUE: queue,
                dialplan.ROUTE: "voicemail"}

    async def from_queue(self, call: VoiceCall) -> None:
        """A waiting caller's escalation reached ``action: voicemail``."""
        deps = self.deps
        record = await deps.store.get_interaction(call.task_id)
        language = str((record.attributes or {}).get("language", "")) if record else ""
        message = await self._new(call.queue, call.customer_id, call.caller_number,
                                  deps.clock(), {"call": call.task_id, "language": language},
                                  record.ivr_choices if record else [])
        call.ended = True  # the engine logs its visit as EXITWITHTIMEOUT (the caller's
        # call ends "timeout"); the message names the call in attributes.call
        variables = self.variables(message, language)
        await deps.send([*(recipes.setvar(call.caller_uid, name, value)
                           for name, value in variables.items()),
                         recipes.redirect(call.caller_uid, dialplan.VOICEMAIL)], "voicemail")

    async def _new(self, queue: str, customer_id: int | None, number: str, arrived: float,
                   attributes: dict[str, Any], ivr_choices: list[Any]) -> str:
        interaction = await self.deps.store.create_interaction(
            CHANNEL, medium=MEDIUM, customer_id=customer_id, queue=queue, arrived_at=arrived,
            caller_masked=number or None, attributes=attributes, ivr_choices=ivr_choices)
        return interaction.id

    def spool_path(self, message: str) -> str:
        """Where Asterisk records the message (its view, without ``.wav``)."""
        return f"{self.deps.paths.recordings_spool.rstrip('/')}/{message}-message"

    def variables(self, message: str, language: str) -> dict[str, str]:
        where = self.deps.paths.prompts_dir
        return {dialplan.MESSAGE: message, dialplan.MESSAGE_FILE: self.spool_path(message),
                dialplan.SOUND_MESSAGE: sound_of(phrase("message", language), where),
                dialplan.SOUND_MESSAGE_THANKS: sound_of(phrase("message_thanks", language),
                                                        where)}

    async def recorded(self, message: str) -> None:
        """The caller's message is over (``EV_MESSAGE``): archive it, then queue it."""
        if not message or message in self._taking:
            return
        self._taking.add(message)
        try:
            await self._take_in(message)
        finally:
            self._taking.discard(message)

    async def _take_in(self, message: str) -> None:
        deps = self.deps
        record = await deps.store.get_interaction(message)
        if record is None or record.channel != CHANNEL or record.ended_at is not None:
            return
        if await deps.store.list_recordings(message):
            await self.enqueue(message)
            return
        source = deps.paths.on_host(self.spool_path(message) + ".wav")
        size = await _settled_size(source)
        if size < MIN_BYTES:
            await deps.store.update_interaction(message, ended_at=deps.clock(),
                                                outcome="no_message")
            log.info("voice.message_empty", extra={"voice_message": message, "bytes": size})
            return
        archive = deps.paths.recordings_archive
        archive.mkdir(parents=True, exist_ok=True)
        target = archive / source.name
        await asyncio.to_thread(shutil.move, source, target)
        now = deps.clock()
        await deps.store.add_recording(message, str(target), leg="mixed", status="complete",
                                       started_at=record.arrived_at, ended_at=now,
                                       size=size, duration=round((size - 44) / 16_000, 1))
        deps.notifier.recording_complete(message)
        log.info("voice.message_recorded", extra={"voice_message": message, "bytes": size})
        await self.enqueue(message)

    # ---- queueing (V3, V4) ----------------------------------------------------------------

    async def enqueue(self, message: str) -> None:
        """Into its queue now if the queue is open, else when its business hours open."""
        deps = self.deps
        self._cancel_later(message)
        record = await deps.store.get_interaction(message)
        if record is None or record.ended_at is not None:
            return
        queue = deps.config().queues.get(record.queue or "")
        if queue is None:
            await deps.store.update_interaction(message, ended_at=deps.clock(),
                                                outcome="refused")
            log.warning("voice.message_no_queue", extra={"voice_message": message})
            return
        now = deps.clock()
        hours = queue.business_hours
        if hours is not None and not hours.is_open(datetime.fromtimestamp(now, UTC)):
            opens = hours.next_open(datetime.fromtimestamp(now, UTC))
            delay = opens.timestamp() - now if opens is not None else 3600.0
            self._later[message] = asyncio.get_running_loop().call_later(
                max(1.0, delay), lambda: deps.in_background(self.enqueue(message)))
            log.info("voice.message_waits_for_opening",
                     extra={"voice_message": message, "in_s": round(delay)})
            return
        refused = deps.routing.arrive(acd.Task(
            id=message, channel=CHANNEL, queue=record.queue or "",
            arrival=record.arrived_at or now, attributes={"medium": MEDIUM},
            deadline=now + KEEP_SECONDS))
        if refused is not None:  # nobody may take it yet: try again in a while
            self._later[message] = asyncio.get_running_loop().call_later(
                60.0, lambda: deps.in_background(self.enqueue(message)))
            log.info("voice.message_not_queued", extra={"voice_message": message, "why": refused})
            return
        log.info("voice.message_queued", extra={"voice_message": message, "queue": record.queue})

    async def resume(self) -> int:
        """Rule V4, at start: messages a previous run left behind, queued again."""
        waiting = await self.deps.store.open_interactions(channel=CHANNEL)
        for record in waiting:
            if self.deps.routing.channel_of(record.id) is None:  # not in the engine
                await self.recorded(record.id)
        return len(waiting)

    def reconsider(self) -> None:
        """After a configuration reload: messages waiting for their queue to open look
        again (its business hours may have changed)."""
        for message in list(self._later):
            self.deps.in_background(self.enqueue(message))

    def _cancel_later(self, message: str) -> None:
        handle = self._later.pop(message, None)
        if handle is not None:
            handle.cancel()

    def close(self) -> None:
        for handle in self._later.values():
            handle.cancel()
        self._later.clear()

    # ---- the routing service's adapter for channel voice_message ------------------------

    async def apply(self, decision: acd.Decision) -> None:
        if isinstance(decision, acd.Offer):
            await self.deps.offers.offered(decision)
        elif isinstance(decision, acd.WithdrawOffer):
            self.deps.offers.withdrawn(decision)
        elif isinstance(decision, acd.LeaveQueue | acd.RejectArrival):
            # Never lost: a message that times out of its queue waits and comes back.
            self._later[decision.task_id] = asyncio.get_running_loop().call_later(
                60.0, lambda: self.deps.in_background(self.enqueue(decision.task_id)))

    async def after_batch(self) -> None:
        pass


async def _settled_size(path: Path, checks: int = 50) -> int:
    """The file's size once it stopped growing (Asterisk closes it after the hangup)."""
    last = -2
    for _ in range(checks):
        size = path.stat().st_size if path.exists() else -1
        if size == last:
            return max(size, 0)
        last = size
        await asyncio.sleep(0.2)
    return max(last, 0)


class MessageDesk:
    """What an agent does with a message they took: play it, call back, finish it.

    Works without a telephone system too (listening and finishing); calling back needs
    one (``request_callback`` is None without)."""

    def __init__(self, *, store: Any, routing: Any, offers: Any,
                 request_callback: Any | None) -> None:
        self.store = store
        self.routing = routing
        self.offers = offers
        self.request_callback = request_callback

    async def _own(self, agent_id: str, message: str, *, live: bool) -> Any:
        """The message if it is this agent's (connected now, or any time when not
        ``live``); MessageError(404/403) otherwise."""
        record = await self.store.get_interaction(message)
        if record is None:
            raise MessageError(404, f"no voice message {message}")
        view = self.routing.agent(agent_id)
        holding = view is not None and message in view.connected
        if record.channel == CHANNEL and (holding or (not live and record.agent_id == agent_id)):
            return record
        raise MessageError(403, "that is not a voice message of yours")

    async def recording(self, agent_id: str, message: str) -> Path:
        await self._own(agent_id, message, live=False)
        for recording in await self.store.list_recordings(message):
            if recording.status == "complete" and Path(recording.path).exists():
                return Path(recording.path)
        raise MessageError(404, "the message's recording is missing")

    async def done(self, agent_id: str, message: str) -> dict[str, Any]:
        """The agent has dealt with the message: wrap-up starts, as after a call."""
        record = await self._own(agent_id, message, live=True)
        self.routing.end(message, by="agent")
        self.offers.wrapup(agent_id, message, record.queue)
        log.info("voice.message_done", extra={"voice_message": message, "agent": agent_id})
        return {"task_id": message, "status": "wrap_up"}

    async def call_back(self, agent_id: str, message: str) -> dict[str, Any]:
        """A callback of the message's queue to the number that left it."""
        record = await self._own(agent_id, message, live=False)
        if self.request_callback is None:
            raise MessageError(503, "no telephone system is connected")
        number = None
        if record.customer_id is not None:
            customer = await self.store.get_customer(record.customer_id)
            number = next((i.value for i in (customer.identities if customer else [])
                           if i.kind == "phone"), None)
        if number is None:
            raise MessageError(409, "the caller's number is not known (an anonymous call)")
        try:
            task_id = await self.request_callback(number, record.queue or "",
                                                  customer_id=record.customer_id,
                                                  origin=f"voice message {message}")
        except ValueError as exc:
            raise MessageError(409, str(exc)) from None
        log.info("voice.message_callback", extra={"voice_message": message, "task": task_id})
        return {"task_id": task_id, "number": mask_number(number)}


    # Without a telephone system (console tests, chat only) no message is recorded, but
    # one a previous run left can still be offered and taken: the desk is the adapter.
    async def apply(self, decision: acd.Decision) -> None:
        if isinstance(decision, acd.Offer):
            await self.offers.offered(decision)
        elif isinstance(decision, acd.WithdrawOffer):
            self.offers.withdrawn(decision)

    async def after_batch(self) -> None:
        pass


class MessageError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
