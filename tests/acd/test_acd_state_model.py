"""State tables, rule predicates, config parsing/validation, and the input methods end to end."""

from __future__ import annotations

import pytest

from acd import (
    Agent,
    AgentState,
    BlendRule,
    EmptyPolicy,
    Engine,
    EscalationStep,
    Membership,
    Presence,
    Queue,
    Strategy,
    Task,
    TaskState,
)
from acd._state import (
    PRESENCE,
    TASK,
    PresenceInput,
    TaskInput,
    TransitionError,
    able,
    escalated_requirement,
    guarded,
    missed_too_often,
    neg_priority,
    next_presence,
    next_task_state,
    preferred_wait_applies,
    qualifies,
    queue_empty,
    reoffer_due,
    requirement,
    summary_state,
)
from acd.records import AgentRec
from tests.support.acd import agent, logs, offers, voice


def test_task_table_has_no_way_out_of_ended_and_rejects_unknown_moves() -> None:
    assert not any(s is TaskState.ENDED for s, _ in TASK)
    assert next_task_state(TaskState.OFFERED, TaskInput.OFFER_FAILED) is TaskState.WAITING
    assert next_task_state(TaskState.CONNECTED, TaskInput.TRANSFER) is TaskState.WAITING
    with pytest.raises(TransitionError):
        next_task_state(TaskState.WAITING, TaskInput.ACCEPT)
    with pytest.raises(TransitionError):
        next_task_state(TaskState.ENDED, TaskInput.CANCEL)


def test_presence_table() -> None:
    assert next_presence(Presence.LOGGED_OUT, PresenceInput.SET_READY) is None
    assert next_presence(Presence.LOGGED_OUT, PresenceInput.LOGIN_NOT_READY) is Presence.NOT_READY
    assert next_presence(Presence.NOT_READY, PresenceInput.LOGOUT) is Presence.LOGGED_OUT
    assert {s for s, _ in PRESENCE} == set(Presence)


def test_summary_state_precedence() -> None:
    r = Presence.READY
    assert summary_state(r, 1, 1, 1) is AgentState.BUSY
    assert summary_state(r, 1, 0, 1) is AgentState.RESERVED
    assert summary_state(Presence.NOT_READY, 0, 0, 1) is AgentState.WRAP_UP
    assert summary_state(Presence.NOT_READY, 0, 0, 0) is AgentState.NOT_READY
    assert summary_state(Presence.LOGGED_OUT, 0, 1, 0) is AgentState.BUSY


