"""Stateful property tests: random arrivals, state changes, accepts, rejects,
timeouts, hangups, transfers and reloads; invariants checked after every step.

The test keeps a *shadow* of who holds what, built only from the engine's
outputs (offers, withdrawals, CONNECT/COMPLETE/WRAPUP/PAUSE... events), and
checks after every step:

1. exclusivity: a task has at most one live offer, except in the ring_all
   queue; a connected task has none (ring_all siblings withdrawn at once);
2. capacity: an offer goes to a ready agent with a free slot on the channel
   and respecting chat_while_voice / voice_while_chat;
3. order: an offer of task T to agent A is never made while a task U that A
   qualifies for (and has not declined), on the same channel, listed before
   and after the step with unchanged priority/requirement, is better placed
   (higher priority, or same priority and earlier arrival);
4. work conservation: after the step, no agent that is ready, has a free
   slot on channel c (cross-channel rule included) and is not held back by
   the blend guard, qualifies for a listed waiting task of channel c it has
   not declined (or for a task reserved for it as preferred agent);
5. every task ends exactly once (one terminal log event, and only once it is
   gone from the engine);
6. the shadow matches the engine's own agent views (offers and holdings);
7. positions (rules P1, P2): the engine's line index (``task()``) agrees with
   a sort of each queue (``waiting()``), and a caller is never told the
   position it last heard in the same visit.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from acd import (
    TERMINAL_KINDS,
    Agent,
    AnnouncePosition,
    BlendRule,
    EmptyPolicy,
    Engine,
    EscalationStep,
    LogEvent,
    Membership,
    Offer,
    Queue,
    Strategy,
    Task,
    TaskState,
    WaitingTask,
    WithdrawOffer,
)
from acd.events import Output

NON_RING = [s for s in Strategy if s is not Strategy.RING_ALL]

AGENTS: dict[str, Agent] = {
    "a0": Agent(
        "a0",
        {"en": 3},
        {"voice": 1},
        {"vq": Membership(), "rq": Membership(), "gq": Membership(penalty=1)},
    ),
    "a1": Agent(
        "a1",
        {"en": 2},
        {"voice": 1, "chat": 2},
        {"vq": Membership(weight=2), "cq": Membership(), "gq": Membership()},
        chat_while_voice=True,
    ),
    "a2": Agent("a2", {"en": 1, "fr": 2}, {"chat": 3}, {"cq": Membership(), "gq": Membership()}),
    "a3": Agent(
        "a3",
        {"en": 2, "fr": 1},
        {"voice": 1, "chat": 3},
        {"vq": Membership(), "cq": Membership(), "rq": Membership()},
    ),
    "a4": Agent(
        "a4",
        {"fr": 2},
        {"voice": 1, "chat": 1},
        {"gq": Membership(), "rq": Membership(), "vq": Membership(penalty=2)},
        voice_while_chat=True,
        after_wrapup="not_ready",
    ),
}
TEXT_CHANNELS = ("chat",)


def qualifies(skills: dict[str, int], req: Any) -> bool:
    return any(all(skills.get(s, 0) >= lvl for s, lvl in alt) for alt in req)


def better(u: WaitingTask, t: WaitingTask) -> bool:
    """Is U strictly ahead of T by rule O1 (priority, then arrival)?"""
    return (u.priority, -u.order) > (t.priority, -t.order)


class AcdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.e: Engine
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.presence: dict[str, str] = {}
        self.live: dict[str, Offer] = {}
        self.connected: dict[str, str] = {}
        self.wrapping: dict[tuple[str, str], str] = {}
        self.channel: dict[str, str] = {}
        self.home: dict[str, str] = {}
        self.arrived: list[str] = []
        self.ends: Counter[str] = Counter()
        self.heard: dict[str, int] = {}  # the last position each caller was told
        self.n = 0

    # ------------------------------------------------------------ setup

    @initialize(
        sv=st.sampled_from(NON_RING),
        sc=st.sampled_from(NON_RING),
        sg=st.sampled_from(NON_RING),
        protect=st.sampled_from([None, 12.0]),
        delay=st.sampled_from([0.0, 4.0]),
        reoffer=st.sampled_from([None, 3.0]),
        leave=st.sampled_from([EmptyPolicy.ALWAYS] * 4 + list(EmptyPolicy)),
        join=st.sampled_from([EmptyPolicy.ALWAYS] * 4 + list(EmptyPolicy)),
        seed=st.integers(0, 1000),
        start=st.lists(st.sampled_from(sorted(AGENTS)), min_size=2, max_size=5, unique=True),
    )
    def setup(self, sv, sc, sg, protect, delay, reoffer, leave, join, seed, start=()) -> None:  # type: ignore[no-untyped-def]
        import random

        qs = [
            Queue(
                "vq",
                strategy=sv,
                skills={"en": 1},
                offer_timeout_seconds=10,
                missed_offers_before_not_ready=2,
                reoffer_after_seconds=reoffer,
                max_wait_seconds=90,
                wrapup_seconds=3,
                announce_interval_seconds=15,
                leave_when_empty=leave,
                escalation=(
                    EscalationStep(20, min_level=1, priority_boost=1, overflow_queue="gq"),
                ),
                blend=BlendRule(protect),
            ),
            Queue(
                "cq",
                channels={"chat"},
                strategy=sc,
                skills={"en": 2},
                delay_seconds=delay,
                wrapup_seconds=2,
                max_length=6,
                join_empty=join,
                escalation=(EscalationStep(15, min_level=1, add_skills={"fr": 2}),),
            ),
            Queue(
                "rq",
                strategy=Strategy.RING_ALL,
                offer_timeout_seconds=6,
                missed_offers_before_not_ready=0,
                reoffer_after_seconds=reoffer,
            ),
            Queue("gq", channels={"voice", "chat"}, strategy=sg, priority=1),
        ]
        self.queues = {q.name: q for q in qs}
        self.e = Engine(qs, rng=random.Random(seed))
        for aid in start:
            self.login(aid, True, 0.0)

    # ------------------------------------------------------------ helpers

    def tick(self, dt: float) -> float:
        self.now += dt
        return self.now

    def step(self, outs: list[Output], pre: dict[str, WaitingTask]) -> None:
        offered: list[Offer] = []
        for o in outs:
            if isinstance(o, Offer):
                self.check_offer(o)
                self.live[o.offer_id] = o
                offered.append(o)
            elif isinstance(o, WithdrawOffer):
                assert o.offer_id in self.live, o
                del self.live[o.offer_id]
            elif isinstance(o, LogEvent):
                self.log(o)
            elif isinstance(o, AnnouncePosition):
                assert self.channel[o.task_id] == "voice", o
                assert self.heard.get(o.task_id) != o.position, o  # 7. only on change
                self.heard[o.task_id] = o.position
        by_task = Counter(o.task_id for o in self.live.values())
        for tid, n in by_task.items():
            assert n == 1 or self.home[tid] == "rq", (tid, n)  # 1. exclusivity
            assert tid not in self.connected, tid
            assert self.e.task_state(tid) == TaskState.OFFERED, tid  # withdrawn when gone
        post = {w.task_id: w for w in self.e.waiting()}
        self.check_order(offered, pre, post)
        self.check_work_conserving(post)
        self.check_ends()
        self.check_shadow()
        self.check_positions(post)

    def log(self, ev: LogEvent) -> None:
        k, tid, aid = ev.kind, ev.task_id, ev.agent_id
        if k in TERMINAL_KINDS:
            assert tid is not None
            self.ends[tid] += 1
        if k == "ENTERQUEUE":
            assert tid is not None and ev.queue is not None
            self.home[tid] = ev.queue
            self.heard.pop(tid, None)  # a new visit: told its place afresh
        elif k == "CONNECT":
            assert tid is not None and aid is not None
            o = self.live.pop(ev.data["offer"])  # the accepted offer (may have timed out first)
            assert (o.task_id, o.agent_id) == (tid, aid)
            self.connected[tid] = aid
        elif k == "REJECT":
            o = self.live.pop(ev.data["offer"])
            assert (o.task_id, o.agent_id) == (tid, aid)
        elif k in ("COMPLETEAGENT", "COMPLETECALLER", "TRANSFER"):
            assert tid is not None and aid is not None
            assert self.connected.pop(tid) == aid
            self.wrapping[(tid, aid)] = self.channel[tid]
        elif k == "WRAPUP":
            assert tid is not None and aid is not None
            del self.wrapping[(tid, aid)]
        elif k == "AGENTLOGIN":
            assert aid is not None
            self.presence[aid] = "ready" if ev.data["ready"] else "not_ready"
        elif k == "AGENTLOGOFF":
            assert aid is not None
            self.presence[aid] = "logged_out"
        elif k == "PAUSE":
            assert aid is not None
            self.presence[aid] = "not_ready"
        elif k == "UNPAUSE":
            assert aid is not None
            self.presence[aid] = "ready"

    def holding(self, aid: str) -> Counter[str]:
        h: Counter[str] = Counter()
        for o in self.live.values():
            if o.agent_id == aid:
                h[o.channel] += 1
        for tid, a in self.connected.items():
            if a == aid:
                h[self.channel[tid]] += 1
        for (_, a), ch in self.wrapping.items():
            if a == aid:
                h[ch] += 1
        return h

    def able(self, aid: str, ch: str) -> bool:
        """Capacity and cross-channel rule (A3 without the guard)."""
        ag = self.agents[aid]
        h = self.holding(aid)
        if self.presence.get(aid) != "ready" or h[ch] >= ag.capacity.get(ch, 0):
            return False
        text = sum(h[c] for c in TEXT_CHANNELS)
        if ch == "voice":
            return text == 0 or ag.voice_while_chat
        return h["voice"] == 0 or ag.chat_while_voice

    def qualified_for(self, aid: str, w: WaitingTask) -> bool:
        ag = self.agents[aid]
        if ag.capacity.get(w.channel, 0) <= 0:
            return False
        return any(q in ag.queues and qualifies(dict(ag.skills), req) for q, req in w.listings)

    def guarded(self, aid: str, post: dict[str, WaitingTask]) -> bool:
        ag = self.agents[aid]
        for w in post.values():
            if w.state != TaskState.WAITING or not w.listed or w.channel != "voice":
                continue
            for q, req in w.listings:
                x = self.queues[q].blend.protect_voice_after_seconds
                if (
                    x is not None
                    and w.waited >= x
                    and q in ag.queues
                    and ag.capacity.get("voice", 0) > 0
                    and qualifies(dict(ag.skills), req)
                ):
                    return True
        return False

    # ------------------------------------------------------------ invariants

    def check_offer(self, o: Offer) -> None:
        """2. capacity and cross-channel rules at the moment of the offer."""
        assert o.task_id not in self.connected
        assert self.able(o.agent_id, o.channel), (o, self.holding(o.agent_id))

    def check_order(
        self, offered: list[Offer], pre: dict[str, WaitingTask], post: dict[str, WaitingTask]
    ) -> None:
        """3. no better task the agent could take was left waiting."""
        for o in offered:
            # its view after the step: an escalation boost may have fired in the step
            t = post.get(o.task_id) or pre.get(o.task_id)
            if t is None:
                continue
            for uid, u in post.items():
                b = pre.get(uid)
                if (
                    uid == o.task_id
                    or b is None
                    or u.state != TaskState.WAITING
                    or b.state != TaskState.WAITING
                    or not (u.listed and b.listed)
                    or u.listings != b.listings
                    or u.priority != b.priority
                    or u.channel != o.channel
                    or o.agent_id in u.declined
                    # declines forgotten at their own deadline in this step (rule Q3),
                    # after the offer was made (else the agent would have taken u)
                    or o.agent_id in b.declined
                    or not self.qualified_for(o.agent_id, u)
                ):
                    continue
                assert not better(u, t), (o, u, t)

    def check_work_conserving(self, post: dict[str, WaitingTask]) -> None:
        """4. after the step, nobody able sits next to a task it could take."""
        for aid in self.agents:
            if self.presence.get(aid) != "ready":
                continue
            for w in post.values():
                if w.state != TaskState.WAITING or aid in w.declined:
                    continue
                if not self.able(aid, w.channel):
                    continue
                if w.channel != "voice" and self.guarded(aid, post):
                    continue
                if w.reserved_for == aid:
                    raise AssertionError(("idle preferred agent", aid, w))
                if w.listed and self.qualified_for(aid, w):
                    raise AssertionError(("idle agent", aid, w))

    def check_ends(self) -> None:
        """5. one terminal event per task, and only for tasks gone from the engine."""
        for tid in self.arrived:
            n = self.ends[tid]
            assert n <= 1, tid
            assert (self.e.task_state(tid) is None) == (n == 1), (tid, n)

    def check_shadow(self) -> None:
        """6. the outputs tell the same story as the engine's views."""
        for aid in self.agents:
            v = self.e.agent(aid)
            assert v is not None
            mine = {oid for oid, o in self.live.items() if o.agent_id == aid}
            assert set(v.offers) == mine, (aid, v.offers, mine)
            assert v.holding == {k: n for k, n in self.holding(aid).items() if n}, aid

    def check_positions(self, post: dict[str, WaitingTask]) -> None:
        """7. the O(log n) position of each waiting task is its rank in a sort."""
        for w in post.values():
            v = self.e.task(w.task_id)
            assert v is not None and v.position == w.position, (w, v)

    def run(self, fn: Any, *args: Any, **kw: Any) -> None:
        pre = {w.task_id: w for w in self.e.waiting()}
        self.step(fn(*args, **kw), pre)

    # ------------------------------------------------------------ rules

    @rule(aid=st.sampled_from(sorted(AGENTS)), ready=st.booleans(), dt=st.floats(0, 3))
    def login(self, aid: str, ready: bool, dt: float) -> None:
        if self.presence.get(aid, "logged_out") != "logged_out":
            return
        self.agents[aid] = AGENTS[aid]
        self.run(self.e.agent_login, AGENTS[aid], self.tick(dt), ready)

    @rule(aid=st.sampled_from(sorted(AGENTS)), dt=st.floats(0, 3))
    def logout(self, aid: str, dt: float) -> None:
        if aid in self.agents:
            self.run(self.e.agent_logout, aid, self.tick(dt))

    @rule(aid=st.sampled_from(sorted(AGENTS)), ready=st.booleans(), dt=st.floats(0, 3))
    def set_state(self, aid: str, ready: bool, dt: float) -> None:
        if aid in self.agents:
            self.run(
                self.e.agent_set_state,
                aid,
                "ready" if ready else "not_ready",
                self.tick(dt),
                "break",
            )

    @rule(
        queue=st.sampled_from(["vq", "vq", "cq", "cq", "rq", "gq", "nope"]),
        chat=st.booleans(),
        prio=st.integers(0, 2),
        skills=st.sampled_from([{}, {"en": 3}, {"fr": 1}, {"en": 1}]),
        pref=st.sampled_from([None, "a0", "a1", "a3"]),
        dt=st.floats(0, 4),
    )
    def arrive(
        self, queue: str, chat: bool, prio: int, skills: dict[str, int], pref: str | None, dt: float
    ) -> None:
        self.n += 1
        tid = f"t{self.n}"
        q = self.queues.get(queue)
        ch = (
            ("chat" if chat else "voice")
            if q is None or len(q.channels) > 1
            else (next(iter(q.channels)))
        )
        self.channel[tid] = ch
        self.arrived.append(tid)
        task = Task(
            tid,
            ch,
            queue,
            skills=skills,
            priority=prio,
            preferred_agent=pref,
            preferred_wait_seconds=8 if pref else 0,
        )
        self.run(self.e.task_arrived, task, self.tick(dt))

    @rule(data=st.data(), dt=st.floats(0, 3))
    def accept(self, data: st.DataObject, dt: float) -> None:
        if self.live:
            oid = data.draw(st.sampled_from(sorted(self.live)))
            self.run(self.e.offer_accepted, oid, self.tick(dt))

    @rule(dt=st.floats(0, 2))
    def accept_oldest(self, dt: float) -> None:
        """The common case, drawn more often: the first live offer is answered."""
        if self.live:
            oid = next(iter(self.live))
            self.run(self.e.offer_accepted, oid, self.tick(dt))

    @rule(
        queue=st.sampled_from(["vq", "cq", "gq"]),
        chat=st.booleans(),
        prio=st.integers(0, 2),
        dt=st.floats(0, 2),
    )
    def arrive_plain(self, queue: str, chat: bool, prio: int, dt: float) -> None:
        self.arrive(queue, chat, prio, {}, None, dt)

    @rule(data=st.data(), dt=st.floats(0, 3))
    def reject(self, data: st.DataObject, dt: float) -> None:
        if self.live:
            oid = data.draw(st.sampled_from(sorted(self.live)))
            self.run(self.e.offer_rejected, oid, self.tick(dt))

    @rule(data=st.data(), dt=st.floats(0, 3))
    def hangup(self, data: st.DataObject, dt: float) -> None:
        active = [t for t in self.arrived if self.e.task_state(t) is not None]
        if active:
            tid = data.draw(st.sampled_from(active))
            self.run(self.e.task_cancelled, tid, self.tick(dt))

    @rule(data=st.data(), by=st.sampled_from(["agent", "caller"]), dt=st.floats(0, 10))
    def end(self, data: st.DataObject, by: str, dt: float) -> None:
        if self.connected:
            tid = data.draw(st.sampled_from(sorted(self.connected)))
            self.run(self.e.task_ended, tid, self.tick(dt), by)

    @rule(data=st.data(), keep=st.booleans(), dt=st.floats(0, 3))
    def transfer(self, data: st.DataObject, keep: bool, dt: float) -> None:
        if self.connected:
            tid = data.draw(st.sampled_from(sorted(self.connected)))
            queue = data.draw(st.sampled_from([None, "vq", "cq", "gq", "rq"]))
            to = data.draw(st.sampled_from([None, None, "a1", "a3"]))
            self.run(
                self.e.transfer, tid, self.tick(dt), queue=queue, agent_id=to, keep_position=keep
            )

    @rule(aid=st.sampled_from(sorted(AGENTS)), dt=st.floats(0, 3))
    def wrapup_done(self, aid: str, dt: float) -> None:
        self.run(self.e.wrapup_done, aid, self.tick(dt))

    @rule(dt=st.floats(0, 25))
    def advance(self, dt: float) -> None:
        self.run(self.e.advance, self.tick(dt))

    @rule(
        aid=st.sampled_from(sorted(AGENTS)),
        en=st.integers(0, 3),
        chat=st.integers(0, 3),
        dt=st.floats(0, 3),
    )
    def update_agent(self, aid: str, en: int, chat: int, dt: float) -> None:
        if self.presence.get(aid, "logged_out") == "logged_out":
            return
        old = self.agents[aid]
        cap = dict(old.capacity)
        if "chat" in cap:
            cap["chat"] = chat
        new = Agent(
            aid,
            {**old.skills, "en": en},
            cap,
            old.queues,
            old.chat_while_voice,
            old.voice_while_chat,
            old.after_wrapup,
        )
        now = self.tick(dt)
        self.run(self.e.advance, now)  # deadlines due now fire under the old config
        self.agents[aid] = new
        self.run(self.e.update_agent, new, now)

    @rule(en=st.integers(1, 3), drop_g=st.booleans(), dt=st.floats(0, 3))
    def reload(self, en: int, drop_g: bool, dt: float) -> None:
        vq = self.queues["vq"]
        new_vq = Queue(**{**{f: getattr(vq, f) for f in vq.__slots__}, "skills": {"en": en}})
        now = self.tick(dt)
        self.run(self.e.advance, now)  # deadlines due now fire under the old config
        self.queues["vq"] = new_vq
        qs = [q for q in self.queues.values() if not (drop_g and q.name == "gq")]
        self.run(self.e.update_queues, qs, now)

    def teardown(self) -> None:
        if hasattr(self, "e"):
            # drain: every task must still end exactly once
            for tid in [t for t in self.arrived if self.e.task_state(t) is not None]:
                if self.e.task_state(tid) == TaskState.CONNECTED:
                    self.run(self.e.task_ended, tid, self.tick(1))
                else:
                    self.run(self.e.task_cancelled, tid, self.tick(1))
            assert all(self.ends[t] == 1 for t in self.arrived)


AcdMachine.TestCase.settings = settings(
    # ACD_PROPERTY_EXAMPLES=5000 for a deep local run; the default keeps CI fast
    max_examples=int(os.environ.get("ACD_PROPERTY_EXAMPLES", "300")),
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAcdProperties = AcdMachine.TestCase


def test_shadow_checks_can_fail() -> None:
    """The checks above are not vacuous: a forged over-capacity offer is caught."""
    m = AcdMachine()
    m.setup(
        Strategy.LONGEST_IDLE,
        Strategy.LONGEST_IDLE,
        Strategy.LONGEST_IDLE,
        None,
        0.0,
        None,
        EmptyPolicy.ALWAYS,
        EmptyPolicy.ALWAYS,
        0,
        ["a0"],
    )
    m.arrive("vq", False, 0, {}, None, 0)
    forged = Offer("x", "t1", "a0", "voice", "vq", None)
    try:
        m.check_offer(forged)
    except AssertionError:
        pass
    else:
        raise AssertionError("an offer to a full agent was not caught")
    grouped: defaultdict[str, int] = defaultdict(int)
    for o in m.live.values():
        grouped[o.agent_id] += 1
    assert grouped == {"a0": 1}
