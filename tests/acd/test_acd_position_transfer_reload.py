"""Position/expected wait, transfers, and live config reload."""

from __future__ import annotations

import pytest

from acd import (
    AnnouncePosition,
    Engine,
    EscalationAction,
    EscalationStep,
    Ignored,
    LeaveQueue,
    Queue,
    RejectArrival,
    TaskState,
)
from acd.events import REFUSE_UNKNOWN_QUEUE
from tests.support.acd import agent, chat, logs, of, offers, only_offer, voice


def test_positions_expected_wait_and_announcements_per_caller() -> None:
    e = Engine(
        [Queue("q", channels={"voice", "chat"}, wrapup_seconds=10, announce_interval_seconds=30)]
    )
    e.agent_login(agent("a", capacity={"voice": 1}), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("t0"), 0)).offer_id, 0)
    anns = []
    for i, tid in enumerate(["t1", "t2", "t3"], start=1):
        anns += of(e.task_arrived(voice(tid), float(i)), AnnouncePosition)
    # no handle time known yet: expected wait unknown
    assert anns == [
        AnnouncePosition("t1", "q", 1, None),
        AnnouncePosition("t2", "q", 2, None),
        AnnouncePosition("t3", "q", 3, None),
    ]
    assert of(e.task_arrived(chat("c1"), 4), AnnouncePosition) == []  # voice only
    assert of(e.advance(33), AnnouncePosition) == []  # each caller's first tick: nothing moved
    e.task_ended("t0", 50)  # talk 50
    out = e.advance(60)  # wrap-up 10 -> AHT = 60; a takes t1
    assert only_offer(out).task_id == "t1"
    assert of(out, AnnouncePosition) == []  # told at their own ticks, not on every move
    assert of(e.advance(61.9), AnnouncePosition) == []  # t1 ringing: no position to tell
    # EWT = position x AHT / staffed voice slots = p x 60 / 1
    assert of(e.advance(62), AnnouncePosition) == [AnnouncePosition("t2", "q", 1, 60.0)]
    assert of(e.advance(63), AnnouncePosition) == [AnnouncePosition("t3", "q", 2, 120.0)]
    assert [(w.task_id, w.position, w.expected_wait) for w in e.waiting("q")] == [
        ("t1", None, None),  # being offered: out of the line
        ("t2", 1, 60.0),
        ("t3", 2, 120.0),
        ("c1", 3, None),  # no chat slots staffed
    ]
    e.agent_login(agent("b", capacity={"voice": 1, "chat": 2}), 64)
    e.agent_set_state("b", "not_ready", 64)
    assert e.expected_wait("q", 4) == 240.0  # b is not ready: not staffed
    e.agent_set_state("b", "ready", 65)
    # (b took t2 and c1 when it logged in) AHT 60 over 2 staffed voice slots
    assert e.expected_wait("q", 3) == 90.0


def test_aht_is_smoothed_like_app_queue() -> None:
    e = Engine([Queue("q", wrapup_seconds=10)])
    e.agent_login(agent("a"), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("t1"), 0)).offer_id, 0)
    e.task_ended("t1", 50)
    e.advance(60)  # sample 1: talk 50 + wrap-up 10 = 60
    assert e.expected_wait("q", 1) == 60.0
    e.offer_accepted(only_offer(e.task_arrived(voice("t2"), 60)).offer_id, 60)
    e.task_ended("t2", 100)
    e.advance(110)  # sample 2: 40 + 10 = 50 -> 60 + 0.25 * (50 - 60) = 57.5
    assert e.expected_wait("q", 1) == 57.5


def _connected(e: Engine, tid: str, queue: str, now: float) -> str:
    o = only_offer(e.task_arrived(voice(tid, queue), now))
    e.offer_accepted(o.offer_id, now)
    return o.agent_id


