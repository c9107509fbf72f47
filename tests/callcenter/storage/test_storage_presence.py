"""Saved agent presence: what a restarted engine signs agents back in with."""

from __future__ import annotations

from pathlib import Path

from callcenter.storage import AgentPresence, Store


async def test_presence_survives_restart_and_keeps_device_unless_given(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    async with await Store.open(db) as store:
        await store.save_presence("a2", "ready", device="PJSIP/2001", at=1.0)
        await store.save_presence("a1", "not_ready", reason="lunch", device="PJSIP/2000", at=2.0)
        await store.save_presence("a3", "ready", device="PJSIP/2002", at=3.0)
        # Device left out: kept. Device given as None: cleared.
        await store.save_presence("a2", "not_ready", reason="after call", at=4.0)
        await store.save_presence("a3", "logged_out", device=None, at=5.0)

    async with await Store.open(db) as store:
        assert await store.logged_in_agents() == [
            AgentPresence("a1", "not_ready", "lunch", "PJSIP/2000", 2.0),
            AgentPresence("a2", "not_ready", "after call", "PJSIP/2001", 4.0),
        ]
        await store.save_presence("a3", "ready", at=6.0)
        (a3,) = [p for p in await store.logged_in_agents() if p.agent_id == "a3"]
        assert a3.device is None
