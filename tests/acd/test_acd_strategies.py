"""One test per strategy, with the expected agent order worked out by hand."""

from __future__ import annotations

import random
from collections import Counter

from acd import Engine, Ignored, Membership, Queue, Strategy
from acd.events import WITHDRAW_ANSWERED_ELSEWHERE
from tests.support.acd import agent, logs, of, offers, only_offer, voice, withdrawals


def serve(e: Engine, tid: str, now: float) -> str:
    """A task arrives, is accepted and ends at once (no wrap-up); returns the agent."""
    o = only_offer(e.task_arrived(voice(tid), now))
    e.offer_accepted(o.offer_id, now)
    e.task_ended(tid, now)
    return o.agent_id


def test_longest_idle_prefers_the_agent_free_the_longest() -> None:
    e = Engine([Queue("q", strategy=Strategy.LONGEST_IDLE)])
    for i, aid in enumerate("abc"):
        e.agent_login(agent(aid), float(i))  # idle since 0, 1, 2
    assert only_offer(e.task_arrived(voice("t1"), 10)).agent_id == "a"
    e.offer_accepted("o1", 10)
    e.task_ended("t1", 20)  # a idle since 20
    assert only_offer(e.task_arrived(voice("t2"), 30)).agent_id == "b"  # idle since 1
    assert only_offer(e.task_arrived(voice("t3"), 31)).agent_id == "c"
    e.offer_accepted("o2", 32)
    e.offer_accepted("o3", 32)
    e.task_ended("t2", 50)
    e.task_ended("t3", 51)
    # idle since: a=20, b=50, c=51
    assert only_offer(e.task_arrived(voice("t4"), 60)).agent_id == "a"


def test_round_robin_remembers_the_last_agent_offered() -> None:
    e = Engine([Queue("q", strategy=Strategy.ROUND_ROBIN)])
    for aid in "abc":
        e.agent_login(agent(aid), 0)
    got = [serve(e, f"t{i}", float(i)) for i in range(5)]
    # everybody is idle each time: longest-idle would always pick the one served
    # first; round robin goes on after the last one offered.
    assert got == ["a", "b", "c", "a", "b"]
    e.agent_set_state("b", "not_ready", 10)
    got = [serve(e, f"u{i}", 11.0 + i) for i in range(4)]
    assert got == ["c", "a", "c", "a"]  # b skipped while not ready
    e.agent_set_state("b", "ready", 20)
    got = [serve(e, f"v{i}", 21.0 + i) for i in range(3)]
    assert got == ["b", "c", "a"]  # last was a -> b -> c -> a


def test_fewest_tasks_prefers_fewest_answered_today() -> None:
    e = Engine([Queue("q", strategy=Strategy.FEWEST_TASKS)])
    e.agent_login(agent("a"), 0)
    e.agent_login(agent("b"), 0)
    e.agent_login(agent("c"), 1)
    e.agent_set_state("b", "not_ready", 0)
    e.agent_set_state("c", "not_ready", 1)
    assert serve(e, "t1", 2) == "a"
    assert serve(e, "t2", 4) == "a"
    e.agent_set_state("b", "ready", 5)
    e.agent_set_state("c", "ready", 6)
    # answered a=2, b=0, c=0; b and c tie on count, b has been idle longer (login 0 < 1)
    o3 = only_offer(e.task_arrived(voice("t3"), 7))
    assert o3.agent_id == "b"
    e.offer_accepted(o3.offer_id, 7)
    o4 = only_offer(e.task_arrived(voice("t4"), 8))
    assert o4.agent_id == "c"
    e.offer_accepted(o4.offer_id, 8)
    e.task_ended("t3", 9)
    # a (2 answered, idle since 4) vs b (1 answered, idle since 9): longest idle
    # would pick a; fewest tasks picks b.
    assert only_offer(e.task_arrived(voice("t5"), 10)).agent_id == "b"
    e.reset_daily_counters(11)
    assert e.agent("a").answered == 0  # type: ignore[union-attr]