def test_blind_transfer_to_queue_keeps_place_by_default() -> None:
    for keep, expected in ((True, ["old", "new"]), (False, ["new", "old"])):
        e = Engine([Queue("q1", wrapup_seconds=5), Queue("q2")])
        e.agent_login(agent("a", queues=("q1",)), 0)
        _connected(e, "old", "q1", 0)
        e.task_arrived(voice("new", "q2"), 5)
        out = e.transfer("old", 10, queue="q2", keep_position=keep)
        tr = logs(out, "TRANSFER")[0]
        assert (tr.queue, tr.agent_id, tr.data["to_queue"], tr.data["talk"]) == (
            "q1",
            "a",
            "q2",
            10,
        )
        assert logs(out, "ENTERQUEUE")[0].queue == "q2"
        assert e.agent("a").state == "wrap_up"  # type: ignore[union-attr]
        assert [w.task_id for w in e.waiting("q2")] == expected


def test_transfer_never_returns_to_the_transferring_agent_in_that_visit() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    _connected(e, "t1", "q", 0)
    out = e.transfer("t1", 10)
    assert offers(out) == []  # a is free (no wrap-up) but is excluded
    assert only_offer(e.agent_login(agent("b"), 11)).agent_id == "b"


def test_transfer_to_named_agent_waits_for_that_agent_only() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    e.agent_login(agent("b"), 0)
    _connected(e, "busy_b", "q", 0)  # a
    _connected(e, "t1", "q", 0)  # b
    e.agent_login(agent("c"), 1)  # idle
    out = e.transfer("busy_b", 5, agent_id="b")
    assert offers(out) == []  # c idle, a in no wrap-up but is the transferrer
    t = e.task("busy_b")
    assert t is not None and t.reserved_for == "b"
    assert only_offer(e.task_ended("t1", 9)).agent_id == "b"


def test_transfer_to_agent_who_logs_out_goes_to_the_queue() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    e.agent_login(agent("b"), 0)
    _connected(e, "x", "q", 0)  # a
    _connected(e, "y", "q", 0)  # b
    e.transfer("x", 5, agent_id="b")
    e.agent_login(agent("c"), 6)
    e.agent_set_state("c", "ready", 6)
    out = e.agent_logout("b", 7)
    assert only_offer(out).agent_id == "c"


def test_transfer_rejections_are_ignored_inputs() -> None:
    e = Engine([Queue("q"), Queue("chat_only", channels={"chat"})])
    e.agent_login(agent("a"), 0)
    e.task_arrived(voice("w"), 0)  # offered to a, not connected
    assert of(e.transfer("w", 1, queue="q"), Ignored)
    e.offer_accepted("o1", 1)
    assert of(e.transfer("w", 2, queue="nope"), Ignored)
    assert of(e.transfer("w", 2, queue="chat_only"), Ignored)
    assert of(e.transfer("w", 2, agent_id="ghost"), Ignored)
    assert e.task_state("w") == TaskState.CONNECTED


def test_reload_keeps_waiting_tasks_and_relists_with_new_skills() -> None:
    e = Engine([Queue("q", skills={"x": 3})])
    e.agent_login(agent("a", skills={"x": 2}), 0)
    e.task_arrived(voice("t1"), 0)
    e.task_arrived(voice("t2"), 1)
    out = e.update_queues([Queue("q", skills={"x": 2})], 5)
    assert logs(out, "CONFIGRELOAD")
    assert only_offer(out).task_id == "t1"  # original order kept
    assert [w.task_id for w in e.waiting("q")] == ["t1", "t2"]


def test_reload_removing_a_queue_retires_it_without_losing_tasks() -> None:
    e = Engine([Queue("old"), Queue("new")])
    e.task_arrived(voice("t1", "old"), 0)
    e.update_queues([Queue("new")], 1)
    assert e.queue_names() == ["new"]
    assert e.queue_names(include_retired=True) == ["old", "new"]
    out = e.task_arrived(voice("t2", "old"), 2)
    assert of(out, RejectArrival) == [RejectArrival("t2", "old", REFUSE_UNKNOWN_QUEUE, "voice")]
    assert e.task_state("t1") == "waiting"
    assert only_offer(e.agent_login(agent("a", queues=("old",)), 3)).task_id == "t1"


