"""Interactions, messages, recordings, transcripts and summaries; durability across reopen."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from callcenter.storage import NotFound, Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "cc.db")
    yield s
    await s.close()


async def test_create_get_update_interaction(store: Store) -> None:
    i = await store.create_interaction(
        "voice", medium="pstn", queue="sales", ivr_choices=["1", "3"], arrived_at=100.0,
        caller_masked="+86 138 1234 5678", attributes={"language": "zh"},
    )  # fmt: skip
    assert len(i.id) == 36  # uuid4
    assert i.direction == "inbound"
    assert i.ivr_choices == ["1", "3"]
    assert i.caller_masked == "+861****5678"
    assert i.attributes == {"language": "zh"}
    assert i.ended_at is None

    u = await store.update_interaction(
        i.id, offered_at=105.0, answered_at=110.0, agent_id="a1", outcome="answered",
        ivr_choices=["1", "3", "0"], caller_masked="138****5678",
    )  # fmt: skip
    assert (u.offered_at, u.answered_at, u.agent_id, u.outcome) == (105.0, 110.0, "a1", "answered")
    assert u.ivr_choices == ["1", "3", "0"]
    assert u.caller_masked == "138****5678"
    assert await store.get_interaction(i.id) == u

    with pytest.raises(ValueError, match="id"):
        await store.update_interaction(i.id, id="other")
    with pytest.raises(ValueError, match="bogus"):
        await store.update_interaction(i.id, bogus=1)
    with pytest.raises(NotFound):
        await store.update_interaction("missing", outcome="x")
    with pytest.raises(sqlite3.IntegrityError):
        await store.create_interaction("voice", id=i.id)
    assert await store.get_interaction("missing") is None


async def test_transfer_chain_and_open_interactions(store: Store) -> None:
    first = await store.create_interaction("voice", id="call-1", arrived_at=1.0)
    second = await store.create_interaction("voice", transfer_of=first.id, arrived_at=2.0)
    chat = await store.create_interaction("chat", medium="web", arrived_at=3.0)
    await store.update_interaction(first.id, ended_at=2.0, outcome="transferred")
    assert second.transfer_of == "call-1"
    assert [i.id for i in await store.open_interactions()] == [second.id, chat.id]
    assert [i.id for i in await store.open_interactions("chat")] == [chat.id]
    between = await store.interactions_between(0.0, 2.5)
    assert [i.id for i in between] == [first.id, second.id]
    with pytest.raises(sqlite3.IntegrityError):
        await store.create_interaction("voice", transfer_of="no-such-call")


async def test_close_unseen_ends_only_open_ones_each_by_what_happened(store: Store) -> None:
    talked = await store.create_interaction("voice", arrived_at=1.0)
    await store.update_interaction(talked.id, answered_at=2.0)
    waited = await store.create_interaction("voice", arrived_at=1.5)
    ended = await store.create_interaction("voice", arrived_at=1.7)
    await store.update_interaction(ended.id, ended_at=3.0, outcome="abandoned")
    untouched = await store.create_interaction("voice", arrived_at=1.8)

    closed = await store.close_unseen([talked.id, waited.id, ended.id, "no-such"], 9.0)

    assert closed == 2
    got = {i: await store.get_interaction(i) for i in (talked.id, waited.id, ended.id)}
    assert (got[talked.id].outcome, got[talked.id].ended_at) == ("answered", 9.0)
    assert (got[waited.id].outcome, got[waited.id].ended_at) == ("lost", 9.0)
    assert (got[ended.id].outcome, got[ended.id].ended_at) == ("abandoned", 3.0)
    assert [i.id for i in await store.open_interactions()] == [untouched.id]


async def test_interactions_survive_close_and_reopen(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    store = await Store.open(db)
    customer = await store.find_or_create_customer("phone", "13812345678")
    i = await store.create_interaction(
        "voice", customer_id=customer.id, queue="support", arrived_at=10.0
    )
    await store.update_interaction(
        i.id, agent_id="a7", answered_at=20.0, ended_at=80.0, outcome="answered",
        disposition="resolved", notes="refund issued",
    )  # fmt: skip
    m = await store.add_message(None, "in", "kept", customer_id=customer.id, created_at=11.0)
    rec = await store.add_recording(i.id, "/rec/a.wav", duration=60.0, status="complete")
    await store.add_transcript_segment("hello", 0.0, 1.5, recording_id=rec.id, speaker="agent")

    # Committed data is visible to another connection before the store is even closed.
    with closing(sqlite3.connect(db)) as other:
        assert other.execute("SELECT outcome FROM interactions").fetchone() == ("answered",)
    before = await store.get_interaction(i.id)
    await store.close()
    await store.close()  # idempotent

    async with await Store.open(db) as reopened:
        assert await reopened.get_interaction(i.id) == before
        assert (await reopened.get_message(m.id)).body == "kept"
        assert [r.path for r in await reopened.list_recordings(i.id)] == ["/rec/a.wav"]
        assert [s.text for s in await reopened.list_transcript(i.id)] == ["hello"]
        assert (await reopened.customer_history(customer.id))[0].interaction == before


async def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "cc.db")
    await store.close()
    assert store.closed
    with pytest.raises(Exception, match="closed"):
        await store.create_interaction("voice")


async def test_add_message_idempotent_on_external_id(store: Store) -> None:
    customer = await store.find_or_create_customer("wechat_openid", "oX")
    chat = await store.create_interaction("chat", medium="wechat", customer_id=customer.id)
    first = await store.add_message(
        chat.id, "in", "hi", source="wechat", external_id=6912345678901234567, created_at=1.0
    )
    assert not first.duplicate
    assert first.customer_id == customer.id  # taken from the interaction
    assert first.sender == "customer" and first.delivery_status is None
    retry = await store.add_message(
        chat.id, "in", "hi (retry)", source="wechat", external_id="6912345678901234567"
    )
    assert retry.duplicate
    assert retry.id == first.id and retry.body == "hi"
    # Same external id from another source is a different message.
    other = await store.add_message(
        chat.id, "in", "web", source="web", external_id="6912345678901234567", created_at=1.5
    )
    assert not other.duplicate and other.id != first.id
    # Messages without an external id are never de-duplicated.
    a = await store.add_message(chat.id, "in", "same", created_at=2.0)
    b = await store.add_message(chat.id, "in", "same", created_at=2.0)
    assert a.id != b.id
    assert [m.body for m in await store.list_messages(chat.id)] == ["hi", "web", "same", "same"]
    assert [m.id for m in await store.list_messages(chat.id, limit=2)] == [a.id, b.id]
    with pytest.raises(ValueError):
        await store.add_message(chat.id, "sideways", "x")


async def test_outbound_delivery_and_retry_queue(store: Store) -> None:
    chat = await store.create_interaction("chat", medium="wechat")
    out1 = await store.add_message(chat.id, "out", "one", sender="agent-1", created_at=1.0)
    out2 = await store.add_message(chat.id, "out", "two", sender="agent-1", created_at=2.0)
    done = await store.add_message(chat.id, "out", "three", created_at=3.0, delivered_at=3.5)
    await store.add_message(chat.id, "in", "inbound", created_at=4.0)
    assert out1.delivery_status == "pending" and done.delivery_status == "delivered"
    assert done.sender == "system"
    assert [m.id for m in await store.pending_outbound()] == [out1.id, out2.id]

    failed = await store.mark_message_delivery(out1.id, "failed", error="45015 timeout")
    assert failed.attempts == 1 and failed.last_error == "45015 timeout"
    assert [m.id for m in await store.pending_outbound()] == [out1.id, out2.id]
    assert [m.id for m in await store.pending_outbound(max_attempts=1)] == [out2.id]

    ok = await store.mark_message_delivery(out1.id, "delivered", at=9.0)
    assert ok.delivered_at == 9.0 and ok.attempts == 2 and ok.last_error is None
    await store.mark_message_delivery(out2.id, "given_up", error="user blocked")
    assert await store.pending_outbound() == []
    with pytest.raises(NotFound):
        await store.mark_message_delivery(424242, "delivered")


async def test_recordings_transcripts_summaries(store: Store) -> None:
    call = await store.create_interaction("voice")
    mixed = await store.add_recording(call.id, "/r/mixed.wav", started_at=1.0)
    caller = await store.add_recording(call.id, "/r/caller.wav", leg="caller")
    assert mixed.status == "recording" and mixed.leg == "mixed"
    done = await store.update_recording(
        mixed.id, ended_at=61.0, duration=60.0, size=960_000, status="complete"
    )
    assert (done.duration, done.size, done.status) == (60.0, 960_000, "complete")
    assert [r.id for r in await store.list_recordings(call.id)] == [mixed.id, caller.id]
    with pytest.raises(ValueError):
        await store.add_recording(call.id, "/r/x.wav", leg="both")
    with pytest.raises(ValueError):
        await store.update_recording(mixed.id, interaction_id="x")
    with pytest.raises(NotFound):
        await store.update_recording(424242, status="missing")

    segments = await store.add_transcript_segments(
        [
            {"text": "您好，请问有什么可以帮您？", "start": 0.5, "end": 2.0, "speaker": "agent"},
            {"text": "我想查账单", "start": 2.4, "end": 3.1, "speaker": "caller",
             "confidence": 0.91},
        ],
        recording_id=mixed.id,
        engine="vosk-small-cn",
    )  # fmt: skip
    assert all(s.interaction_id == call.id for s in segments)
    await store.add_transcript_segment("late", 1.0, 1.2, recording_id=caller.id, leg="caller")
    whole = await store.list_transcript(call.id)
    assert [s.start for s in whole] == [0.5, 1.0, 2.4]
    assert [s.text for s in await store.list_transcript(recording_id=mixed.id)] == [
        "您好，请问有什么可以帮您？",
        "我想查账单",
    ]
    assert whole[2].confidence == 0.91 and whole[0].engine == "vosk-small-cn"
    with pytest.raises(ValueError):
        await store.add_transcript_segment("x", 0, 1)
    other = await store.create_interaction("voice")
    with pytest.raises(ValueError):
        await store.add_transcript_segment(
            "x", 0, 1, interaction_id=other.id, recording_id=mixed.id
        )
    # A failed batch stores nothing.
    with pytest.raises(NotFound):
        await store.add_transcript_segments(
            [{"text": "a", "start": 0, "end": 1}, {"text": "b", "start": 1, "end": 2,
                                                   "recording_id": 999}],
            interaction_id=call.id,
        )  # fmt: skip
    assert len(await store.list_transcript(call.id)) == 3

    assert await store.latest_summary(call.id) is None
    await store.add_summary(call.id, "first", created_at=10.0)
    await store.add_summary(call.id, "second", engine="llm", created_at=20.0)
    assert (await store.latest_summary(call.id)).text == "second"
    assert [s.text for s in await store.list_summaries(call.id)] == ["first", "second"]