def test_best_skill_prefers_the_highest_level() -> None:
    e = Engine([Queue("q", strategy=Strategy.BEST_SKILL, skills={"x": 1})])
    e.agent_login(agent("a", skills={"x": 3}), 0)
    e.agent_login(agent("b", skills={"x": 5}), 1)
    e.agent_login(agent("c", skills={"x": 4}), 2)
    assert only_offer(e.task_arrived(voice("t1"), 3)).agent_id == "b"
    assert only_offer(e.task_arrived(voice("t2"), 4)).agent_id == "c"
    assert only_offer(e.task_arrived(voice("t3"), 5)).agent_id == "a"


def test_linear_always_takes_the_first_free_in_configured_order() -> None:
    e = Engine([Queue("q", strategy=Strategy.LINEAR)])
    e.agent_login(agent("a", queues={"q": Membership(position=3)}), 0)
    e.agent_login(agent("b", queues={"q": Membership(position=1)}), 1)
    e.agent_login(agent("c", queues={"q": Membership(position=2)}), 2)
    assert [serve(e, f"t{i}", 10.0 + i) for i in range(3)] == ["b", "b", "b"]
    o = only_offer(e.task_arrived(voice("u1"), 20))
    assert o.agent_id == "b"
    assert only_offer(e.task_arrived(voice("u2"), 21)).agent_id == "c"
    assert only_offer(e.task_arrived(voice("u3"), 22)).agent_id == "a"


def test_random_is_uniform_and_replays_with_the_same_seed() -> None:
    def run(seed: int) -> list[str]:
        e = Engine([Queue("q", strategy=Strategy.RANDOM)], rng=random.Random(seed))
        for aid in "abc":
            e.agent_login(agent(aid), 0)
        return [serve(e, f"t{i}", float(i)) for i in range(3000)]

    seq = run(7)
    assert seq == run(7)
    assert seq != run(8)
    counts = Counter(seq)
    assert set(counts) == {"a", "b", "c"}
    for n in counts.values():  # 1000 expected each; sd ~26
        assert 900 <= n <= 1100, counts


def test_weighted_random_follows_the_weights() -> None:
    e = Engine([Queue("q", strategy=Strategy.WEIGHTED_RANDOM)], rng=random.Random(3))
    e.agent_login(agent("a", queues={"q": Membership(weight=1.0)}), 0)
    e.agent_login(agent("b", queues={"q": Membership(weight=3.0)}), 0)
    counts = Counter(serve(e, f"t{i}", float(i)) for i in range(4000))
    # P(b) = 3 / (1 + 3) = 0.75; sd of the count ~27
    assert 2900 <= counts["b"] <= 3100, counts


def test_weighted_random_still_honours_penalty_tiers() -> None:
    e = Engine([Queue("q", strategy=Strategy.WEIGHTED_RANDOM)], rng=random.Random(1))
    e.agent_login(agent("a", queues={"q": Membership(weight=100.0, penalty=1)}), 0)
    e.agent_login(agent("b", queues={"q": Membership(weight=1.0)}), 0)
    assert {serve(e, f"t{i}", float(i)) for i in range(50)} == {"b"}


def test_penalty_tier_beats_strategy_order() -> None:
    e = Engine([Queue("q", strategy=Strategy.LONGEST_IDLE)])
    e.agent_login(agent("a", queues={"q": Membership(penalty=1)}), 0)  # idle longest
    e.agent_login(agent("b", queues={"q": Membership(penalty=0)}), 5)
    assert only_offer(e.task_arrived(voice("t1"), 10)).agent_id == "b"
    assert only_offer(e.task_arrived(voice("t2"), 11)).agent_id == "a"  # b busy


