"""Callbacks: a customer who asked to be called back is called back, or told why not.

The promise, rule by rule (tests in ``tests/callcenter/voice/test_callbacks.py``):

* C1. Asking ends the caller's queue visit as an exit with key (neither answered nor
  abandoned: ``acd`` rule L2). The callback is a task of its own in the same queue,
  keeping the caller's place (their queue arrival) and waiting until its own deadline
  (``callback.deadline_minutes`` after the request), whatever the queue's max wait.
* C2. Each time it enters the queue (asked, retried, after a restart) is an attempt:
  an interaction of medium ``callback`` that the agent handles.
* C3. An offer rings the agent first; once the agent answers, the customer is dialled
  (``cc-callback``). The offer lasts while both ring (the task's offer timeout). The
  attempt is answered, and the callback done, only when the customer answers.
* C4. The customer does not answer (no answer, busy, unreachable) or the agent gives
  up first: the attempt ends as unreached (``acd`` UNREACHED), the agent is told and is
  free, and after ``retry_after_seconds`` the callback queues again, until
  ``max_attempts`` calls were made; then it fails, with the last reason.
* C5. Its deadline passes before the customer is reached: it expires, on the record.
* C6. Only digits with an optional leading ``+`` are ever dialled (``dialable``).
* C7. The state is the ``callbacks`` table: a restarted engine queues every pending
  callback again, a retry at its time.
"""

from __future__ import annotations

import asyncio
import logging
import re

import acd
from callcenter.storage import Callback
from callcenter.storage.masking import mask_number
from callcenter.voice.base import VoiceDeps, VoiceError
from callcenter.voice.calls import VoiceCall

log = logging.getLogger(__name__)

_DIALABLE = re.compile(r"\+?[0-9]{3,20}")
AGENT_GAVE_UP = "agent hung up"
_REASONS = {"NOANSWER": "no answer", "BUSY": "busy", "CHANUNAVAIL": "unreachable",
            "CONGESTION": "unreachable", "CANCEL": AGENT_GAVE_UP}


def dialable(number: str) -> str | None:
    """Rule C6: the number as it may reach ``Dial()``, or None (never dialled)."""
    number = number.strip()
    return number if _DIALABLE.fullmatch(number) else None


