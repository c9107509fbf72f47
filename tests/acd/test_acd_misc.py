"""Heap compaction under lazy deletion, and smaller behaviours."""

from __future__ import annotations

import pytest

from acd import BlendRule, Engine, Ignored, LeaveQueue, Queue, RejectArrival, Stats
from acd.events import LEAVE_TIMEOUT, REFUSE_CHANNEL
from tests.support.acd import agent, chat, logs, of, offers, only_offer, voice


def _class_heaps(e: Engine, queue: str) -> list[tuple[int, int, int]]:
    """(tasks, agents, oldest) heap sizes of each class of a queue (internals)."""
    classes = e._core.queues[queue].classes.values()  # white-box: private on purpose
    return [(len(c.tasks), len(c.agents), len(c.oldest)) for c in classes]


def test_task_heaps_are_compacted_and_keep_their_order() -> None:
    e = Engine([Queue("q", blend=BlendRule(1000))])
    for i in range(100):
        e.task_arrived(voice(f"t{i}"), float(i))
    for i in range(100):
        if i % 10:
            e.task_cancelled(f"t{i}", 100)  # 90 stale heap entries
    e.task_arrived(voice("late"), 101)  # the push that triggers compaction
    ((tasks, _, oldest),) = _class_heaps(e, "q")
    assert tasks <= 2 * 11 + 64 and oldest <= 2 * 11 + 64
    out = e.agent_login(agent("a"), 102)
    served = []
    for n in range(11):
        o = only_offer(out)
        served.append(o.task_id)
        e.offer_accepted(o.offer_id, 103 + n)
        out = e.task_ended(o.task_id, 103 + n)  # a takes the next one
    assert served == [*[f"t{i}" for i in range(0, 100, 10)], "late"]


def test_agent_pools_are_compacted() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    e.task_arrived(voice("t0", "q", skills={}), 0)  # creates the class, a takes it
    e.offer_accepted("o1", 0)
    e.task_ended("t0", 1)  # a idle, pooled
    for i in range(200):  # every "ready" re-pools the agent with a new stamp
        e.agent_set_state("a", "not_ready", 2 + i)
        e.agent_set_state("a", "ready", 2 + i)
    ((_, agents, _),) = _class_heaps(e, "q")
    assert agents <= 2 * 1 + 64
    assert only_offer(e.task_arrived(voice("t1"), 300)).agent_id == "a"


def test_attributes_are_kept_in_the_entry_record() -> None:
    e = Engine([Queue("q")])
    out = e.task_arrived(voice("t1", attributes={"vip": True, "lang": "fr"}), 0)
    assert logs(out, "ENTERQUEUE")[0].data["attributes"] == {"vip": True, "lang": "fr"}


def test_wrapup_done_for_one_task_keeps_the_others() -> None:
    e = Engine([Queue("q", channels={"chat"}, wrapup_seconds=60)])
    e.agent_login(agent("a", capacity={"chat": 2}), 0)
    for tid in ("c1", "c2"):
        e.offer_accepted(only_offer(e.task_arrived(chat(tid), 0)).offer_id, 0)
        e.task_ended(tid, 1)
    out = e.wrapup_done("a", 2, task_id="c1")
    assert [w.task_id for w in logs(out, "WRAPUP")] == ["c1"]
    assert e.agent("a").wrapping == ("c2",)  # type: ignore[union-attr]


def test_second_login_is_ignored() -> None:
    e = Engine([Queue("q")])
    e.agent_login(agent("a"), 0)
    assert of(e.agent_login(agent("a"), 1), Ignored)


def test_preferred_agent_leaving_before_the_delay_ends_lists_at_the_delay() -> None:
    e = Engine([Queue("q", delay_seconds=10), Queue("fast")])
    e.agent_login(agent("pref", queues=("q", "fast")), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("x", "fast"), 0)).offer_id, 0)  # pref busy
    e.agent_login(agent("other"), 0)
    e.task_arrived(voice("t1", preferred_agent="pref", preferred_wait_seconds=30), 1)
    assert offers(e.agent_logout("pref", 5)) == []  # the queue's delay still runs to t=11
    assert offers(e.advance(10.9)) == []
    assert only_offer(e.advance(11)).agent_id == "other"


def test_stats_count_exits_refusals_and_offer_outcomes() -> None:
    q = Queue("q", max_wait_seconds=50, max_length=2, offer_timeout_seconds=5)
    e = Engine([q])
    st = Stats([q])
    st.feed(e.agent_login(agent("a"), 0))
    st.feed(e.task_arrived(voice("t1"), 0))  # offered to a
    st.feed(e.task_arrived(voice("t2"), 0))
    st.feed(e.task_arrived(voice("t3"), 0))  # full: t1 and t2 are in the queue
    st.feed(e.offer_rejected("o1", 1))  # a rejects t1, gets t2
    st.feed(e.advance(6))  # a misses t2 -> RINGNOANSWER
    st.feed(e.advance(50))  # t1, t2 time out
    c = st.totals("q")
    assert (c.entered, c.refused, c.offers, c.rejected, c.ring_no_answer, c.timed_out) == (
        2,
        1,
        2,
        1,
        1,
        2,
    )
    assert st.realtime("q", 50).waiting == 0


def test_channel_not_accepted_is_refused() -> None:
    e = Engine([Queue("q", channels={"voice"})])
    out = e.task_arrived(chat("c1"), 0)
    assert of(out, RejectArrival) == [RejectArrival("c1", "q", REFUSE_CHANNEL, "chat")]
    assert logs(out, "REFUSED")


def test_reload_with_a_shorter_max_wait_fires_at_once() -> None:
    e = Engine([Queue("q", max_wait_seconds=600)])
    e.task_arrived(voice("t1"), 0)
    out = e.update_queues([Queue("q", max_wait_seconds=60)], 100)
    assert of(out, LeaveQueue) == [LeaveQueue("t1", "q", LEAVE_TIMEOUT, "voice")]


def test_duplicate_queue_names_and_empty_queries() -> None:
    with pytest.raises(ValueError):
        Engine([Queue("q"), Queue("q")])
    e = Engine([Queue("q")])
    with pytest.raises(ValueError):
        e.update_queues([Queue("q"), Queue("q")], 0)
    assert e.next_deadline() is None
    assert (e.task("nope"), e.agent("nope"), e.queue("nope"), e.task_state("nope")) == (
        None,
        None,
        None,
        None,
    )
    assert e.queue("q") == Queue("q")
