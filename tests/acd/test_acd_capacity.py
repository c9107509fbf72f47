"""Capacity per channel, cross-channel rules, wrap-up, and the blending guard."""

from __future__ import annotations

from acd import AgentState, BlendRule, Engine, OwedWrapup, Queue
from tests.support.acd import agent, chat, logs, offers, only_offer, states, voice


def blended(**kw: object) -> Engine:
    return Engine([Queue("q", channels={"voice", "chat"}, **kw)])  # type: ignore[arg-type]


def test_chat_capacity_three_then_the_fourth_waits() -> None:
    e = blended()
    e.agent_login(agent("a", capacity={"chat": 3}), 0)
    got = [offers(e.task_arrived(chat(f"c{i}"), float(i))) for i in range(4)]
    assert [len(x) for x in got] == [1, 1, 1, 0]
    for i in range(3):
        e.offer_accepted(got[i][0].offer_id, 5)
    view = e.agent("a")
    assert view is not None and view.holding == {"chat": 3} and view.state == AgentState.BUSY
    out = e.task_ended("c0", 10)
    assert only_offer(out).task_id == "c3"


def test_channel_without_capacity_is_never_offered() -> None:
    e = blended()
    e.agent_login(agent("a", capacity={"voice": 1}), 0)
    assert offers(e.task_arrived(chat("c1"), 1)) == []


def test_chat_while_voice_rule() -> None:
    for allowed in (False, True):
        e = blended()
        e.agent_login(agent("a", capacity={"voice": 1, "chat": 2}, chat_while_voice=allowed), 0)
        o = only_offer(e.task_arrived(voice("v1"), 1))
        e.offer_accepted(o.offer_id, 2)
        got = offers(e.task_arrived(chat("c1"), 3))
        assert len(got) == (1 if allowed else 0)
        if not allowed:
            assert only_offer(e.task_ended("v1", 4)).task_id == "c1"


def test_voice_while_chat_rule() -> None:
    for allowed in (False, True):
        e = blended()
        e.agent_login(agent("a", capacity={"voice": 1, "chat": 2}, voice_while_chat=allowed), 0)
        o = only_offer(e.task_arrived(chat("c1"), 1))
        e.offer_accepted(o.offer_id, 2)
        got = offers(e.task_arrived(voice("v1"), 3))
        assert len(got) == (1 if allowed else 0)
        if not allowed:
            assert only_offer(e.task_ended("c1", 4)).task_id == "v1"


def test_a_pending_voice_offer_counts_as_holding_voice() -> None:
    e = blended()
    e.agent_login(agent("a", capacity={"voice": 1, "chat": 2}), 0)
    only_offer(e.task_arrived(voice("v1"), 1))  # ringing, not answered
    assert offers(e.task_arrived(chat("c1"), 2)) == []


def test_wrapup_holds_the_slot_until_its_timer_or_wrapup_done() -> None:
    e = Engine([Queue("q", wrapup_seconds=30)])
    e.agent_login(agent("a"), 0)
    o = only_offer(e.task_arrived(voice("t1"), 0))
    e.offer_accepted(o.offer_id, 1)
    out = e.task_ended("t1", 10)
    assert states(out) == [("a", "wrap_up")]
    assert offers(e.task_arrived(voice("t2"), 11)) == []
    assert e.next_deadline() == 40
    out = e.advance(40)
    assert logs(out, "WRAPUP")[0].data == {"seconds": 30, "talk": 9}
    assert only_offer(out).task_id == "t2"
    e.offer_accepted("o2", 41)
    e.task_ended("t2", 50)
    e.task_arrived(voice("t3"), 51)
    out = e.wrapup_done("a", 55)  # early
    assert logs(out, "WRAPUP")[0].data["seconds"] == 5
    assert only_offer(out).task_id == "t3"


