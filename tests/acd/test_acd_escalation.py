"""Escalation steps, ageing (delay), preferred agent, max wait/length, empty policies."""

from __future__ import annotations

from acd import (
    CANCEL_CALLBACK,
    CANCEL_UNREACHED,
    EmptyPolicy,
    Engine,
    EscalationAction,
    EscalationStep,
    LeaveQueue,
    Queue,
    RejectArrival,
    Stats,
)
from acd.events import LEAVE_EMPTY, LEAVE_TIMEOUT, REFUSE_EMPTY, REFUSE_FULL
from tests.support.acd import agent, logs, of, offers, only_offer, voice


def test_min_level_step_lowers_the_required_level() -> None:
    q = Queue("q", skills={"x": 3}, escalation=(EscalationStep(30, min_level=1),))
    e = Engine([q])
    e.agent_login(agent("junior", skills={"x": 1}), 0)
    e.task_arrived(voice("t1"), 0)
    assert e.next_deadline() == 30
    assert offers(e.advance(29.9)) == []
    out = e.advance(30)
    assert logs(out, "ESCALATE")[0].data["step"] == 0
    assert only_offer(out).agent_id == "junior"


def test_add_skills_step_accepts_agents_with_any_extra_skill() -> None:
    q = Queue(
        "q",
        skills={"billing": 2},
        escalation=(EscalationStep(20, add_skills={"sales": 3, "support": 1}),),
    )
    e = Engine([q])
    e.agent_login(agent("weak_sales", skills={"sales": 2}), 0)  # sales 2 < 3: still no
    e.task_arrived(voice("t1"), 0)
    assert offers(e.advance(20)) == []
    w = e.waiting("q")[0]
    assert w.listings == (("q", ((("billing", 2),), (("sales", 3),), (("support", 1),))),)
    out = e.agent_login(agent("supporter", skills={"support": 1}), 21)
    assert only_offer(out).agent_id == "supporter"


def test_drop_skills_step_relaxes_a_task_skill() -> None:
    """A caller's language is asked of agents who speak it first, then of anyone: the
    task's skill is dropped by the step, the queue's own stay."""
    q = Queue("q", skills={"sales": 1},
              escalation=(EscalationStep(20, drop_skills={"language:en"}),))
    e = Engine([q])
    out = e.agent_login(agent("zh_only", skills={"sales": 5, "language:zh": 1}), 0)
    e.agent_login(agent("no_sales", skills={"language:zh": 1}), 0)
    e.task_arrived(voice("t1", skills={"language:en": 1}), 0)
    assert offers(e.advance(19.9)) == []
    out = e.advance(20)
    assert only_offer(out).agent_id == "zh_only"  # and never no_sales: queue skill kept
    # An English-speaking agent is preferred while the step has not come.
    e2 = Engine([q])
    e2.agent_login(agent("zh_only", skills={"sales": 5, "language:zh": 1}), 0)
    e2.agent_login(agent("en", skills={"sales": 1, "language:en": 1}), 1)
    assert only_offer(e2.task_arrived(voice("t1", skills={"language:en": 1}), 2)).agent_id \
        == "en"


def test_drop_skills_is_applied_by_a_reload_after_its_time() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("zh", skills={"language:zh": 1}), 0)
    e.task_arrived(voice("t1", skills={"language:en": 1}), 0)
    assert offers(e.advance(15)) == []
    new = Queue("q", escalation=(EscalationStep(10, drop_skills={"language:en"}),))
    assert only_offer(e.update_queues([new], 16)).agent_id == "zh"  # step 0 replayed


def test_min_level_caps_add_skills_too() -> None:
    q = Queue(
        "q",
        skills={"billing": 4},
        escalation=(
            EscalationStep(10, add_skills={"sales": 3}),
            EscalationStep(20, min_level=2),
        ),
    )
    e = Engine([q])
    e.agent_login(agent("s2", skills={"sales": 2}), 0)
    e.task_arrived(voice("t1"), 0)
    assert offers(e.advance(10)) == []
    assert only_offer(e.advance(20)).agent_id == "s2"


def test_priority_boost_lets_an_older_task_pass_a_higher_priority_one() -> None:
    q = Queue("q", escalation=(EscalationStep(10, priority_boost=10),))
    e = Engine([q])
    e.agent_login(agent("a"), 0)
    e.agent_set_state("a", "not_ready", 0)
    e.task_arrived(voice("old", priority=0), 0)
    e.task_arrived(voice("vip", priority=5), 1)
    assert [w.task_id for w in e.waiting("q")] == ["vip", "old"]  # before the step
    e.advance(10)  # old: 0 + 10 > 5
    assert [(w.task_id, w.priority) for w in e.waiting("q")] == [("old", 10), ("vip", 5)]
    # (at t=11 vip gets its own boost, to 15: so decide at 10.5)
    assert only_offer(e.agent_set_state("a", "ready", 10.5)).task_id == "old"


