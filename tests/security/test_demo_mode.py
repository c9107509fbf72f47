"""``make run`` is a loopback-only demo (issue 10): its passwords never face a network."""

from __future__ import annotations

import re
import secrets

import pytest

from callcenter.app import App
from callcenter.config import ConfigError, ConfigStore
from tests.support import voice
from tests.support.webstack import copy_config


def strong_env(config_dir) -> dict[str, str]:
    """Every secret the sample reads from the environment, set to something unguessable."""
    names = set(re.findall(r"\$\{(CALLCENTER_[A-Z0-9_]+)",
                           "".join(p.read_text(encoding="utf-8")
                                   for p in config_dir.glob("*.yaml"))))
    return {name: secrets.token_hex(22)[:43] if "AES" in name else secrets.token_hex(12)
            for name in names}


async def test_demo_mode_refuses_to_open_the_consoles_beyond_loopback(tmp_path):
    directory = copy_config(tmp_path / "config")
    voice.edit_yaml(directory / "callcenter.yaml",
                    lambda data: (data["web"].update(bind="0.0.0.0", port=0),
                                  data["storage"].update(path=str(tmp_path / "cc.sqlite3"))))
    store = ConfigStore.open(directory, env=strong_env(directory))  # valid for production
    app = App(store, asterisk=False, demo=True)
    with pytest.raises(ConfigError, match="demo mode"):
        await app.start()
    await app.stop()


async def test_demo_mode_on_loopback_lets_the_sample_passwords_work(make_stack):
    stack = await make_stack(passwords_chosen=False, demo=True)
    client = await stack.client("zhangwei")
    async with client.get("/api/agent/console") as response:
        assert response.status == 200  # without demo: 403 (test_passwords)