def test_reload_reapplies_past_escalation_steps_silently() -> None:
    e = Engine([Queue("q", skills={"x": 3})])
    e.agent_login(agent("a", skills={"x": 1}), 0)
    e.task_arrived(voice("t1"), 0)
    new = Queue(
        "q",
        skills={"x": 3},
        escalation=(
            EscalationStep(30, min_level=1, action="offer_callback"),
            EscalationStep(100, action="voicemail"),
        ),
    )
    e.agent_set_state("a", "not_ready", 40)
    out = e.update_queues([new], 50)
    assert of(out, EscalationAction) == []  # step 0 (t=30) passed: applied, not re-sent
    assert only_offer(e.agent_set_state("a", "ready", 51)).task_id == "t1"  # min_level 1
    e.offer_rejected("o1", 52)
    assert [a.action for a in of(e.advance(100), EscalationAction)] == ["voicemail"]


def test_reload_adds_a_queue_its_members_join() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a", queues=("q", "later")), 0)
    assert of(e.task_arrived(voice("t1", "later"), 1), RejectArrival)
    e.update_queues([Queue("q"), Queue("later")], 2)
    assert only_offer(e.task_arrived(voice("t2", "later"), 3)).agent_id == "a"


def test_update_agent_changes_skills_and_membership_live() -> None:
    e = Engine([Queue("q", skills={"x": 2}), Queue("r")])
    e.agent_login(agent("a", queues=("r",), skills={"x": 1}), 0)
    e.task_arrived(voice("t1", "q"), 1)
    out = e.update_agent(agent("a", queues=("q",), skills={"x": 2}), 2)
    assert only_offer(out).task_id == "t1"
    e.offer_accepted("o1", 3)
    e.task_ended("t1", 4)
    assert offers(e.task_arrived(voice("t2", "r"), 5)) == []  # no longer in r
    assert of(e.update_agent(agent("ghost"), 6), Ignored)


def test_update_agent_with_lower_capacity_keeps_work_in_hand() -> None:
    e = Engine([Queue("q", channels={"chat"})])
    e.agent_login(agent("a", capacity={"chat": 3}), 0)
    for i in range(3):
        e.offer_accepted(only_offer(e.task_arrived(chat(f"c{i}"), 0)).offer_id, 0)
    e.update_agent(agent("a", capacity={"chat": 1}), 1)
    assert e.agent("a").holding == {"chat": 3}  # type: ignore[union-attr]
    e.task_arrived(chat("c3"), 2)
    assert offers(e.task_ended("c0", 3)) == []  # 2 held > capacity 1
    assert offers(e.task_ended("c1", 4)) == []  # 1 held = capacity 1
    assert only_offer(e.task_ended("c2", 5)).task_id == "c3"


def test_duplicate_task_id_is_a_caller_bug() -> None:
    e = Engine([Queue("q")])
    e.task_arrived(voice("t1"), 0)
    with pytest.raises(ValueError, match="already"):
        e.task_arrived(voice("t1"), 1)


def test_time_never_goes_backwards() -> None:
    e = Engine([Queue("q", max_wait_seconds=10)])
    e.task_arrived(voice("a"), 100)
    e.task_arrived(voice("b"), 90)  # a late timestamp is taken as t=100
    t = e.task("b")
    assert t is not None and t.waited == 0 and t.order == 100
    assert [w.task_id for w in e.waiting("q")] == ["a", "b"]
    assert e.next_deadline() == 110
    assert of(e.advance(109), LeaveQueue) == []
    assert [x.task_id for x in of(e.advance(110), LeaveQueue)] == ["a", "b"]