def test_queue_from_yaml_like_dict() -> None:
    q = Queue.from_dict(
        {
            "name": "support",
            "channels": ["voice", "chat"],
            "strategy": "round_robin",
            "skills": {"en": 2},
            "max_wait_seconds": 300,
            "join_empty": "no_agents_logged_in",
            "escalation": [
                {"after_seconds": 30, "min_level": 1},
                {"after_seconds": 60, "add_skills": ["general"], "action": "offer_callback"},
            ],
            "blend": {"protect_voice_after_seconds": 20},
        }
    )
    assert q.channels == frozenset({"voice", "chat"})
    assert q.strategy is Strategy.ROUND_ROBIN
    assert q.escalation[1] == EscalationStep(60, add_skills={"general": 1}, action="offer_callback")
    assert q.blend.protect_voice_after_seconds == 20


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "q", "strategy": "fastest"},
        {"name": "q", "colour": "red"},
        {"name": "q", "join_empty": "sometimes"},
        {"name": "q", "channels": []},
        {"name": "q", "escalation": [{"after_seconds": 60}, {"after_seconds": 30}]},
        {"name": "q", "escalation": [{"after_seconds": 10, "action": "dance"}]},
        {"name": "q", "offer_timeout_seconds": 0},
        {"name": "q", "skills": {"x": -1}},
        {"name": ""},
    ],
)
def test_queue_config_errors_are_caught_at_load(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Queue.from_dict(bad)


def test_agent_from_dict_accepts_a_list_of_queues() -> None:
    a = Agent.from_dict({"id": "a", "queues": ["q1", "q2"], "capacity": {"voice": 1, "chat": 3}})
    assert a.queues == {"q1": Membership(), "q2": Membership()}
    b = Agent.from_dict({"id": "b", "queues": {"q1": {"penalty": 2, "weight": 0.5}}})
    assert b.queues["q1"] == Membership(penalty=2, weight=0.5)
    with pytest.raises(ValueError):
        Agent.from_dict({"id": "c", "after_wrapup": "lunch"})
    with pytest.raises(ValueError):
        Membership(weight=0)


def test_every_input_method_does_its_part() -> None:
    e = Engine([Queue("q", wrapup_seconds=5)])
    e.agent_login(agent("a"), 0)
    out = e.task_arrived(voice("t1"), 1)
    (o,) = offers(out)
    e.offer_accepted(o.offer_id, 2)
    out = e.task_ended("t1", 10, by="caller")
    assert logs(out, "COMPLETECALLER")
    assert logs(e.advance(15), "WRAPUP")
    e.agent_set_state("a", "not_ready", 16, reason="break")
    assert e.agent("a").reason == "break"  # type: ignore[union-attr]
    e.update_agent(agent("a", skills={"x": 1}), 17)
    e.update_queues([Queue("q")], 18)
    e.task_arrived(Task("t2", "voice", "q"), 19)
    assert logs(e.task_cancelled("t2", 20), "ABANDON")
    assert logs(e.agent_logout("a", 21), "AGENTLOGOFF")
    e.wrapup_done("a", 22)
    e.transfer("nope", 23)


def test_set_state_rejects_unknown_states() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    with pytest.raises(ValueError):
        e.agent_set_state("a", "busy", 1)


# ---------------------------------------------------------------- rule predicates


def _rec(presence: Presence = Presence.READY, **cfg: object) -> AgentRec:
    a = AgentRec(Agent("a", **cfg))  # type: ignore[arg-type]
    a.presence = presence
    return a


def test_able_follows_rule_a3() -> None:
    held: dict[str, AgentRec] = {}
    a = _rec(capacity={"voice": 1, "chat": 2})
    assert able(a, "voice", 0, held) and able(a, "chat", 0, held)
    assert not able(_rec(Presence.NOT_READY), "voice", 0, held)
    assert not able(a, "email", 0, held)  # no capacity on that channel
    a.holding, a.text_holding = {"chat": 1}, 1
    assert not able(a, "voice", 0, held)  # voice while holding text needs voice_while_chat
    assert able(a, "chat", 0, held)
    a.holding, a.text_holding = {"voice": 1}, 0
    assert not able(a, "chat", 0, held)  # text while holding voice needs chat_while_voice
    b = _rec(capacity={"voice": 1, "chat": 2}, chat_while_voice=True, voice_while_chat=True)
    b.holding, b.text_holding = {"chat": 2}, 2
    assert able(b, "voice", 0, held) and not able(b, "chat", 0, held)  # chat slots full
    assert held == {}


def test_blend_guard_holds_text_offers_back_and_notes_the_agent() -> None:
    e = Engine([Queue("vq", blend=BlendRule(10))])
    e.task_arrived(voice("v1", "vq"), 0)
    (c,) = e._core.queues["vq"].classes.values()  # white-box: the guarded voice class
    a = _rec(capacity={"voice": 1, "chat": 1})
    a.guards = [c]
    held: dict[str, AgentRec] = {}
    assert not guarded(a, 9.9) and able(a, "chat", 9.9, held)
    assert guarded(a, 10) and not able(a, "chat", 10, held)  # rule B1
    assert held == {"a": a}
    assert able(a, "voice", 10, {})  # voice offers are never blocked


def test_requirement_rule_q1() -> None:
    assert requirement({"en": 1}, {"en": 3, "fr": 1}, None, {}) == ((("en", 3), ("fr", 1)),)
    req = requirement({"en": 3}, {}, 2, {"de": 3})
    assert req == ((("en", 2),), (("de", 2),))  # capped by min_level, OR any extra skill
    assert qualifies({"de": 2}, req) and qualifies({"en": 2}, req)
    assert not qualifies({"en": 1, "de": 1}, req)
    cap, extra = escalated_requirement(3, {"de": 2}, EscalationStep(5, 1, {"de": 4, "fr": 1}))
    assert (cap, extra) == (1, {"de": 2, "fr": 1})  # lowest cap, lower level kept


def test_small_rules() -> None:
    assert missed_too_often(3, 3) and not missed_too_often(2, 3) and not missed_too_often(9, 0)
    ready, out = _rec(), _rec(Presence.LOGGED_OUT)
    assert preferred_wait_applies(ready, 5, "voice")
    assert not preferred_wait_applies(out, 5, "voice")  # rule Q2: logged in at entry
    assert not preferred_wait_applies(ready, 0, "voice")
    assert not preferred_wait_applies(ready, 5, "chat")  # no capacity for the channel
    busy = _rec(Presence.NOT_READY)
    assert queue_empty({}, EmptyPolicy.NO_AGENTS_LOGGED_IN)
    assert not queue_empty({"a": busy}, EmptyPolicy.NO_AGENTS_LOGGED_IN)
    assert queue_empty({"a": busy}, EmptyPolicy.NO_AGENTS_AVAILABLE)  # rule Q5
    assert not queue_empty({"a": busy, "b": ready}, EmptyPolicy.NO_AGENTS_AVAILABLE)
    assert not queue_empty({}, EmptyPolicy.ALWAYS)
    assert neg_priority(Queue("q", priority=2), Task("t", "voice", "q", priority=1)) == -3


def test_rule_q3_reoffer_due() -> None:
    assert reoffer_due(Queue("q"), 10.0) is None  # declines last the visit
    assert reoffer_due(Queue("q", reoffer_after_seconds=4), 10.0) == 14.0
