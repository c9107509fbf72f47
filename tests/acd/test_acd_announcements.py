"""Position announcements (rules P1, P2): each voice caller on its own cadence,
only when its position moved, with the position right whatever moved it."""

from __future__ import annotations

import random

from acd import AnnouncePosition, Engine, EscalationStep, Offer, Queue, Task, TaskState
from acd._state import next_announcement
from tests.support.acd import agent, logs, of, only_offer, voice


def heard(outs: list) -> list[tuple[str, int]]:
    return [(a.task_id, a.position) for a in of(outs, AnnouncePosition)]


def test_each_caller_ticks_on_its_own_cadence_and_only_when_it_moved() -> None:
    e = Engine([Queue("q", announce_interval_seconds=30)])
    assert heard(e.task_arrived(voice("t1"), 0)) == [("t1", 1)]
    assert heard(e.task_arrived(voice("t2"), 10)) == [("t2", 2)]
    assert e.next_deadline() == 30  # t1's first tick, interval after it entered
    assert heard(e.advance(30)) == []  # nobody moved
    assert e.next_deadline() == 40  # t2's, not the queue's
    e.task_cancelled("t1", 35)
    assert heard(e.advance(39.9)) == []
    assert heard(e.advance(40)) == [("t2", 1)]  # at its own tick, not when t1 left
    assert heard(e.task_arrived(voice("t3"), 45)) == [("t3", 2)]
    assert heard(e.advance(70)) == []  # t2 still 1
    assert heard(e.advance(75)) == []  # t3 still 2
    assert e.next_deadline() == 100


def test_position_after_callers_ahead_are_offered_and_come_back() -> None:
    e = Engine([Queue("q", announce_interval_seconds=30)])
    e.agent_login(agent("a"), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("t0"), 0)).offer_id, 0)
    for i, tid in enumerate(("t1", "t2", "t3"), start=1):
        e.task_arrived(voice(tid), float(i))  # heard 1, 2, 3
    assert only_offer(e.task_ended("t0", 20)).task_id == "t1"  # t1 rings: out of the line
    out = e.advance(33)  # the ticks of t1 (31), t2 (32) and t3 (33)
    assert heard(out) == [("t2", 1), ("t3", 2)]  # the ringing caller hears nothing
    e.agent_logout("a", 40)  # the offer is withdrawn: t1 back at its place
    assert [w.task_id for w in e.waiting("q")] == ["t1", "t2", "t3"]
    assert heard(e.advance(63)) == [("t2", 2), ("t3", 3)]  # t1 heard 1 at entry: no news


def test_a_caller_offered_at_entry_hears_its_place_at_its_tick_if_the_offer_fails() -> None:
    e = Engine([Queue("q", announce_interval_seconds=30)])
    e.agent_login(agent("a"), 0)
    out = e.task_arrived(voice("t1"), 0)
    assert heard(out) == [] and only_offer(out).agent_id == "a"
    e.agent_logout("a", 5)
    assert heard(e.advance(30)) == [("t1", 1)]


def test_priority_boosts_move_callers_in_line() -> None:
    e = Engine([Queue("q", announce_interval_seconds=30,
                      escalation=(EscalationStep(45, priority_boost=5),))])
    assert heard(e.task_arrived(voice("t1"), 0)) == [("t1", 1)]
    assert heard(e.task_arrived(voice("t2", priority=3), 20)) == [("t2", 1)]  # passes t1
    assert heard(e.advance(30)) == [("t1", 2)]
    assert logs(e.advance(45), "ESCALATE")  # t1: 0 + 5 > 3, back in front
    assert heard(e.advance(50)) == [("t2", 2)]
    assert heard(e.advance(60)) == [("t1", 1)]
    assert logs(e.advance(65), "ESCALATE")  # t2: 3 + 5 > 5
    assert heard(e.advance(80)) == [("t2", 1)]
    assert heard(e.advance(90)) == [("t1", 2)]
    assert [w.position for w in e.waiting("q")] == [1, 2]


def test_late_input_skips_missed_ticks_and_keeps_the_phase() -> None:
    e = Engine([Queue("q", announce_interval_seconds=30)])
    e.task_arrived(voice("t1"), 0)
    e.task_arrived(voice("t2"), 1)
    e.task_cancelled("t1", 2)
    assert heard(e.advance(100)) == [("t2", 1)]  # once, not for 31, 61 and 91
    assert e.next_deadline() == 121
    assert next_announcement(31, 30, 100) == 121
    assert next_announcement(31, 30, 31) == 61
    assert next_announcement(31, 0, 31) is None


def test_a_transfer_enters_at_its_kept_place_and_starts_a_new_cadence() -> None:
    e = Engine([Queue("q", announce_interval_seconds=30),
                Queue("q2", announce_interval_seconds=20)])
    e.agent_login(agent("a", queues=("q",)), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("old"), 0)).offer_id, 0)
    e.task_arrived(voice("new", "q2"), 5)
    out = e.transfer("old", 50, queue="q2")  # keeps its place: ahead of "new"
    assert logs(out, "ENTERQUEUE")[0].data["position"] == 1
    assert heard(out) == [("old", 1)]
    assert heard(e.advance(65)) == [("new", 2)]  # new's tick (5 + 3 x 20)
    assert e.next_deadline() == 70  # old's: 20 after it entered q2


