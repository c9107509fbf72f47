"""The engine as a process of its own, without Asterisk (chats only), for crash tests.

    python -m tests.support.chat_engine <config dir>

Prints ``chat engine ready <port>`` once it serves, then runs until it is killed. The
sample users get their agents.yaml passwords as chosen ones (as the console stack does).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from callcenter.app import App
from callcenter.config import ConfigStore
from tests.support.webstack import FAST_HASHER, PASSWORDS


async def serve(config_dir: Path) -> None:
    app = App(ConfigStore.open(config_dir, env={}), asterisk=False,
              settings={"password_hasher": FAST_HASHER, "chat_tick": 0.2})
    await app.start()
    for username, password in PASSWORDS.items():
        await app.store.set_password(username, password, revoke_sessions=False)
    print(f"chat engine ready {app.web_port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(Path(sys.argv[1])))
