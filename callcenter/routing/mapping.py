"""From the admin's YAML (validated config) to the queue engine's models."""

from __future__ import annotations

import acd
from callcenter.config.fields import LANGUAGES
from callcenter.config.models import Agent as AgentConfig
from callcenter.config.models import Config
from callcenter.config.models import Queue as QueueConfig

VOICE_MESSAGE = "voice_message"  # the channel of messages callers leave

# leave_when_empty "never" is the engine's "emptiness is never a reason".
_EMPTY = {"never": "always"}


def language_skill(language: str) -> str:
    """The engine's skill for speaking a language: agents have one per language in
    agents.yaml; a caller of a ``language_first`` queue asks for theirs. (":" is not
    allowed in a configured skill, so it never meets an admin's own.)"""
    return f"language:{language}"


LANGUAGE_SKILLS = frozenset(language_skill(lang) for lang in LANGUAGES)


def queue_model(queue_id: str, queue: QueueConfig) -> acd.Queue:
    announce = queue.announce
    return acd.Queue(
        name=queue_id,
        # a voice queue also takes the messages its callers leave (voice/messages.py)
        channels=frozenset(queue.channels) | ({VOICE_MESSAGE} if queue.voice else set()),
        strategy=acd.Strategy(queue.strategy),
        skills=dict(queue.skills),
        priority=queue.priority,
        service_level_seconds=queue.service_level_seconds,
        short_abandon_seconds=queue.short_abandon_seconds,
        max_wait_seconds=queue.max_wait_seconds or None,
        max_length=queue.max_length or None,
        join_empty=acd.EmptyPolicy(_EMPTY.get(queue.join_empty, queue.join_empty)),
        leave_when_empty=acd.EmptyPolicy(
            _EMPTY.get(queue.leave_when_empty, queue.leave_when_empty)),
        wrapup_seconds=queue.wrapup_seconds,
        wrapup_until_done=queue.require_disposition,
        offer_timeout_seconds=queue.offer_timeout_seconds,
        missed_offers_before_not_ready=queue.missed_offers_before_not_ready,
        reoffer_after_seconds=queue.reoffer_after_seconds,
        delay_seconds=queue.delay_seconds,
        announce_interval_seconds=(announce.interval_seconds
                                   if announce.position or announce.expected_wait else 0),
        escalation=tuple(
            acd.EscalationStep(
                after_seconds=step.after_seconds, min_level=step.min_level,
                add_skills={skill: 1 for skill in step.add_skills},
                drop_skills=LANGUAGE_SKILLS if step.any_language else frozenset(),
                priority_boost=step.priority_boost or 0, overflow_queue=step.overflow_queue,
                action=acd.EscalationActionKind(step.action) if step.action else None)
            for step in queue.escalation),
        blend=acd.BlendRule(protect_voice_after_seconds=queue.blend.protect_voice_after_seconds
                            or None),
    )


def queue_models(config: Config) -> list[acd.Queue]:
    return [queue_model(qid, q) for qid, q in config.queues.items()]


def agent_model(config: Config, agent: AgentConfig) -> acd.Agent:
    memberships = {}
    for queue_id in config.queues:
        members = config.eligible_agents(queue_id)
        if any(m.id == agent.id for m in members):
            position = [m.id for m in members].index(agent.id)
            memberships[queue_id] = acd.Membership(position=position)
    capacity = {"voice": agent.capacity.voice if agent.extension else 0,
                "chat": agent.capacity.chat, VOICE_MESSAGE: agent.capacity.voice_message}
    skills = {**agent.skills, **{language_skill(lang): 1 for lang in agent.languages}}
    return acd.Agent(id=agent.id, skills=skills, capacity=capacity,
                     queues=memberships, chat_while_voice=agent.chat_while_voice,
                     voice_while_chat=agent.voice_while_chat)
