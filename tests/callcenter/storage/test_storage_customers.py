"""Customers, identities, merging and the cross-channel history of the screen-pop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from callcenter.storage import NotFound, Store

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "cc.db", password_hasher=FAST_HASHER)
    yield s
    await s.close()


async def test_find_or_create_is_stable_and_normalizes(store: Store) -> None:
    a = await store.find_or_create_customer("phone", "138-1234 5678", now=10.0)
    b = await store.find_or_create_customer("phone", "13812345678", name="Zhang San")
    assert a.id == b.id
    assert b.name == "Zhang San"  # a missing name is filled in
    c = await store.find_or_create_customer("phone", "13812345678", name="Other")
    assert c.name == "Zhang San"  # an existing name is not overwritten
    assert [(i.kind, i.value) for i in c.identities] == [("phone", "13812345678")]
    assert c.created_at == 10.0

    e1 = await store.find_or_create_customer("email", " Alice@Example.COM ")
    e2 = await store.find_or_create_customer("email", "alice@example.com")
    assert e1.id == e2.id != a.id
    assert await store.find_customer("wechat_openid", "nobody") is None
    with pytest.raises(ValueError):
        await store.find_or_create_customer("fax", "123")
    with pytest.raises(ValueError):
        await store.find_or_create_customer("phone", "   ")


async def test_identity_repr_masks_phone(store: Store) -> None:
    c = await store.find_or_create_customer("phone", "13812345678")
    assert "13812345678" not in repr(c)
    assert "138****5678" in repr(c)


async def test_link_identity_new_and_existing(store: Store) -> None:
    c = await store.find_or_create_customer("phone", "13812345678")
    linked = await store.link_identity(c.id, "wechat_openid", "oABC123")
    assert linked.id == c.id
    assert {(i.kind, i.value) for i in linked.identities} == {
        ("phone", "13812345678"),
        ("wechat_openid", "oABC123"),
    }
    again = await store.link_identity(c.id, "wechat_openid", "oABC123")  # no-op
    assert len(again.identities) == 2
    found = await store.find_customer("wechat_openid", "oABC123")
    assert found is not None and found.id == c.id
    with pytest.raises(NotFound):
        await store.link_identity(9999, "phone", "1")


async def test_link_identity_merges_customers_older_survives(store: Store) -> None:
    # The WeChat customer is known first, with history and attributes.
    old = await store.find_or_create_customer("wechat_openid", "oWX", name="Li", now=100.0)
    await store.update_customer(old.id, attributes={"vip": True, "language": "zh"})
    chat = await store.create_interaction(
        "chat", medium="wechat", customer_id=old.id, arrived_at=110.0
    )
    await store.add_message(chat.id, "in", "你好", source="wechat", external_id="m1")
    # Later a caller becomes a separate customer...
    new = await store.find_or_create_customer("phone", "13900001111", now=200.0)
    await store.update_customer(new.id, attributes={"language": "en", "segment": "b2b"})
    call = await store.create_interaction("voice", customer_id=new.id, arrived_at=210.0)
    cb = await store.add_callback("13900001111", queue="sales", customer_id=new.id)

    # ...until the agent links the phone to the WeChat customer (from the newer side).
    merged = await store.link_identity(new.id, "wechat_openid", "oWX", now=300.0)
    assert merged.id == old.id  # the older customer survives
    assert merged.name == "Li"
    assert merged.attributes == {"vip": True, "language": "zh", "segment": "b2b"}
    assert {(i.kind, i.value) for i in merged.identities} == {
        ("wechat_openid", "oWX"),
        ("phone", "13900001111"),
    }
    # Everything moved to the survivor; the old id still resolves to it.
    assert (await store.get_interaction(call.id)).customer_id == old.id
    assert (await store.get_callback(cb.id)).customer_id == old.id
    via_loser = await store.get_customer(new.id)
    assert via_loser is not None and via_loser.id == old.id
    found = await store.find_customer("phone", "13900001111")
    assert found is not None and found.id == old.id
    history = await store.customer_history(new.id)
    assert [h.interaction.id for h in history] == [call.id, chat.id]
    messages = await store.customer_messages(old.id)
    assert [m.body for m in messages] == ["你好"]

    # New interactions created with the merged-away id land on the survivor.
    later = await store.create_interaction("voice", customer_id=new.id, arrived_at=400.0)
    assert later.customer_id == old.id


async def test_merge_customers_explicit_survivor_and_chain(store: Store) -> None:
    a = await store.find_or_create_customer("phone", "111111111111", now=1.0)
    b = await store.find_or_create_customer("phone", "222222222222", now=2.0)
    c = await store.find_or_create_customer("phone", "333333333333", now=3.0)
    merged = await store.merge_customers(c.id, b.id)  # explicit: the newer one survives
    assert merged.id == c.id
    merged = await store.merge_customers(a.id, c.id)  # b -> c -> a collapses to b -> a
    assert merged.id == a.id
    assert len(merged.identities) == 3
    loser_b = await store.get_customer(b.id)
    assert loser_b is not None and loser_b.id == a.id


async def test_update_customer_attributes(store: Store) -> None:
    c = await store.find_or_create_customer("web_visitor", "v-1")
    c = await store.update_customer(c.id, name="Guest", attributes={"vip": True, "lang": "zh"})
    assert c.name == "Guest" and c.attributes == {"vip": True, "lang": "zh"}
    c = await store.update_customer(c.id, attributes={"lang": None, "tier": 2}, now=50.0)
    assert c.attributes == {"vip": True, "tier": 2}
    assert c.name == "Guest" and c.updated_at == 50.0
    c = await store.update_customer(c.id, attributes={"x": 1}, replace_attributes=True)
    assert c.attributes == {"x": 1}
    with pytest.raises(NotFound):
        await store.update_customer(424242, name="x")


async def test_customer_history_across_channels(store: Store) -> None:
    customer = await store.find_or_create_customer("phone", "13812345678")
    await store.link_identity(customer.id, "wechat_openid", "oWX")
    await store.link_identity(customer.id, "web_visitor", "visitor-9")

    call = await store.create_interaction(
        "voice", medium="pstn", customer_id=customer.id, queue="support",
        arrived_at=1000.0, answered_at=1010.0, ended_at=1100.0, outcome="answered",
        caller_masked="13812345678",
    )  # fmt: skip
    await store.add_summary(call.id, "old summary", engine="llm", created_at=1101.0)
    await store.add_summary(call.id, "Asked about an invoice.", engine="llm", created_at=1102.0)

    wechat = await store.create_interaction(
        "chat", medium="wechat", customer_id=customer.id, arrived_at=2000.0
    )
    for n in range(8):
        await store.add_message(
            wechat.id, "in" if n % 2 == 0 else "out", f"wx {n}", sender=None,
            source="wechat", external_id=f"wx-{n}", created_at=2000.0 + n,
        )  # fmt: skip

    web = await store.create_interaction(
        "chat", medium="web", customer_id=customer.id, arrived_at=3000.0
    )
    await store.add_message(web.id, "in", "hello from the web", created_at=3001.0)
    await store.add_summary(web.id, "Web chat about delivery.", created_at=3100.0)

    other = await store.find_or_create_customer("phone", "13900000000")
    await store.create_interaction("voice", customer_id=other.id, arrived_at=5000.0)

    history = await store.customer_history(customer.id)
    assert [h.interaction.id for h in history] == [web.id, wechat.id, call.id]
    assert [h.interaction.medium for h in history] == ["web", "wechat", "pstn"]
    assert history[0].summary == "Web chat about delivery."
    assert [m.body for m in history[0].last_messages] == ["hello from the web"]
    assert history[1].summary is None
    assert [m.body for m in history[1].last_messages] == ["wx 3", "wx 4", "wx 5", "wx 6", "wx 7"]
    assert all(m.customer_id == customer.id for m in history[1].last_messages)
    assert history[2].summary == "Asked about an invoice."
    assert history[2].last_messages == []
    assert history[2].interaction.caller_masked == "138****5678"

    limited = await store.customer_history(customer.id, limit=2, messages_per_interaction=2)
    assert [h.interaction.id for h in limited] == [web.id, wechat.id]
    assert [m.body for m in limited[1].last_messages] == ["wx 6", "wx 7"]
    assert await store.customer_history(987654) == []
