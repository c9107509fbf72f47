"""Statistics from the event stream, with hand-computed values."""

from __future__ import annotations

import pytest

from acd import AgentState, AgentStateChanged, Engine, LogEvent, Queue, Stats
from tests.support.acd import agent, only_offer, voice

Q = Queue("q", service_level_seconds=20, short_abandon_seconds=5)


def scenario() -> list[LogEvent]:
    """Five calls (times in seconds):

    t1 enters 0, answered 10 (wait 10, in SL), ends 70 (talk 60), wrap-up 15
    t2 enters 5, answered 35 (wait 30, late), caller ends 95 (talk 60), no wrap-up
    t3 enters 10, abandons 13 (wait 3: short, in SL)
    t4 enters 20, abandons 50 (wait 30: not short, not in SL)
    t5 enters 30, abandons 45 (wait 15: not short, in SL)
    """
    return [
        LogEvent(0, "ENTERQUEUE", "t1", "q"),
        LogEvent(5, "ENTERQUEUE", "t2", "q"),
        LogEvent(10, "CONNECT", "t1", "q", "a", {"wait": 10}),
        LogEvent(10, "ENTERQUEUE", "t3", "q"),
        LogEvent(13, "ABANDON", "t3", "q", None, {"wait": 3}),
        LogEvent(20, "ENTERQUEUE", "t4", "q"),
        LogEvent(30, "ENTERQUEUE", "t5", "q"),
        LogEvent(35, "CONNECT", "t2", "q", "b", {"wait": 30}),
        LogEvent(45, "ABANDON", "t5", "q", None, {"wait": 15}),
        LogEvent(50, "ABANDON", "t4", "q", None, {"wait": 30}),
        LogEvent(70, "COMPLETEAGENT", "t1", "q", "a", {"wait": 10, "talk": 60}),
        LogEvent(85, "WRAPUP", "t1", "q", "a", {"seconds": 15, "talk": 60}),
        LogEvent(95, "COMPLETECALLER", "t2", "q", "b", {"wait": 30, "talk": 60}),
        LogEvent(95, "WRAPUP", "t2", "q", "b", {"seconds": 0, "talk": 60}),
    ]


def test_counts_service_levels_asa_aht() -> None:
    st = Stats([Q])
    st.feed(scenario())
    c = st.totals("q")
    assert (c.entered, c.answered, c.answered_in_sl) == (5, 2, 1)
    assert (c.abandoned, c.abandoned_short, c.abandoned_in_sl) == (3, 1, 2)
    assert c.abandoned_excluding_short == 2
    assert c.service_level == pytest.approx(1 / 2)  # app_queue SL: 1 in SL / 2 answered
    assert c.service_level_2 == pytest.approx(3 / 5)  # SL2: (1 + 2) / (2 + 3)
    assert c.service_level_offered == pytest.approx(1 / 4)  # 1 / (2 + 3 - 1)
    assert c.asa == pytest.approx(20)  # (10 + 30) / 2
    assert c.aht == pytest.approx(67.5)  # ((60 + 15) + (60 + 0)) / 2
    assert c.handled == 2


def test_empty_denominators_are_none() -> None:
    c = Stats([Q]).totals("q")
    assert (c.service_level, c.service_level_2, c.asa, c.aht) == (None, None, None, None)


def test_realtime_waiting_and_longest_wait() -> None:
    st = Stats([Q])
    st.feed(e for e in scenario() if e.time <= 40)
    rt = st.realtime("q", 40)
    # waiting at 40: t4 (since 20) and t5 (since 30)
    assert (rt.waiting, rt.longest_wait) == (2, 20)
    st.feed(e for e in scenario() if e.time > 40)
    assert st.realtime("q", 100).waiting == 0


def test_intervals_split_counts_by_event_time() -> None:
    st = Stats([Q], interval_seconds=30)
    st.feed(scenario())
    by = {b: c for _, b, c in st.intervals("q")}
    assert sorted(by) == [0, 30, 60, 90]
    assert (by[0].entered, by[0].answered, by[0].abandoned) == (4, 1, 1)  # t1..t4, t1, t3
    assert (by[30].entered, by[30].answered, by[30].abandoned) == (1, 1, 2)
    assert by[60].handled == 1 and by[60].aht == pytest.approx(75)
    assert by[90].handled == 1 and by[90].aht == pytest.approx(60)
    assert st.interval("q", 45).answered == 1


def test_occupancy_and_agents_by_state() -> None:
    st = Stats([Q], interval_seconds=60)
    st.feed(
        [
            AgentStateChanged(0, "a", AgentState.READY),
            AgentStateChanged(0, "b", AgentState.NOT_READY, "lunch"),
            AgentStateChanged(10, "a", AgentState.RESERVED),
            AgentStateChanged(12, "a", AgentState.BUSY),
            AgentStateChanged(70, "a", AgentState.WRAP_UP),
            AgentStateChanged(85, "a", AgentState.READY),
            AgentStateChanged(100, "a", AgentState.LOGGED_OUT),
        ]
    )
    # [0, 60): ready 10, reserved 2, busy 48 -> 48 / 60
    assert st.occupancy(0) == pytest.approx(0.8)
    # [60, 120): busy 10, wrap-up 15, ready 15 -> 25 / 40
    assert st.occupancy(60) == pytest.approx(0.625)
    t = st.agent_time(0, now=130)
    assert t[AgentState.NOT_READY] == 60
    assert st.agent_time(60, now=130)[AgentState.NOT_READY] == 60  # b still not ready
    assert dict(st.agents_by_state()) == {AgentState.LOGGED_OUT: 1, AgentState.NOT_READY: 1}


def test_stats_from_a_real_engine_run() -> None:
    e = Engine([Q])
    st = Stats([Q])
    st.feed(e.agent_login(agent("a"), 0))
    st.feed(e.task_arrived(voice("t1"), 0))
    st.feed(e.task_arrived(voice("t2"), 1))
    st.feed(e.task_arrived(voice("t3"), 2))
    st.feed(e.offer_accepted("o1", 4))  # t1 waited 4
    st.feed(e.task_cancelled("t3", 4.5))  # short abandon
    out = e.task_ended("t1", 30)
    st.feed(out)
    o2 = only_offer(out)
    assert o2.task_id == "t2"
    st.feed(e.offer_accepted(o2.offer_id, 31))  # t2 waited 30
    c = st.totals("q")
    assert (c.entered, c.answered, c.answered_in_sl, c.abandoned, c.abandoned_short) == (
        3,
        2,
        1,
        1,
        1,
    )
    assert c.asa == pytest.approx(17)
    assert c.aht == pytest.approx(26)  # t1: talk 26, no wrap-up
    assert st.realtime("q", 40).waiting == 0