def test_a_wrapup_until_done_has_no_timer() -> None:
    """Rule A6: the next call waits for wrapup_done, however long the form takes."""
    e = Engine([Queue("q", wrapup_seconds=10, wrapup_until_done=True)])
    e.agent_login(agent("a"), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("t1"), 0)).offer_id, 1)
    assert states(e.task_ended("t1", 5)) == [("a", "wrap_up")]
    assert offers(e.task_arrived(voice("t2"), 6)) == []
    assert e.next_deadline() is None  # nothing will end it on its own
    assert offers(e.advance(3600)) == []
    view = e.agent("a")
    assert view is not None and view.wrapping == ("t1",) and view.wrapping_until == (None,)
    assert e.extend_wrapup("a", "t1", 30, 3601)[0].reason == "wrap-up lasts until done"
    e.agent_logout("a", 3602)
    e.agent_login(agent("a"), 3603)  # back: the form is still owed, the slot still taken
    assert offers(e.advance(3604)) == []
    out = e.wrapup_done("a", 3605, task_id="t1")
    assert logs(out, "WRAPUP")[0].data["seconds"] == 3600
    assert only_offer(out).task_id == "t2"


def test_a_form_owed_before_a_restart_holds_its_slot_again() -> None:
    """Rule A6 across a restart: a new engine (a new run) told at login which forms the
    agent owes holds their slots before dispatching, only where the queue waits for the
    form, and even while the phone is not yet known to work (voice capacity 0 then 1);
    the resumed wrap-up's length is no handling-time sample."""
    e = Engine([Queue("q", channels={"voice", "chat"}, wrapup_until_done=True),
                Queue("timed", channels={"voice", "chat"}, wrapup_seconds=10)])
    e.task_arrived(voice("t2"), 0)  # a caller waits already (adopted before the login)
    e.task_arrived(chat("c2"), 0)
    owed = [OwedWrapup("t1", "q"), OwedWrapup("t9", "timed"), OwedWrapup("c1", "q", "chat")]
    blends = {"queues": ("q", "timed"), "chat_while_voice": True, "voice_while_chat": True}
    out = e.agent_login(agent("a", capacity={"voice": 0, "chat": 2}, **blends), 1,
                        owed_wrapups=owed)
    assert [(i.ref, i.reason) for i in out if type(i).__name__ == "Ignored"] == [
        ("t9", "its queue does not wait for the form")]
    assert [o.task_id for o in offers(out)] == ["c2"]  # one chat slot of two was free
    view = e.agent("a")
    assert view is not None and view.wrapping == ("t1", "c1")
    assert view.wrapping_until == (None, None)
    phone_up = agent("a", capacity={"voice": 1, "chat": 2}, **blends)
    assert offers(e.update_agent(phone_up, 2)) == []  # the owed form holds the voice slot
    out = e.wrapup_done("a", 5, task_id="t1")
    assert logs(out, "WRAPUP")[0].data == {"seconds": 4, "talk": 0.0, "resumed": True}
    assert only_offer(out).task_id == "t2"


def test_extending_a_wrapup_moves_its_end() -> None:
    e = Engine([Queue("q", wrapup_seconds=10)])
    e.agent_login(agent("a"), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("t1"), 0)).offer_id, 1)
    e.task_ended("t1", 5)
    e.task_arrived(voice("t2"), 6)
    assert e.extend_wrapup("a", "t1", 30, 8) == []
    assert e.agent("a").wrapping_until == (45,)
    assert offers(e.advance(15)) == []  # the first end no longer counts
    assert e.next_deadline() == 45
    out = e.advance(45)
    assert logs(out, "WRAPUP")[0].data["seconds"] == 40
    assert only_offer(out).task_id == "t2"
    assert e.extend_wrapup("a", "t1", 30, 46)[0].reason == "no such wrap-up running"


