"""The load bench's yardstick: SIPp message traces -> dispatch latency, answers, CPU."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from callcenter.simulate.measure import (
    PhoneEvent,
    caller_key,
    caller_waits,
    cpu_seconds,
    dispatch,
    parse_trace,
    percentile,
)


def block(at: str, sent: bool, message: str) -> str:
    direction = "UDP message sent (100 bytes):" if sent else "UDP message received [100] bytes :"
    return f"----------------------------------------------- 2026-11-30 {at}\n{direction}\n\n" \
        + message.strip().replace("\n", "\r\n") + "\r\n\r\n"


INVITE = """INVITE sip:3001@127.0.0.3:5090 SIP/2.0
From: <sip:q1@127.0.0.1>;tag=as1
To: <sip:3001@127.0.0.3:5090>
Call-ID: {cid}
CSeq: 102 INVITE
"""
REINVITE = INVITE.replace("To: <sip:3001@127.0.0.3:5090>", "To: <sip:3001@127.0.0.3:5090>;tag=x")
OK = """SIP/2.0 200 OK
From: <sip:q1@127.0.0.1>;tag=as1
To: <sip:3001@127.0.0.3:5090>;tag=agent
Call-ID: {cid}
CSeq: 102 INVITE
"""
BYE = """BYE sip:q1@127.0.0.1:5060 SIP/2.0
From:<sip:3001@127.0.0.3:5090>;tag=agent
To:<sip:q1@127.0.0.1>;tag=as1
Call-ID: {cid}
CSeq: 101 BYE
"""


def stamp(at: str) -> float:
    return datetime.strptime(f"2026-11-30 {at}", "%Y-%m-%d %H:%M:%S.%f").timestamp()


def test_a_trace_gives_each_call_invite_answer_and_bye_once():
    trace = "".join([
        block("10:00:00.000000", False, INVITE.format(cid="a")),
        block("10:00:00.500000", False, INVITE.format(cid="a")),  # retransmission
        block("10:00:00.200000", True, OK.format(cid="a")),
        block("10:00:01.000000", False, REINVITE.format(cid="a")),  # in-dialog: not an offer
        block("10:00:05.000000", True, BYE.format(cid="a")),
    ])
    events = parse_trace(trace)
    assert [(e.kind, e.extension, e.call_id) for e in events] == [
        ("invite", "3001", "a"), ("answer", "3001", "a"), ("bye", "3001", "a")]
    assert events[-1].at == pytest.approx(stamp("10:00:05.000000"))


def test_each_invite_serves_the_oldest_unpaired_bye_of_its_queue():
    queue = {"1": "q1", "2": "q1", "9": "q2"}.get
    events = [PhoneEvent(0.0, "invite", "1", "first-fill"),  # no freed agent: not a dispatch
              PhoneEvent(10.0, "bye", "1", "a"), PhoneEvent(10.5, "bye", "2", "b"),
              PhoneEvent(10.6, "invite", "9", "other-queue"),
              PhoneEvent(11.0, "invite", "1", "c"),
              PhoneEvent(11.2, "answer", "1", "c"), PhoneEvent(12.0, "invite", "2", "d"),
              PhoneEvent(30.0, "bye", "2", "late")]
    figures = dispatch(sorted(events, key=lambda e: e.at), queue, (5.0, 20.0))
    assert figures.latencies_ms == pytest.approx([1000.0, 1500.0])
    assert figures.answered == 1 and figures.answered_per_s == pytest.approx(1 / 15)


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (
        50.0, 99.0, 100.0)
    assert percentile([], 50) != percentile([], 50)  # NaN


def test_cpu_of_this_process_grows_and_of_no_process_is_zero():
    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))
    assert cpu_seconds(os.getpid()) > before
    assert cpu_seconds(2**22 + 12345) == 0.0


CALLER_OK = """SIP/2.0 200 OK
From: "14071050724" <sip:14071050724@127.0.0.2:5070>;tag=c1
To: <sip:4008000002@127.0.0.1:5060>;tag=as9
Call-ID: {cid}
CSeq: 1 INVITE
"""


def test_a_callers_answer_is_its_entry_and_agents_see_it_masked_or_whole():
    (entry,) = parse_trace(block("10:00:00.000000", False, CALLER_OK.format(cid="c")))
    assert (entry.kind, entry.extension, entry.peer) == ("in", "14071050724", "4008000002")
    assert caller_key("q6 140****0724") == caller_key("14071050724") == "140-0724"
    assert caller_key("Agent 3001") is None


def test_dispatch_with_a_caller_waiting_leaves_out_a_queue_that_ran_empty():
    queue = {"1": "q1", "2": "q1"}.get
    callers = [PhoneEvent(1.0, "in", "14071050724", "x", "400"),  # rung at 12.0
               PhoneEvent(15.0, "in", "15550001234", "y", "400")]  # rung at 16.0
    agents = [PhoneEvent(10.0, "bye", "1", "a"),
              PhoneEvent(12.0, "invite", "1", "b", "q1 140****0724"),
              PhoneEvent(14.0, "bye", "2", "c"),  # nobody waiting: the queue is empty
              PhoneEvent(16.0, "invite", "2", "d", "q1 155****1234")]
    waits = caller_waits(callers, agents, {"400": "q1"}.get)
    assert [(w.joined, w.reached) for w in waits] == [(1.0, 12.0), (15.0, 16.0)]
    figures = dispatch(agents, queue, (5.0, 20.0), waits)
    assert figures.latencies_ms == pytest.approx([2000.0, 2000.0])
    assert figures.waiting_latencies_ms == pytest.approx([2000.0])
    assert figures.waits_s == [1.0]  # the caller who joined inside the window


def test_a_caller_answered_just_before_the_bye_is_not_yet_waiting():
    """Answer() still waits for the caller's media: not in a queue yet, on either side."""
    queue = {"1": "q1"}.get
    callers = [PhoneEvent(9.7, "in", "14071050724", "x", "400")]
    agents = [PhoneEvent(10.0, "bye", "1", "a"),
              PhoneEvent(10.5, "invite", "1", "b", "q1 140****0724")]
    waits = caller_waits(callers, agents, {"400": "q1"}.get)
    assert dispatch(agents, queue, (5.0, 20.0), waits).waiting_latencies_ms == []
    assert dispatch(agents, queue, (5.0, 20.0), waits, settle_s=0.2).waiting_latencies_ms \
        == pytest.approx([500.0])
