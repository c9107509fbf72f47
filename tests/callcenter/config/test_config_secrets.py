"""Secrets from the environment never show in str/repr, errors, diffs or logs."""

from __future__ import annotations

import logging
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from callcenter.config import ConfigError, ConfigStore, check_config, load_config
from callcenter.config.models import Config
from callcenter.config.source import SENSITIVE_KEYS

SECRET = "S3cr3t-do-not-print"
ENV = {
    "CALLCENTER_AMI_SECRET": SECRET,
    "CALLCENTER_AGI_SECRET": SECRET + "-agi",
    "CALLCENTER_SIP_PASSWORD_1001": SECRET + "-sip",
    "CALLCENTER_INITIAL_PASSWORD": SECRET + "-pw",
    "CALLCENTER_WECHAT_APP_SECRET": SECRET + "-wx",
}


def test_secrets_hidden_in_config(cfg_dir: Path) -> None:
    config = load_config(cfg_dir, env=ENV).config
    assert config.callcenter.ami.secret.get_secret_value() == SECRET
    assert config.callcenter.asterisk.agi_secret.get_secret_value() == SECRET + "-agi"

    assert config.agents[0].sip_password.get_secret_value() == SECRET + "-sip"
    for text in (str(config), repr(config), config.model_dump_json(),
                 repr(config.callcenter), str(config.agents[0])):
        assert SECRET not in text


def test_secrets_hidden_in_errors(edit, cfg_dir: Path) -> None:
    # A secret pasted into the wrong place must not be echoed back.
    edit("queues.yaml", "strategy: longest_idle", "strategy: ${CALLCENTER_AMI_SECRET}")
    edit("callcenter.yaml", "  port: 5038", "  port: ${CALLCENTER_AMI_SECRET}")
    edit("agents.yaml", 'extension: "1002"', 'extension: "${CALLCENTER_AMI_SECRET}"')
    edit("callcenter.yaml", "  username: callcenter",
         "  username: callcenter\n  sceret: ${CALLCENTER_AMI_SECRET}")
    edit("callcenter.yaml", "encoding_aes_key: \"${CALLCENTER_WECHAT_AES_KEY:-}\"",
         "encoding_aes_key: \"${CALLCENTER_AMI_SECRET}\"")
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir, env=ENV)
    paths = {i.path for i in info.value.issues}
    assert {"queues.sales.strategy", "ami.port", "agents[1].extension",
            "chat.wechat.encoding_aes_key", "ami.sceret"} <= paths
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.issues)
    code, text = check_config(cfg_dir, env=ENV)
    assert code == 1 and SECRET not in text


def test_secrets_hidden_in_logs(edit, cfg_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = ConfigStore.open(cfg_dir, env=ENV)
    edit("queues.yaml", "strategy: longest_idle", "strategy: ${CALLCENTER_AMI_SECRET}")
    assert not store.reload().applied
    text = (cfg_dir / "callcenter.yaml").read_text().replace(
        "${CALLCENTER_AMI_SECRET:-callcenter}", "${CALLCENTER_SESSION_SECRET}")
    store.apply_text("callcenter.yaml", text, actor="admin")
    assert caplog.records
    assert SECRET not in caplog.text


def _secret_fields(model: type[BaseModel], seen: set[type]) -> set[str]:
    """Names of the fields, anywhere in the schema, that hold a ``SecretStr``."""
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, field in model.model_fields.items():
        for kind in _kinds(field.annotation):
            if kind is SecretStr:
                names.add(field.alias or name)
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                names |= _secret_fields(kind, seen)
    return names


def _kinds(annotation: object) -> list[object]:
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    return [annotation, *[k for arg in args for k in _kinds(arg)]]


def test_every_secret_field_reads_the_environment_and_is_hidden() -> None:
    """A secret field whose name the reader does not know would take ``${NAME}`` as its
    literal value (and show it in messages)."""
    fields = _secret_fields(Config, set())
    assert {"secret", "agi_secret", "sip_password", "password"} <= fields
    assert fields <= SENSITIVE_KEYS
