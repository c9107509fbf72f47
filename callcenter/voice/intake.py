"""From the IVR into the queue: the interaction record, the task, the dialplan's variables."""

from __future__ import annotations

import logging

import acd
from callcenter.routing.mapping import language_skill
from callcenter.storage.masking import mask_number
from callcenter.voice import dialplan
from callcenter.voice.base import VoiceDeps
from callcenter.voice.calls import VoiceCall
from callcenter.voice.messages import Messages
from callcenter.voice.phrases import counted_family, digit_family, phrase, sound_of
from callcenter.voice.turns import Turns
from ivr.fastagi import AgiCall
from ivr.runner import IvrOutcome

log = logging.getLogger(__name__)

# The agent's phone rings at least this much longer than the engine's offer
# deadline, so the engine's deadline (not Dial's) decides a ring-no-answer.
RING_MARGIN_SECONDS = 5


def ring_seconds(offer_timeout: float) -> str:
    return str(int(offer_timeout + RING_MARGIN_SECONDS))


class Intake:
    def __init__(self, deps: VoiceDeps, turns: Turns, messages: Messages | None = None) -> None:
        self.deps = deps
        self.turns = turns
        self.messages = messages

    async def requeue(self, call: AgiCall) -> dict[str, str] | None:
        """A caller this engine has queued already came back to the IVR: back to hold
        with the same task and the variables the first walk gave (it may have been
        cut short before setting them all).

        It happens after a restart, when the engine wakes standby callers just as one of
        them retries on its own: a second walk would make a second task for one caller,
        offered and answered twice.
        """
        queued = self.deps.book.by_caller(call.uniqueid)
        if queued is None or queued.ended or queued.callback:
            return None
        log.info("voice.requeued", extra={"task": queued.task_id, "queue": queued.queue})
        return queued.dialplan_variables or {dialplan.TASK: queued.task_id,
                                             f"__{dialplan.LEG_TASK}": queued.task_id,
                                             dialplan.ROUTE: "queue"}

    async def route_call(self, call: AgiCall, outcome: IvrOutcome) -> dict[str, str]:
        """The IVR has finished: queue the call (or not) and tell the dialplan.

        A caller who had to wait for an absent engine (``standby_since``) keeps the
        time they called as their arrival, and joins once those woken with them who
        called earlier have (``Turns``), so callers who came in during an outage are
        served in the order they called.
        """
        try:
            return await self._route(call, outcome)
        finally:
            self.turns.left(call.uniqueid)  # whatever the route: nobody waits for them

    async def _route(self, call: AgiCall, outcome: IvrOutcome) -> dict[str, str]:
        again = await self.requeue(call)  # queued by another walk meanwhile
        if again is not None:
            return again
        deps = self.deps
        now = deps.clock()
        arrived = min(now, call.standby_since) if call.standby_since else now
        number = call.caller_number if call.caller_number not in ("", "unknown") else ""
        customer = (await deps.store.find_or_create_customer("phone", number, now=now)
                    if number else None)
        customer_id = customer.id if customer else None
        choices = [c.as_dict() for c in outcome.choices]
        attributes = {"language": outcome.language, "label": outcome.label,
                      "variables": outcome.variables, "dialed": call.dialed_number}
        if outcome.route == "voicemail" and outcome.queue is not None and self.messages:
            return await self.messages.from_ivr(
                queue=outcome.queue, language=outcome.language, customer_id=customer_id,
                number=number, arrived=arrived, attributes=attributes, ivr_choices=choices)
        if outcome.route != "queue" or outcome.queue is None:
            await deps.store.create_interaction(
                "voice", medium="pstn", customer_id=customer_id, ivr_choices=choices,
                arrived_at=arrived, ended_at=now, outcome="ivr", caller_masked=number or None,
                attributes=attributes)
            return {dialplan.ROUTE: "hangup"}
        config = deps.config()
        queue = config.queues[outcome.queue]
        interaction = await deps.store.create_interaction(
            "voice", medium="pstn", customer_id=customer_id, queue=outcome.queue,
            ivr_choices=choices, arrived_at=arrived, caller_masked=number or None,
            attributes=attributes)
        voice_call = VoiceCall(task_id=interaction.id, caller_uid=call.uniqueid,
                               queue=outcome.queue, caller_number=number,
                               customer_id=customer_id)
        deps.book.add(voice_call)
        wait_for_last_agent = queue.preferred_agent_seconds
        preferred = (await self._last_agent(customer_id)
                     if customer_id is not None and wait_for_last_agent else None)
        skills = dict(outcome.skills)
        if queue.language_first:  # agents who speak the caller's language first
            skills[language_skill(outcome.language)] = 1
        task = acd.Task(id=interaction.id, channel=acd.VOICE, queue=outcome.queue,
                        skills=skills, priority=0 if outcome.priority is None else
                        max(0, outcome.priority - queue.priority),
                        arrival=arrived, attributes={"language": outcome.language},
                        preferred_agent=preferred,
                        preferred_wait_seconds=wait_for_last_agent if preferred else 0)
        log.info("voice.queued", extra={"task": task.id, "queue": task.queue,
                                        "caller": mask_number(number)})
        sounds = self._sounds(outcome.language, queue.callback.key)
        await self.turns.turn(call.uniqueid, arrived)  # after a restart: earlier first
        if voice_call.ended:  # hung up meanwhile (the book has forgotten the call)
            await deps.store.update_interaction(interaction.id, ended_at=deps.clock(),
                                                outcome="abandoned")
            return {dialplan.ROUTE: "hangup"}
        if deps.routing.arrive(task) is not None:  # refused: full, nobody to answer...
            voice_call.ended = True
            deps.book.remove(voice_call)
            return {**sounds, dialplan.EXIT_REASON: "refused", dialplan.ROUTE: "exit"}
        announce = queue.announce.position or queue.announce.expected_wait
        label = f'"{outcome.queue} {mask_number(number)}" <{outcome.queue}>'
        voice_call.dialplan_variables = {
            dialplan.TASK: task.id, f"__{dialplan.LEG_TASK}": task.id,
            dialplan.QUEUE: outcome.queue,
            dialplan.ANNOUNCE: "yes" if announce else "no",
            dialplan.ANNOUNCE_INTERVAL: str(int(queue.announce.interval_seconds)),
            dialplan.CALLBACK_ENABLED: "yes" if queue.callback.enabled else "no",
            dialplan.CALLBACK_KEY: queue.callback.key,
            **sounds,
            **self._survey(outcome.language, config.callcenter.reports.csat.voice_survey),
            f"__{dialplan.RING_LABEL}": label,
            dialplan.RING_SECONDS: ring_seconds(queue.offer_timeout_seconds),
            dialplan.ROUTE: "queue"}
        return voice_call.dialplan_variables

    def _sounds(self, language: str, key: str) -> dict[str, str]:
        """What the dialplan says to this caller, in their language (rendered at start)."""
        where = self.deps.paths.prompts_dir
        return {dialplan.SOUND_HOLD: sound_of(phrase("hold", language), where),
                dialplan.SOUND_EXIT: sound_of(phrase("exit", language), where),
                dialplan.SOUND_POSITION: f"{where.rstrip('/')}/"
                                         f"{counted_family('position', language)}",
                dialplan.SOUND_WAIT: f"{where.rstrip('/')}/{counted_family('wait', language)}",
                dialplan.SOUND_DIGIT: f"{where.rstrip('/')}/{digit_family(language)}",
                dialplan.SOUND_CALLBACK_OFFER: sound_of(phrase("callback_offer", language,
                                                               key=key), where),
                dialplan.SOUND_CALLBACK_CONFIRM: sound_of(phrase("callback_confirm", language),
                                                          where),
                dialplan.SOUND_CALLBACK_CHOOSE: sound_of(phrase("callback_choose", language),
                                                         where),
                dialplan.SOUND_CALLBACK_ENTER: sound_of(phrase("callback_enter", language),
                                                        where),
                dialplan.SOUND_CALLBACK_THANKS: sound_of(phrase("callback_thanks", language),
                                                         where)}

    def _survey(self, language: str, enabled: bool) -> dict[str, str]:
        """Whether the caller is asked to rate the call when the agent hangs up, and the
        question and thanks in their language (``callcenter.voice.survey``)."""
        if not enabled:
            return {dialplan.SURVEY_ENABLED: "no"}
        where = self.deps.paths.prompts_dir
        return {dialplan.SURVEY_ENABLED: "yes",
                dialplan.SOUND_SURVEY_ASK: sound_of(phrase("survey_ask", language), where),
                dialplan.SOUND_SURVEY_THANKS: sound_of(phrase("survey_thanks", language),
                                                       where)}

    async def _last_agent(self, customer_id: int) -> str | None:
        for entry in await self.deps.store.customer_history(customer_id, limit=5):
            if entry.interaction.agent_id and entry.interaction.channel == acd.VOICE:
                return entry.interaction.agent_id
        return None
