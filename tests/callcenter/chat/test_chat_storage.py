"""The chat records on a real SQLite file: batches stored once however often they are
sent, in order; a journaled merge undone exactly, and refused once things moved on."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.storage import Store
from callcenter.storage.chats import NewMessage
from chatbridge.conversation import MessageWriter


@pytest.fixture
async def store(tmp_path):
    opened = await Store.open(tmp_path / "chat.sqlite3")
    yield opened
    await opened.close()


def message(conv: str, cid: str, text: str) -> NewMessage:
    return NewMessage(conv, None, None, "in", "customer", text, "web", f"{conv}:{cid}")


async def test_a_batch_is_stored_once_in_order_and_a_repeat_returns_the_same_rows(store):
    await store.create_conversation("c1", medium="web", address="v", queue="sales",
                                    status="queued")
    first = await store.add_chat_messages([message("c1", str(i), f"m{i}") for i in range(3)])
    again = await store.add_chat_messages([message("c1", "2", "m2"), message("c1", "3", "m3")])
    assert [m.id for m in first] == sorted(m.id for m in first)
    assert (again[0].id, again[0].duplicate, again[1].duplicate) == (first[2].id, True, False)
    assert [m.body for m in await store.conversation_messages("c1")] == ["m0", "m1", "m2", "m3"]
    assert [m.body for m in await store.conversation_messages("c1", after=first[1].id)] == [
        "m2", "m3"]
    with pytest.raises(ValueError):
        await store.add_chat_messages([message("c1", "9", "x"), message("c1", "9", "x")])


async def test_the_writer_commits_one_turns_messages_together_and_splits_repeats(store):
    await store.create_conversation("c2", medium="web", address="v", queue="sales",
                                    status="queued")
    batches: list[int] = []
    writer = MessageWriter(store, on_batch=batches.append)
    rows = await asyncio.gather(*(writer.write(message("c2", str(i % 4), f"m{i % 4}"))
                                  for i in range(8)))
    assert batches == [4, 4]  # one transaction a turn; a repeat waits for the next
    assert [r.duplicate for r in rows] == [False] * 4 + [True] * 4
    assert [r.id for r in rows[:4]] == [r.id for r in rows[4:]]


async def test_a_merge_is_undone_exactly_and_not_once_merged_again(store):
    visitor = await store.find_or_create_customer("web_visitor", "key-1", "小明")
    known = await store.find_or_create_customer("phone", "13812345678", "王小明")
    await store.create_conversation("c3", medium="web", address="key-1", queue="sales",
                                    status="active", customer_id=visitor.id)
    await store.add_chat_messages([message("c3", "1", "hi")])
    chat = await store.create_interaction("chat", customer_id=visitor.id, queue="sales")
    merge = await store.merge_customers_journaled(known.id, visitor.id, actor="zhangwei")
    merged = await store.get_customer(visitor.id)
    assert merged.id == known.id  # the visitor's id now resolves to the survivor
    assert (await store.get_conversation("c3")).customer_id == known.id
    assert (await store.get_interaction(chat.id)).customer_id == known.id
    later = await store.create_interaction("chat", customer_id=known.id, queue="sales")

    survivor, split = await store.undo_merge(merge.id, actor="zhangwei")
    assert (survivor.id, split.id, split.merged_into) == (known.id, visitor.id, None)
    assert [i.kind for i in split.identities] == ["web_visitor"]
    assert (await store.get_conversation("c3")).customer_id == visitor.id
    assert (await store.get_interaction(chat.id)).customer_id == visitor.id
    assert (await store.get_interaction(later.id)).customer_id == known.id  # made after
    with pytest.raises(ValueError):
        await store.undo_merge(merge.id, actor="zhangwei")  # once
    again = await store.merge_customers_journaled(known.id, visitor.id, actor="lina")
    await store.merge_customers(known.id, visitor.id)
    other = await store.find_or_create_customer("email", "x@example.com")
    await store.merge_customers(other.id, known.id)  # the survivor was merged on since
    with pytest.raises(ValueError):
        await store.undo_merge(again.id, actor="lina")