class Callbacks:
    def __init__(self, deps: VoiceDeps) -> None:
        self.deps = deps
        self._retries: dict[int, asyncio.TimerHandle] = {}

    # ---- asking --------------------------------------------------------------------

    async def requested(self, call: VoiceCall, number: str) -> None:
        """The caller pressed the callback key (and hung up): rule C1."""
        deps = self.deps
        config = deps.config().queues.get(call.queue)
        target = dialable(number)
        if target is None or config is None:
            log.warning("voice.callback_refused", extra={"task": call.task_id,
                                                         "why": "not a dialable number"})
            return
        record = await deps.store.get_interaction(call.task_id)
        arrival = record.arrived_at if record and record.arrived_at else deps.clock()
        call.callback = True
        deps.routing.cancel(call.task_id, acd.CANCEL_CALLBACK)
        request = await deps.store.add_callback(
            target, queue=call.queue, interaction_id=call.task_id,
            customer_id=call.customer_id, requested_at=deps.clock(), notes=None)
        log.info("voice.callback_requested", extra={"task": call.task_id,
                                                    "callback": request.id})
        await self.enqueue(request, arrival=arrival)

    async def request(self, number: str, queue: str, *, customer_id: int | None,
                      origin: str) -> str:
        """A callback asked for outside a call (a chat that can no longer reach its
        customer): queued like a caller's. Returns its first attempt's task id."""
        deps = self.deps
        config = deps.config().queues.get(queue)
        if config is None or not config.voice:
            raise VoiceError(f"queue {queue} takes no calls")
        target = dialable(number)
        if target is None:
            raise VoiceError("the number to call back is not a phone number")
        request = await deps.store.add_callback(target, queue=queue, customer_id=customer_id,
                                                requested_at=deps.clock(), notes=origin)
        task_id = await self.enqueue(request)
        if task_id is None:
            raise VoiceError("the queue refused the callback")
        return task_id

    # ---- queueing (C2, C5, C7) ---------------------------------------------------------

    async def enqueue(self, request: Callback, *, arrival: float | None = None) -> str | None:
        """One attempt: a new interaction and task, with the callback's deadline and an
        offer long enough to ring the agent and then the customer. None if it cannot."""
        deps = self.deps
        self._retries.pop(request.id, None)
        qid = request.queue or ""
        queue = deps.config().queues.get(qid)
        now = deps.clock()
        if queue is None or not queue.voice:
            await self._finish(request, "failed", "its queue no longer takes calls")
            return None
        deadline = request.requested_at + queue.callback.deadline_minutes * 60
        if now >= deadline:
            await self._finish(request, "expired", "not reached before its deadline")
            return None
        if arrival is None:
            first = (await deps.store.get_interaction(request.interaction_id)
                     if request.interaction_id else None)
            arrival = first.arrived_at if first and first.arrived_at else request.requested_at
        attempt = await deps.store.create_interaction(
            "voice", medium="callback", customer_id=request.customer_id, queue=qid,
            arrived_at=now, caller_masked=request.number,
            attributes={"callback_id": request.id, "attempt": request.attempts + 1})
        call = VoiceCall(task_id=attempt.id, caller_uid=f"callback-{attempt.id}",
                         queue=qid, caller_number=request.number,
                         customer_id=request.customer_id, callback=True,
                         callback_id=request.id)
        deps.book.add(call)
        offer_timeout = queue.offer_timeout_seconds + queue.callback.ring_seconds + 5
        refused = deps.routing.arrive(acd.Task(
            id=attempt.id, channel=acd.VOICE, queue=qid, arrival=arrival,
            deadline=deadline, offer_timeout_seconds=offer_timeout,
            attributes={"callback": request.id}))
        if refused is not None:
            deps.book.remove(call)
            await deps.store.update_interaction(attempt.id, ended_at=now, outcome="refused")
            self._retry_later(request, queue.callback.retry_after_seconds)
            log.warning("voice.callback_not_queued", extra={"callback": request.id,
                                                            "why": refused})
            return None
        await deps.store.update_callback(request.id, status="pending", next_attempt_at=None)
        log.info("voice.callback_queued", extra={"task": attempt.id, "callback": request.id,
                                                 "number": mask_number(request.number)})
        return attempt.id

    async def resume(self) -> int:
        """Rule C7, at start: every pending callback queued again (a retry at its time).
        One a previous run was dialling is pending again: calling a customer twice is
        better than never calling them back."""
        now = self.deps.clock()
        count = 0
        for request in await self.deps.store.list_callbacks("dialing"):
            await self.deps.store.update_callback(request.id, status="pending")
        for request in await self.deps.store.list_pending_callbacks():
            if request.next_attempt_at is not None and request.next_attempt_at > now:
                self._retry_later(request, request.next_attempt_at - now)
            else:
                await self.enqueue(request)
            count += 1
        return count

    def _retry_later(self, request: Callback, delay: float) -> None:
        old = self._retries.pop(request.id, None)
        if old is not None:
            old.cancel()

        async def again() -> None:
            fresh = await self.deps.store.get_callback(request.id)
            if fresh is not None and fresh.status == "pending":
                await self.enqueue(fresh)

        self._retries[request.id] = asyncio.get_running_loop().call_later(
            max(0.0, delay), lambda: self.deps.in_background(again()))

    def close(self) -> None:
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()

    # ---- an attempt (C3, C4) -------------------------------------------------------------

    async def agent_answered(self, call: VoiceCall) -> None:
        """The agent's phone answered: the customer is being dialled (not done yet)."""
        call.callback_dialling = True
        if call.callback_id is not None:
            await self.deps.store.update_callback(
                call.callback_id, status="dialing", last_attempt_at=self.deps.clock(),
                count_attempt=True)
        if call.agent_id:
            self.deps.notifier.callback_attempt(call.agent_id, call.task_id, "dialing")

    async def customer_answered(self, call: VoiceCall) -> None:
        """Rule C3: only now is the attempt answered and the callback done."""
        deps = self.deps
        ring = next((r for r in call.rings.values() if r.leg_uid == call.agent_uid), None)
        if ring is None or call.connected:
            return
        call.connect(ring)
        deps.agents.forget_offer(ring.offer_id)
        deps.routing.accept(ring.offer_id)
        deps.offers.connected(ring.agent_id, call.task_id, acd.VOICE)
        if call.callback_id is not None:
            await deps.store.update_callback(call.callback_id, status="done",
                                             completed_at=deps.clock())
        deps.notifier.callback_attempt(ring.agent_id, call.task_id, "answered")
        log.info("voice.callback_answered", extra={"task": call.task_id,
                                                   "agent": ring.agent_id})

    async def unreached(self, call: VoiceCall, status: str) -> None:
        """Rule C4: this attempt is over without the customer; retry or fail."""
        deps = self.deps
        if call.connected or call.ended:
            return
        reason = _REASONS.get(status.upper(), status.lower() or "no answer")
        call.ended = True
        agent_id = call.agent_id
        deps.routing.cancel(call.task_id, acd.CANCEL_UNREACHED)
        deps.book.remove(call)
        if agent_id:
            deps.notifier.callback_attempt(agent_id, call.task_id, reason)
        log.info("voice.callback_unreached", extra={"task": call.task_id,
                                                    "agent": agent_id, "why": reason})
        if call.callback_id is None:
            return
        request = await deps.store.get_callback(call.callback_id)
        queue = deps.config().queues.get(call.queue)
        if request is None or queue is None:
            return
        if request.attempts >= queue.callback.max_attempts:
            await self._finish(request, "failed",
                               f"{reason} ({request.attempts} attempts)")
            return
        delay = 0.0 if reason == AGENT_GAVE_UP else queue.callback.retry_after_seconds
        await deps.store.update_callback(request.id, status="pending", notes=reason,
                                         next_attempt_at=deps.clock() + delay)
        self._retry_later(request, delay)

    async def expired(self, call: VoiceCall) -> None:
        """Rule C5: the deadline passed while the callback waited in the queue."""
        call.ended = True
        self.deps.book.remove(call)
        if call.callback_id is not None:
            request = await self.deps.store.get_callback(call.callback_id)
            if request is not None:
                await self._finish(request, "expired", "not reached before its deadline")

    async def _finish(self, request: Callback, status: str, why: str) -> None:
        await self.deps.store.update_callback(request.id, status=status, notes=why,
                                              completed_at=self.deps.clock(),
                                              next_attempt_at=None)
        log.warning("voice.callback_" + status, extra={"callback": request.id, "why": why})
