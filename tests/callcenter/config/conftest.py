"""Fixtures for the config tests: a private copy of the sample config to break."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from callcenter.config import ConfigError, ConfigIssue, load_config

SAMPLES = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture
def cfg_dir(tmp_path: Path) -> Path:
    """A copy of the sample config directory, safe to edit."""
    target = tmp_path / "config"
    shutil.copytree(SAMPLES, target)
    return target


Edit = Callable[..., tuple[int, int]]


@pytest.fixture
def edit(cfg_dir: Path) -> Edit:
    """Replace ``old`` by ``new`` (once) in a config file; returns the 1-based
    (line, column) where the replacement starts, plus ``offset`` characters."""

    def _edit(filename: str, old: str, new: str, offset: int = 0) -> tuple[int, int]:
        path = cfg_dir / filename
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {filename}"
        index = text.index(old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return line_col(text, index + offset)

    return _edit


def line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``."""
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


@pytest.fixture
def errors(cfg_dir: Path) -> Callable[[], list[ConfigIssue]]:
    """Load ``cfg_dir`` with an empty environment, expecting it to fail; its errors."""

    def _errors() -> list[ConfigIssue]:
        with pytest.raises(ConfigError) as info:
            load_config(cfg_dir, env={})
        assert info.value.issues, "ConfigError without issues"
        return info.value.issues

    return _errors
