"""Fixtures for end-to-end voice: the real engine against the real local Asterisk, with
pyVoIP phones (helpers in tests.support.voice)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callcenter.app import App, AsteriskSite
from callcenter.config import ConfigStore
from tests.support.voice import make_config


@pytest.fixture
async def voice_app(tmp_path, asterisk):
    """Start the whole engine (without the web consoles) against the test Asterisk."""
    apps: list[App] = []

    async def start(queue_changes: Callable[[dict], None] | None = None,
                    ami_port: int | None = None, web: bool = False) -> App:
        directory = make_config(tmp_path, asterisk, queue_changes, ami_port)
        app = App(ConfigStore.open(directory), web=web,
                  site=AsteriskSite(host_root=str(asterisk.root),
                                    files_dir=asterisk.instance_inside))
        await app.start()
        apps.append(app)
        return app

    yield start
    for app in apps:
        await app.stop()