def test_reload_sets_the_interval_from_each_callers_next_tick() -> None:
    q = Queue("q", announce_interval_seconds=30)
    e = Engine([q])
    e.task_arrived(voice("t1"), 0)
    e.task_arrived(voice("t2"), 1)
    e.update_queues([Queue("q", announce_interval_seconds=0)], 10)
    e.task_cancelled("t1", 20)
    assert heard(e.advance(31)) == []  # turned off: t2's pending tick is silent
    assert e.next_deadline() is None  # and the last
    e.update_queues([Queue("q", announce_interval_seconds=20)], 40)
    assert e.next_deadline() == 41  # in phase with its entry: 1 + 2 x 20
    assert heard(e.advance(41)) == [("t2", 1)]


def test_text_contacts_are_never_announced() -> None:
    e = Engine([Queue("q", channels={"voice", "chat"}, announce_interval_seconds=30)])
    assert heard(e.task_arrived(Task("c1", "chat", "q"), 0)) == []
    assert e.next_deadline() is None  # no timer either
    assert heard(e.task_arrived(voice("t1"), 1)) == [("t1", 2)]  # the chat counts in line
    assert e.next_deadline() == 31


def test_position_index_agrees_with_a_sort_of_the_queue() -> None:
    """Rule P1 under arrivals (some with an earlier arrival time or a priority),
    abandons, offers, failed offers, boosts and transfers: the O(log n) index
    (``task().position``, ENTERQUEUE's and the announced positions) against a
    sort of the queue (``waiting()``)."""
    rng = random.Random(7)
    ladder = (EscalationStep(11, priority_boost=2), EscalationStep(23, priority_boost=1))
    e = Engine([
        Queue("q", announce_interval_seconds=7, escalation=ladder, offer_timeout_seconds=60),
        Queue("q2", announce_interval_seconds=5, offer_timeout_seconds=60),
    ])
    now, n = 0.0, 0
    live: dict[str, str] = {}  # offer -> task
    for i in range(3):
        e.agent_login(agent(f"a{i}", queues=("q", "q2")), now, ready=False)
    for _ in range(1500):
        now += rng.expovariate(1.0)
        r = rng.random()
        out: list = []
        arrived = None
        talking = [t for t in live.values() if e.task_state(t) == TaskState.CONNECTED]
        pending = [o for o, t in live.items() if e.task_state(t) == TaskState.OFFERED]
        if r < 0.35:
            n += 1
            arrived = f"t{n}"
            arrival = now - rng.uniform(0, 30) if rng.random() < 0.2 else None
            task = voice(arrived, rng.choice(("q", "q", "q2")),
                         priority=rng.choice((0, 0, 1, 3)), arrival=arrival)
            out = e.task_arrived(task, now)
        elif r < 0.45:
            waiting = [w.task_id for w in e.waiting() if w.state == TaskState.WAITING]
            if waiting:
                out = e.task_cancelled(rng.choice(waiting), now)
        elif r < 0.55:
            ready = "ready" if rng.random() < 0.6 else "not_ready"
            out = e.agent_set_state(f"a{rng.randrange(3)}", ready, now)
        elif r < 0.75 and pending:
            oid = rng.choice(pending)
            out = e.offer_rejected(oid, now) if rng.random() < 0.3 else e.offer_accepted(oid, now)
        elif r < 0.85 and talking:
            out = e.transfer(rng.choice(talking), now, queue=rng.choice(("q", "q2")),
                             keep_position=rng.random() < 0.5)
        elif r < 0.95 and talking:
            out = e.task_ended(rng.choice(talking), now)
        else:
            out = e.advance(now)
        live.update((o.offer_id, o.task_id) for o in of(out, Offer))
        live = {k: t for k, t in live.items() if e.task_state(t) is not None}
        for qn in ("q", "q2"):
            line = [w for w in e.waiting(qn) if w.state == TaskState.WAITING]
            for i, w in enumerate(line, start=1):
                assert w.position == i
                v = e.task(w.task_id)
                assert v is not None and v.position == i, (w.task_id, v, i)
        if arrived is not None and e.task_state(arrived) == TaskState.WAITING:
            v = e.task(arrived)
            assert v is not None
            assert logs(out, "ENTERQUEUE")[0].data["position"] == v.position
            assert heard(out)[-1] == (arrived, v.position)
        if out and all(isinstance(o, AnnouncePosition) for o in out):  # ticks alone: no moves
            for a in out:
                v = e.task(a.task_id)
                assert v is not None and v.position == a.position


def test_a_callers_own_deadlines_due_together_go_leave_step_announcement() -> None:
    """Rule T2: one timer per task (the earliest of its deadlines); on a tie the
    caller leaves first, else its step applies before it hears its place."""
    ladder = (EscalationStep(30, priority_boost=5),)
    e = Engine([Queue("q", announce_interval_seconds=30, escalation=ladder),
                Queue("short", announce_interval_seconds=30, escalation=ladder,
                      max_wait_seconds=30)])
    e.task_arrived(voice("t1"), 0)
    e.task_arrived(voice("t2"), 1)
    e.task_arrived(voice("t3", "short"), 2)
    e.task_cancelled("t1", 5)
    out = e.advance(31)  # t2: its step, then its tick (position 1 after t1 left)
    assert [type(o).__name__ for o in out] == ["LogEvent", "AnnouncePosition"]
    assert logs(out, "ESCALATE") and heard(out) == [("t2", 1)]
    out = e.advance(32)  # t3: max wait, step and tick at once: it leaves, nothing else
    assert [type(o).__name__ for o in out] == ["LeaveQueue", "LogEvent"]
    assert logs(out, "EXITWITHTIMEOUT")
    assert e.next_deadline() == 61  # t2's next tick; t3's timer is gone with it