def test_ring_all_offers_everyone_first_accept_wins_others_withdrawn() -> None:
    e = Engine([Queue("q", strategy=Strategy.RING_ALL)])
    e.agent_login(agent("a"), 0)
    e.agent_login(agent("b"), 0)
    e.agent_login(agent("c"), 0)
    e.agent_login(agent("d", queues={"q": Membership(penalty=1)}), 0)
    out = e.task_arrived(voice("t1"), 1)
    rung = offers(out)
    assert sorted(o.agent_id for o in rung) == ["a", "b", "c"]  # best penalty tier only
    assert len({o.task_id for o in rung}) == 1
    winner = next(o for o in rung if o.agent_id == "b")
    out = e.offer_accepted(winner.offer_id, 2)
    w = withdrawals(out)
    assert sorted(x.agent_id for x in w) == ["a", "c"]
    assert {x.reason for x in w} == {WITHDRAW_ANSWERED_ELSEWHERE}
    assert len(logs(out, "RINGCANCELED")) == 2
    assert [x.agent_id for x in logs(out, "CONNECT")] == ["b"]
    # a and c are free again; the late accept from a is ignored
    late = next(o for o in rung if o.agent_id == "a")
    assert of(e.offer_accepted(late.offer_id, 3), Ignored)
    assert e.agent("a").state == "ready"  # type: ignore[union-attr]


def test_ring_all_requeues_when_every_offer_fails() -> None:
    e = Engine([Queue("q", strategy=Strategy.RING_ALL, offer_timeout_seconds=10)])
    e.agent_login(agent("a"), 0)
    e.agent_login(agent("b"), 0)
    rung = offers(e.task_arrived(voice("t1"), 0))
    assert len(rung) == 2
    e.offer_rejected(rung[0].offer_id, 1)
    assert e.task("t1").state == "offered"  # type: ignore[union-attr]
    out = e.advance(10)
    assert [x.kind for x in logs(out, "RINGNOANSWER")] == ["RINGNOANSWER"]
    t = e.task("t1")
    assert t is not None and t.state == "waiting" and t.declined == {"a", "b"}
    # a third agent logs in and is rung alone
    assert [o.agent_id for o in offers(e.agent_login(agent("c"), 11))] == ["c"]


def _rr_team() -> Engine:
    """Round robin over positions b=1, d=2, a=3, c=4, e=5; c and e lack skill x."""
    e = Engine([Queue("q", strategy=Strategy.ROUND_ROBIN)])
    for aid, pos, skills in (
        ("a", 3, {"x": 2}),
        ("b", 1, {"x": 1}),
        ("c", 4, {}),
        ("d", 2, {"x": 3}),
        ("e", 5, {}),
    ):
        e.agent_login(agent(aid, queues={"q": Membership(position=pos)}, skills=skills), 0)
    got = []
    for i in range(1, 5):  # four tasks needing x: b, d, a take three, the fourth waits
        got += [
            (o.agent_id, o.task_id)
            for o in offers(e.task_arrived(voice(f"x{i}", skills={"x": 1}), i))
        ]
    assert got == [("b", "x1"), ("d", "x2"), ("a", "x3")]
    for o in list(e.agents()):
        for oid in o.offers:
            e.offer_accepted(oid, 5)
    return e


def test_round_robin_memory_includes_a_freed_agent_taking_the_next_task() -> None:
    e = _rr_team()  # last offered: a (position 3)
    # b finishes and takes the waiting x4 itself: "last offered" is now b (1)
    assert only_offer(e.task_ended("x1", 6)).task_id == "x4"
    e.offer_accepted("o4", 6)
    e.task_ended("x3", 7)  # a is idle again
    # idle: a (3), c (4), e (5); the next after b (1) is a
    assert only_offer(e.task_arrived(voice("y1"), 8)).agent_id == "a"


def test_round_robin_rekeys_agents_pooled_under_an_older_round() -> None:
    e = _rr_team()
    assert only_offer(e.task_arrived(voice("y1"), 6)).agent_id == "c"  # after a (3): c (4)
    e.offer_accepted("o4", 6)
    assert only_offer(e.task_ended("x3", 7)).task_id == "x4"  # a takes x4: last = a (3)
    e.offer_accepted("o5", 7)
    e.task_ended("x4", 8)  # a idle again
    # idle: a (3) and e (5, pooled since login against an older round); after a: e
    assert only_offer(e.task_arrived(voice("y2"), 9)).agent_id == "e"
