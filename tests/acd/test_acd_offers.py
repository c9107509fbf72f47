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


# ---- rule Q3: declines last while someone else may take the task, then a pause


def test_a_missed_task_nobody_else_can_take_is_offered_again_after_the_pause() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=10, reoffer_after_seconds=3)])
    e.agent_login(agent("a"), 0)
    first = only_offer(e.task_arrived(voice("t1"), 0))
    assert offers(e.advance(10)) == []  # a missed it: not at once
    w = e.task("t1")
    assert w is not None and w.declined == {"a"} and not w.eligible
    assert e.unserved("q") == 1
    assert e.next_deadline() == 13
    assert offers(e.advance(12.9)) == []
    again = only_offer(e.advance(13))
    assert (again.agent_id, again.task_id) == ("a", "t1") and again.offer_id != first.offer_id
    assert e.unserved("q") == 0


def test_a_rejected_task_is_offered_again_after_the_pause_too() -> None:
    e = Engine([Queue("q", reoffer_after_seconds=2)])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 0))
    assert offers(e.offer_rejected(o.offer_id, 1)) == []
    assert only_offer(e.advance(3)).agent_id == "a"


def test_without_a_pause_declines_last_the_visit() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=10)])  # reoffer_after_seconds=None
    e.agent_login(agent("a"), 0)
    e.task_arrived(voice("t1"), 0)
    e.advance(10)
    assert e.next_deadline() is None
    assert offers(e.advance(1000)) == []


def test_another_able_agent_is_offered_first_and_the_pause_counts_from_the_last_failure() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=10, reoffer_after_seconds=5,
                      missed_offers_before_not_ready=0)])
    e.agent_login(agent("a"), 0)
    e.agent_login(agent("b"), 1)
    assert only_offer(e.task_arrived(voice("t1"), 2)).agent_id == "a"
    assert only_offer(e.advance(12)).agent_id == "b"  # b is still able: b, not a again
    out = e.advance(22)  # b missed it too: nobody else is left
    assert offers(out) == []
    assert e.next_deadline() == 27  # five seconds after b's miss, not a's
    again = only_offer(e.advance(27))
    assert again.agent_id in {"a", "b"}


def test_an_agent_busy_when_the_pause_ends_takes_the_task_once_free() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=10, reoffer_after_seconds=2, wrapup_seconds=0)])
    e.agent_login(agent("a"), 0)
    e.task_arrived(voice("t1"), 0)
    e.advance(10)  # missed
    o2 = only_offer(e.task_arrived(voice("t2"), 11))  # a takes a later call meanwhile
    e.offer_accepted(o2.offer_id, 11)
    assert offers(e.advance(12)) == []  # pause over, a busy: t1 waits with no declines
    w = e.task("t1")
    assert w is not None and w.declined == frozenset() and w.eligible
    out = e.task_ended("t2", 20)
    assert only_offer(out).task_id == "t1"


def test_the_transferring_agent_is_never_offered_the_task_again() -> None:
    e = Engine([Queue("q", offer_timeout_seconds=10, reoffer_after_seconds=1, wrapup_seconds=0)])
    e.agent_login(agent("a"), 0)
    e.agent_login(agent("b"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 1))
    e.offer_accepted(o.offer_id, 1)
    by = o.agent_id
    other = "b" if by == "a" else "a"
    o2 = only_offer(e.transfer("t1", 2))
    assert o2.agent_id == other
    e.advance(12)  # the other agent missed it: only the transferrer is free
    out = e.advance(100)  # re-offered to the other agent until it is set not ready
    assert offers(out) and all(x.agent_id == other for x in offers(out))
    w = e.task("t1")
    assert w is not None and by in w.declined


def test_reoffer_after_seconds_must_be_positive() -> None:
    import pytest

    with pytest.raises(ValueError, match="reoffer_after_seconds"):
        Queue("q", reoffer_after_seconds=0)


def test_unserved_counts_callers_no_ready_agent_may_take() -> None:
    e = Engine([Queue("q"), Queue("other")])
    e.agent_login(agent("a"), 0, ready=False)
    e.agent_login(agent("b", queues=("other",)), 0)  # ready, but not a member of q
    for i in range(3):
        e.task_arrived(voice(f"t{i}"), 1 + i)
    assert e.unserved("q") == 3 and not any(w.eligible for w in e.waiting("q"))
    e.agent_login(agent("c"), 5)  # ready and qualified, takes t0: the others wait for it
    assert e.unserved("q") == 0
    assert [w.eligible for w in e.waiting("q") if w.state == TaskState.WAITING] == [True] * 2
