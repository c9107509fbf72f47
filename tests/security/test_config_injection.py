"""What an admin types into agents.yaml cannot rewrite Asterisk's configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from callcenter.config import ConfigError, load_config
from callcenter.config.models import Agent
from callcenter.voice.endpoints import render_endpoints
from tests.support.voice import edit_yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cfg_dir(tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path / "config"


@pytest.mark.parametrize(("field", "value"), [
    ("sip_password", "dev-sip-1001\n[evil](cc-phone)\ncontext=cc-internal"),
    ("sip_password", "short"),
    ("sip_password", "has;comment-here"),
    ("name", "Zhang\n[evil](cc-phone)"),
    ("name", 'Zhang" <999>'),
])
def test_injection_into_the_generated_endpoints_is_refused(cfg_dir, field, value):
    edit_yaml(cfg_dir / "agents.yaml", lambda data: data["agents"][0].update({field: value}))
    with pytest.raises(ConfigError, match=rf"agents\[0\]\.{field}"):
        load_config(cfg_dir, env={})


def test_the_writer_escapes_whatever_reaches_it():
    # Past the schema (a model built in code): still one line per value, no new section.
    agent = Agent.model_construct(id="x", name='A"[b];\nc', extension="1001",
                                  sip_password=SecretStr("pw\n[evil]"), role="agent")
    text = render_endpoints((agent,))
    assert "[evil]" not in text and '"A' in text
    # The desk phone's endpoint, aor and auth, and the browser phone's: nothing else.
    assert text.count("\n[") == 6


def test_a_prompt_is_never_read_as_espeak_options(tmp_path):
    from ivr.prompts import PromptText, render

    hostile = PromptText("en", f"-w {tmp_path / 'elsewhere.wav'} hello")
    written = render(iter([hostile]), tmp_path / "sounds")
    assert len(written) == 1 and written[0].stat().st_size > 1000
    assert not (tmp_path / "elsewhere.wav").exists()
