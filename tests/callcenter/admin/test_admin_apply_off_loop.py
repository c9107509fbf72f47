"""An admin's change is parsed, validated and written off the event loop (issue 10).

The loop carries every call: while a change is being loaded it must keep serving.
The load here waits for the loop to prove it is alive; if the load ran on the loop,
nothing could ever release it.
"""

from __future__ import annotations

import asyncio
import threading

from callcenter.config import store as config_store_module


async def test_the_loop_keeps_serving_while_a_change_loads(web_stack, monkeypatch):
    real_load = config_store_module.load_outcome
    loop_alive = threading.Event()

    def slow_load(*args, **kwargs):
        if not loop_alive.wait(timeout=5):
            raise AssertionError("the event loop stalled while the change was loading")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(config_store_module, "load_outcome", slow_load)
    admin = await web_stack.client("admin")
    watcher = await web_stack.client("zhaolei")
    path = web_stack.config_dir / "queues.yaml"
    text = path.read_text(encoding="utf-8").replace("max_wait_seconds: 600",
                                                    "max_wait_seconds: 590", 1)
    assert "590" in text

    async def apply() -> dict:
        async with admin.put("/api/admin/config/queues.yaml", json={"text": text}) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def meanwhile() -> None:
        await asyncio.sleep(0.05)  # the change is on its way
        async with watcher.get("/api/supervisor/wallboard") as response:
            assert response.status == 200  # answered while the change is loading
        loop_alive.set()

    result, _ = await asyncio.gather(apply(), meanwhile())
    assert result["applied"] is True
    assert path.read_text(encoding="utf-8") == text
    assert web_stack.config.queues["sales"].max_wait_seconds == 590