def test_overflow_step_makes_the_task_eligible_in_another_queue() -> None:
    q1 = Queue("q1", escalation=(EscalationStep(15, overflow_queue="q2"),))
    q2 = Queue("q2", skills={"general": 1})
    e = Engine([q1, q2])
    e.agent_login(agent("b", queues=("q2",), skills={"general": 1}), 0)
    e.task_arrived(voice("t1", "q1"), 0)
    o = only_offer(e.advance(15))
    assert (o.agent_id, o.queue) == ("b", "q1")  # home queue kept for stats
    out = e.offer_accepted(o.offer_id, 16)
    assert logs(out, "CONNECT")[0].queue == "q1"


def test_step_action_is_emitted_for_the_adapter() -> None:
    q = Queue(
        "q",
        escalation=(
            EscalationStep(60, action="offer_callback"),
            EscalationStep(120, action="overflow", overflow_queue="other"),
        ),
    )
    e = Engine([q])
    e.task_arrived(voice("t1"), 0)
    acts = of(e.advance(60), EscalationAction)
    assert [(a.action, a.target, a.step) for a in acts] == [("offer_callback", None, 0)]
    acts = of(e.advance(200), EscalationAction)
    assert [(a.action, a.target, a.step) for a in acts] == [("overflow", "other", 1)]
    assert e.task_state("t1") == "waiting"  # the engine does not act on its own


def test_delay_seconds_holds_the_task_back() -> None:
    e = Engine([Queue("slow", delay_seconds=20), Queue("fast")])
    e.agent_login(agent("a", queues=("slow", "fast")), 0)
    e.agent_set_state("a", "not_ready", 0)
    e.task_arrived(voice("s1", "slow"), 0)
    e.task_arrived(voice("f1", "fast"), 5)
    # at t=10 the slow task (older) is still in its delay: the fast one goes first
    assert only_offer(e.agent_set_state("a", "ready", 10)).task_id == "f1"
    e.offer_accepted("o1", 10)
    e.task_ended("f1", 12)
    assert offers(e.advance(12)) == []
    assert only_offer(e.advance(20)).task_id == "s1"


def test_preferred_agent_gets_the_task_within_its_window() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("pref"), 0)
    e.agent_login(agent("other"), 0)
    busy = only_offer(e.task_arrived(voice("x"), 0))
    assert busy.agent_id == "pref"
    e.offer_accepted(busy.offer_id, 0)
    out = e.task_arrived(voice("t1", preferred_agent="pref", preferred_wait_seconds=20), 1)
    assert offers(out) == []  # other is idle but must not take it yet
    assert e.task("t1").reserved_for == "pref"  # type: ignore[union-attr]
    out = e.task_ended("x", 10)
    assert only_offer(out).agent_id == "pref"


def test_preferred_window_expires_then_anyone_may_take_it() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("pref"), 0)
    e.agent_login(agent("other"), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("x"), 0)).offer_id, 0)
    e.task_arrived(voice("t1", preferred_agent="pref", preferred_wait_seconds=20), 1)
    assert e.next_deadline() == 21
    assert only_offer(e.advance(21)).agent_id == "other"


def test_preferred_wait_is_skipped_when_the_agent_is_not_logged_in() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("other"), 0)
    out = e.task_arrived(voice("t1", preferred_agent="gone", preferred_wait_seconds=60), 1)
    assert only_offer(out).agent_id == "other"


def test_max_wait_sends_the_task_out_with_timeout() -> None:
    e = Engine([Queue("q", max_wait_seconds=90)])
    e.task_arrived(voice("t1"), 0)
    out = e.advance(90)
    assert of(out, LeaveQueue) == [LeaveQueue("t1", "q", LEAVE_TIMEOUT, "voice")]
    assert logs(out, "EXITWITHTIMEOUT")[0].data == {"wait": 90, "position": 1}
    assert e.task_state("t1") is None


def test_max_wait_while_ringing_waits_for_the_offer_outcome() -> None:
    e = Engine([Queue("q", max_wait_seconds=10, offer_timeout_seconds=30)])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 5))  # rings from 5 to 35
    e.advance(15)
    assert e.task_state("t1") == "offered"
    out = e.offer_rejected(o.offer_id, 20)
    assert of(out, LeaveQueue) == [LeaveQueue("t1", "q", LEAVE_TIMEOUT, "voice")]


def test_a_task_with_a_deadline_waits_past_the_queues_max_wait_until_it() -> None:
    """Rule L1: a callback's own deadline replaces the queue's max wait."""
    e = Engine([Queue("q", max_wait_seconds=90)])
    e.task_arrived(voice("t1", deadline=3600), 0)
    assert of(e.advance(90), LeaveQueue) == []
    assert e.task_state("t1") == "waiting"
    out = e.advance(3600)
    assert of(out, LeaveQueue) == [LeaveQueue("t1", "q", LEAVE_TIMEOUT, "voice")]
    assert logs(out, "EXITWITHTIMEOUT")[0].data["wait"] == 3600