def test_after_wrapup_not_ready() -> None:
    e = Engine([Queue("q", wrapup_seconds=5)])
    e.agent_login(agent("a", after_wrapup="not_ready"), 0)
    e.offer_accepted(only_offer(e.task_arrived(voice("t1"), 0)).offer_id, 1)
    e.task_ended("t1", 2)
    e.task_arrived(voice("t2"), 3)
    out = e.advance(7)
    assert offers(out) == []
    view = e.agent("a")
    assert view is not None and view.state == AgentState.NOT_READY
    assert view.reason == "after wrap-up"
    assert only_offer(e.agent_set_state("a", "ready", 8)).task_id == "t2"


def _blend_run(protect: float | None) -> tuple[float | None, list[str]]:
    """Agent with voice 1 / chat 3 and an endless chat backlog; one call waits.

    Every 10 s from t=10 the oldest chat ends and the agent is offered
    whatever the engine chooses (always accepted). Returns when the call
    was offered (None if never within 200 s) and the chats offered.
    """
    e = Engine(
        [
            Queue("voice_q", channels={"voice"}, blend=BlendRule(protect)),
            Queue("chat_q", channels={"chat"}),
        ]
    )
    for i in range(40):
        e.task_arrived(chat(f"c{i}", "chat_q"), 0)
    out = e.agent_login(
        agent("a", queues=("voice_q", "chat_q"), capacity={"voice": 1, "chat": 3}), 0
    )
    held = []
    for o in offers(out):
        e.offer_accepted(o.offer_id, 0)
        held.append(o.task_id)
    assert len(held) == 3
    assert offers(e.task_arrived(voice("v1", "voice_q"), 1)) == []
    voice_at = None
    chats = []
    now = 10.0
    while now <= 200 and voice_at is None:
        out = e.task_ended(held.pop(0), now) if held else e.advance(now)
        for o in offers(out):
            e.offer_accepted(o.offer_id, now)
            if o.channel == "voice":
                voice_at = now
            else:
                held.append(o.task_id)
                chats.append(o.task_id)
        now += 10
    return voice_at, chats


def test_without_blend_guard_chats_starve_the_call() -> None:
    voice_at, chats = _blend_run(None)
    assert voice_at is None
    assert len(chats) == 20  # every freed slot went to the next chat


def test_blend_guard_drains_chats_so_the_call_gets_through() -> None:
    voice_at, chats = _blend_run(30)
    # t=10, 20, 30: the call has waited 9, 19, 29 s < 30 -> new chats (c3, c4, c5).
    # t=40, 50, 60: waited >= 30 -> no new chats; the three held chats drain and at
    # t=60 the agent holds none and is offered the call.
    assert chats == ["c3", "c4", "c5"]
    assert voice_at == 60


def test_blend_guard_lifts_when_someone_else_takes_the_call() -> None:
    e = Engine(
        [
            Queue("voice_q", channels={"voice"}, blend=BlendRule(30)),
            Queue("chat_q", channels={"chat"}),
        ]
    )
    e.agent_login(agent("a", queues=("voice_q", "chat_q"), capacity={"voice": 1, "chat": 2}), 0)
    e.offer_accepted(only_offer(e.task_arrived(chat("c1", "chat_q"), 0)).offer_id, 0)
    e.task_arrived(voice("v1", "voice_q"), 1)  # a holds a chat: cannot take voice
    assert offers(e.task_arrived(chat("c2", "chat_q"), 40)) == []  # guard on: call waited 39 s
    out = e.agent_login(agent("b", queues=("voice_q",)), 41)
    assert [(o.agent_id, o.task_id) for o in offers(out)] == [("b", "v1"), ("a", "c2")]


def test_blend_guard_does_not_apply_to_agents_not_qualified_for_the_call() -> None:
    e = Engine(
        [
            Queue("voice_q", channels={"voice"}, skills={"fr": 1}, blend=BlendRule(5)),
            Queue("chat_q", channels={"chat"}),
        ]
    )
    e.agent_login(agent("a", queues=("voice_q", "chat_q"), capacity={"voice": 1, "chat": 2}), 0)
    e.task_arrived(voice("v1", "voice_q"), 0)  # nobody speaks fr
    assert len(offers(e.task_arrived(chat("c1", "chat_q"), 60))) == 1
