"""Offers: accept, reject, timeout, cancel, missed-offer rule, late inputs."""

from __future__ import annotations

from acd import AgentState, Engine, Ignored, Queue, TaskState
from acd.events import WITHDRAW_CANCELLED, WITHDRAW_TIMEOUT
from tests.support.acd import agent, logs, of, offers, only_offer, states, voice, withdrawals


def test_offer_carries_deadline_and_next_deadline_reports_it() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=15)])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 2))
    assert (o.task_id, o.agent_id, o.channel, o.queue, o.deadline) == ("t1", "a", "voice", "q", 17)
    assert e.next_deadline() == 17
    assert e.advance(16.9) == []
    out = e.advance(17)
    assert [w.reason for w in withdrawals(out)] == [WITHDRAW_TIMEOUT]
    assert len(logs(out, "RINGNOANSWER")) == 1


def test_reject_requeues_at_original_place_and_skips_the_rejecting_agent() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    o1 = only_offer(e.task_arrived(voice("t1"), 1))
    e.task_arrived(voice("t2"), 2)
    e.task_arrived(voice("t3"), 3)
    assert [w.task_id for w in e.waiting("q") if w.state == TaskState.WAITING] == ["t2", "t3"]
    out = e.offer_rejected(o1.offer_id, 4)
    assert logs(out, "REJECT")[0].agent_id == "a"
    # a declined t1, so a gets t2; t1 is back at the head of the line
    assert only_offer(out).task_id == "t2"
    line = [w for w in e.waiting("q") if w.state == TaskState.WAITING]
    assert [(w.task_id, w.position) for w in line] == [("t1", 1), ("t3", 2)]
    # a second agent takes the head: t1, not t3
    assert only_offer(e.agent_login(agent("b"), 5)).task_id == "t1"


def test_timeout_requeues_and_n_consecutive_timeouts_set_not_ready() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=10, missed_offers_before_not_ready=2)])
    e.agent_login(agent("a"), 0)
    e.task_arrived(voice("t1"), 0)
    e.task_arrived(voice("t2"), 0)
    out = e.advance(10)  # a misses t1, gets t2
    assert only_offer(out).task_id == "t2"
    assert e.agent("a").missed_in_a_row == 1  # type: ignore[union-attr]
    out = e.advance(20)  # a misses t2: 2 in a row -> not ready
    pause = logs(out, "PAUSE")
    assert [p.data["reason"] for p in pause] == ["missed offers"]
    view = e.agent("a")
    assert view is not None and view.state == AgentState.NOT_READY
    assert view.reason == "missed offers"
    assert ("a", "not_ready") in states(out)
    assert offers(out) == []
    # both tasks wait, in arrival order
    assert [w.task_id for w in e.waiting("q")] == ["t1", "t2"]


def test_accept_resets_the_missed_offer_count() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=10, missed_offers_before_not_ready=2)])
    e.agent_login(agent("a"), 0)
    e.task_arrived(voice("t1"), 0)
    e.task_arrived(voice("t2"), 0)
    o2 = only_offer(e.advance(10))
    e.offer_accepted(o2.offer_id, 11)
    assert e.agent("a").missed_in_a_row == 0  # type: ignore[union-attr]


def test_reject_does_not_count_as_missed() -> None:
    e = Engine([Queue("q", missed_offers_before_not_ready=1)])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 0))
    e.offer_rejected(o.offer_id, 1)
    view = e.agent("a")
    assert view is not None and view.presence == "ready" and view.missed_in_a_row == 0


def test_cancel_while_offered_withdraws_and_logs_abandon() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 0))
    e.task_arrived(voice("t2"), 1)
    out = e.task_cancelled("t1", 4)
    assert [(w.offer_id, w.reason) for w in withdrawals(out)] == [(o.offer_id, WITHDRAW_CANCELLED)]
    ab = logs(out, "ABANDON")
    assert len(ab) == 1 and ab[0].data["wait"] == 4
    assert only_offer(out).task_id == "t2"  # a is free again and takes t2
    assert e.task_state("t1") is None


def test_cancel_while_waiting_reports_position() -> None:
    e = Engine([Queue("q")])
    for i in range(3):
        e.task_arrived(voice(f"t{i}"), float(i))
    out = e.task_cancelled("t1", 10)
    ab = logs(out, "ABANDON")[0]
    assert ab.data == {"wait": 9.0, "position": 2, "reason": "abandon"}
    assert [(w.task_id, w.position) for w in e.waiting("q")] == [("t0", 1), ("t2", 2)]


def test_late_and_unknown_inputs_are_ignored_not_errors() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=5)])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 0))
    e.advance(5)
    for out in (
        e.offer_accepted(o.offer_id, 6),
        e.offer_rejected(o.offer_id, 6),
        e.task_ended("t1", 6),
        e.task_cancelled("nope", 6),
        e.wrapup_done("a", 6),
        e.agent_logout("ghost", 6),
    ):
        assert len(of(out, Ignored)) == 1


def test_cancel_of_connected_task_completes_it_by_caller() -> None:
    e = Engine([Queue("q", wrapup_seconds=5)])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 0))
    e.offer_accepted(o.offer_id, 1)
    out = e.task_cancelled("t1", 31)
    done = logs(out, "COMPLETECALLER")
    assert len(done) == 1 and done[0].data == {"wait": 1, "talk": 30}
    assert e.agent("a").state == AgentState.WRAP_UP  # type: ignore[union-attr]


def test_not_ready_agent_keeps_its_pending_offer_but_gets_nothing_new() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 0))
    e.agent_set_state("a", "not_ready", 1, reason="lunch")
    e.offer_accepted(o.offer_id, 2)
    e.task_ended("t1", 3)
    assert offers(e.task_arrived(voice("t2"), 4)) == []
    view = e.agent("a")
    assert view is not None and view.state == AgentState.NOT_READY and view.reason == "lunch"


def test_logout_withdraws_offers_without_declining() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 0))
    out = e.agent_logout("a", 1)
    assert [w.offer_id for w in withdrawals(out)] == [o.offer_id]
    assert logs(out, "AGENTLOGOFF")
    t = e.task("t1")
    assert t is not None and t.state == TaskState.WAITING and t.declined == frozenset()
    assert only_offer(e.agent_login(agent("a"), 2)).task_id == "t1"


def test_agent_state_changes_are_reported_once_per_input() -> None:
    e = Engine([Queue("q")])
    assert states(e.agent_login(agent("a"), 0)) == [("a", "ready")]
    e.task_arrived(voice("t1"), 1)
    e.task_arrived(voice("t2"), 1)
    assert states(e.offer_accepted("o1", 2)) == [("a", "busy")]
    # ending t1 frees a, which is offered t2 in the same call: no transient "ready"
    assert states(e.task_ended("t1", 3)) == [("a", "reserved")]