def test_a_tasks_own_offer_timeout_replaces_the_queues() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=15)])
    e.agent_login(agent("a"), 0)
    offer = only_offer(e.task_arrived(voice("t1", offer_timeout_seconds=50), 0))
    assert offer.deadline == 50
    assert logs(e.advance(20), "RINGNOANSWER") == []
    assert logs(e.advance(50), "RINGNOANSWER")


def test_asking_for_a_callback_is_an_exit_with_key_not_an_abandon() -> None:
    """Rule L2: neither answered nor abandoned in the statistics."""
    e = Engine([Queue("q")])
    e.task_arrived(voice("t1"), 0)
    out = e.task_cancelled("t1", 30, CANCEL_CALLBACK)
    assert logs(out, "ABANDON") == []
    assert logs(out, "EXITWITHKEY")[0].data["wait"] == 30
    stats = Stats([Queue("q")])
    stats.feed(out)
    counters = stats.totals("q")
    assert (counters.abandoned, counters.answered, counters.exited_with_key) == (0, 0, 1)


def test_a_callback_attempt_nobody_answered_is_unreached_not_an_abandon() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    only_offer(e.task_arrived(voice("cb1", offer_timeout_seconds=60), 0))
    out = e.task_cancelled("cb1", 40, CANCEL_UNREACHED)
    assert logs(out, "ABANDON") == [] and logs(out, "UNREACHED")
    stats = Stats([Queue("q")])
    stats.feed(out)
    assert (stats.totals("q").abandoned, stats.totals("q").unreached) == (0, 1)
    assert e.agent("a").state == "ready"  # the agent is free again


def test_max_length_refuses_arrivals_when_full() -> None:
    e = Engine([Queue("q", max_length=2)])
    e.task_arrived(voice("t1"), 0)
    e.task_arrived(voice("t2"), 0)
    out = e.task_arrived(voice("t3"), 0)
    assert of(out, RejectArrival) == [RejectArrival("t3", "q", REFUSE_FULL, "voice")]
    assert logs(out, "FULL")
    assert e.task_state("t3") is None


def test_join_empty_no_agents_logged_in() -> None:
    e = Engine([Queue("q", skills={"x": 1}, join_empty=EmptyPolicy.NO_AGENTS_LOGGED_IN)])
    out = e.task_arrived(voice("t1"), 0)
    assert of(out, RejectArrival) == [RejectArrival("t1", "q", REFUSE_EMPTY, "voice")]
    e.agent_login(agent("unskilled"), 1)  # member but not qualified: still empty
    assert of(e.task_arrived(voice("t2"), 2), RejectArrival)
    e.agent_login(agent("a", skills={"x": 1}), 3)
    e.agent_set_state("a", "not_ready", 3)
    assert not of(e.task_arrived(voice("t3"), 4), RejectArrival)  # logged in is enough


def test_join_empty_no_agents_available() -> None:
    e = Engine([Queue("q", join_empty=EmptyPolicy.NO_AGENTS_AVAILABLE)])
    e.agent_login(agent("a"), 0)
    e.agent_set_state("a", "not_ready", 0)
    assert of(e.task_arrived(voice("t1"), 1), RejectArrival)
    e.agent_set_state("a", "ready", 2)
    e.offer_accepted(only_offer(e.task_arrived(voice("t2"), 3)).offer_id, 3)
    # a is busy, not paused: it counts as available
    assert not of(e.task_arrived(voice("t3"), 4), RejectArrival)


def test_leave_when_empty_when_last_agent_pauses_or_logs_out() -> None:
    e = Engine([Queue("q", leave_when_empty=EmptyPolicy.NO_AGENTS_AVAILABLE)])
    e.agent_login(agent("a"), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("t1"), 0)).offer_id, 0)
    e.task_arrived(voice("t2"), 1)
    out = e.agent_set_state("a", "not_ready", 2)
    assert of(out, LeaveQueue) == [LeaveQueue("t2", "q", LEAVE_EMPTY, "voice")]
    assert logs(out, "EXITEMPTY")
    assert e.task_state("t1") == "connected"  # connected work is not affected

    e2 = Engine([Queue("q", leave_when_empty=EmptyPolicy.NO_AGENTS_LOGGED_IN)])
    e2.agent_login(agent("a"), 0)
    e2.agent_set_state("a", "not_ready", 0)
    e2.task_arrived(voice("t1"), 1)
    assert e2.task_state("t1") == "waiting"  # paused agent is still logged in
    assert of(e2.agent_logout("a", 2), LeaveQueue) == [LeaveQueue("t1", "q", LEAVE_EMPTY, "voice")]


def test_leave_when_empty_applies_to_a_task_that_joins_an_empty_queue() -> None:
    e = Engine([Queue("q", leave_when_empty=EmptyPolicy.NO_AGENTS_LOGGED_IN)])
    out = e.task_arrived(voice("t1"), 0)
    assert logs(out, "ENTERQUEUE") and of(out, LeaveQueue)
