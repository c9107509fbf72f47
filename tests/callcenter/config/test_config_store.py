"""ConfigStore: reloads swap atomically, bad files never replace a working config."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.config import (
    Config,
    ConfigDiff,
    ConfigError,
    ConfigStore,
    diff_configs,
    validate_text,
)


def test_open_fails_on_bad_directory(cfg_dir: Path) -> None:
    (cfg_dir / "ivr.yaml").write_text("entry: [\n")
    with pytest.raises(ConfigError) as info:
        ConfigStore.open(cfg_dir, env={})
    assert info.value.issues[0].filename == "ivr.yaml"


def test_config_before_first_load(cfg_dir: Path) -> None:
    store = ConfigStore(cfg_dir, env={})
    assert not store.loaded
    with pytest.raises(LookupError):
        _ = store.config


def test_reload_with_bad_file_keeps_old_config(cfg_dir: Path) -> None:
    store = ConfigStore.open(cfg_dir, env={})
    before = store.config
    calls: list[tuple[Config | None, Config]] = []
    store.subscribe(lambda old, new: calls.append((old, new)))
    queues = cfg_dir / "queues.yaml"
    queues.write_text(queues.read_text().replace("strategy: best_skill", "strategy: best_skil"))

    result = store.reload()

    assert not result.applied
    assert [i.path for i in result.errors] == ["queues.support.strategy"]
    assert store.config is before
    assert calls == []


def test_reload_swaps_and_notifies(cfg_dir: Path) -> None:
    store = ConfigStore.open(cfg_dir, env={})
    before = store.config
    calls: list[tuple[Config | None, Config]] = []
    unsubscribe = store.subscribe(lambda old, new: calls.append((old, new)))
    queues = cfg_dir / "queues.yaml"
    queues.write_text(queues.read_text().replace("strategy: best_skill", "strategy: round_robin"))

    result = store.reload()

    assert result.applied and result.diff is not None
    assert result.diff.queues.changed == {"support": ("strategy",)}
    assert store.config.queues["support"].strategy == "round_robin"
    assert calls == [(before, store.config)]

    unsubscribe()
    assert store.reload().applied  # nothing changed: nobody is told anything
    assert len(calls) == 1


def test_failing_subscriber_does_not_block_others(cfg_dir: Path) -> None:
    store = ConfigStore(cfg_dir, env={})
    seen: list[str] = []

    def broken(old: Config | None, new: Config) -> None:
        raise RuntimeError("boom")

    store.subscribe(broken)
    store.subscribe(lambda old, new: seen.append(new.ivr.entry))
    assert store.reload().applied
    assert seen == ["welcome"]


def test_apply_text_refuses_bad_edit(cfg_dir: Path) -> None:
    audits: list[tuple[str, str | None, ConfigDiff]] = []
    store = ConfigStore.open(cfg_dir, env={}, audit=lambda *a: audits.append(a))
    audits.clear()
    before = store.config
    path = cfg_dir / "ivr.yaml"
    original = path.read_bytes()
    bad = original.decode().replace("    queue: sales", "    queue: marketing")

    issues = store.apply_text("ivr.yaml", bad, actor="alice")

    assert [i.path for i in issues if i.is_error] == ["nodes.to_sales.queue"]
    assert path.read_bytes() == original
    assert not (cfg_dir / "ivr.yaml.bak").exists()
    assert store.config is before
    assert audits == []
    assert sorted(p.name for p in cfg_dir.iterdir()) == [
        "agents.yaml", "callcenter.yaml", "ivr.yaml", "quality.yaml", "queues.yaml"]


def test_apply_text_writes_keeps_backup_and_reloads(cfg_dir: Path) -> None:
    audits: list[tuple[str, str | None, ConfigDiff]] = []
    store = ConfigStore.open(cfg_dir, env={}, audit=lambda *a: audits.append(a))
    audits.clear()
    changes: list[Config] = []
    store.subscribe(lambda old, new: changes.append(new))
    path = cfg_dir / "queues.yaml"
    original = path.read_text()
    path.chmod(0o640)
    edited = original.replace("    priority: 100\n", "    priority: 200\n")

    issues = store.apply_text("queues.yaml", edited, actor="alice")

    assert [i for i in issues if i.is_error] == []
    assert path.read_text() == edited
    assert (cfg_dir / "queues.yaml.bak").read_text() == original
    assert path.stat().st_mode & 0o777 == 0o640
    assert store.config.queues["vip"].priority == 200
    assert [c.queues["vip"].priority for c in changes] == [200]
    [(actor, filename, diff)] = audits
    assert (actor, filename) == ("alice", "queues.yaml")
    assert diff.summary() == "queues: ~vip(priority)"
    assert not [p for p in cfg_dir.iterdir() if p.name.endswith(".tmp")]


def test_apply_text_rejects_unknown_file(cfg_dir: Path) -> None:
    store = ConfigStore(cfg_dir, env={})
    with pytest.raises(ValueError, match="not a config file"):
        store.apply_text("../etc/passwd", "x: 1", actor="mallory")


def test_validate_text_reports_breakage_in_other_files(cfg_dir: Path) -> None:
    path = cfg_dir / "queues.yaml"
    original = path.read_text()
    edited = original.replace("  vip:\n", "  gold:\n")

    issues = validate_text(cfg_dir, "queues.yaml", edited, env={})

    errors = [i for i in issues if i.is_error]
    assert [(i.filename, i.path) for i in errors] == [
        ("agents.yaml", "agents[6].queues[0]"),
        ("ivr.yaml", "nodes.to_vip.queue"),
        ("quality.yaml", "queues.vip"),
    ]
    assert "queue 'vip' does not exist; queues (in queues.yaml): gold, sales" in errors[1].message
    assert path.read_text() == original


def test_diff_summary(cfg_dir: Path) -> None:
    store = ConfigStore.open(cfg_dir, env={})
    old = store.config
    agents = cfg_dir / "agents.yaml"
    text = agents.read_text()
    start = text.index("  - id: emily")
    end = text.index("  - id: zhaolei")
    agents.write_text(text[:start] + text[end:])
    cc = cfg_dir / "callcenter.yaml"
    cc.write_text(cc.read_text().replace("level: INFO", "level: DEBUG").replace(
        '"${CALLCENTER_AMI_SECRET:-}"', '"${CALLCENTER_AMI_SECRET:-other-secret}"'))
    assert store.reload().applied
    diff = diff_configs(old, store.config)
    assert diff.agents.removed == ("emily",)
    assert diff.settings == ("ami.secret", "logging.level")
    assert diff.needs_restart == ("ami.secret",)
    assert "other-secret" not in diff.summary()
    assert diff_configs(store.config, store.config).empty


def test_apply_text_restores_file_if_reload_fails(
    cfg_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulate a file changing between the check and the reload: the check passes,
    # the reload does not, and the edited file must be put back.
    store = ConfigStore.open(cfg_dir, env={})
    before = store.config
    path = cfg_dir / "queues.yaml"
    original = path.read_bytes()
    monkeypatch.setattr("callcenter.config.store.validate_text", lambda *a, **k: [])

    issues = store.apply_text("queues.yaml", "queues: {}\n", actor="alice")

    assert [i.path for i in issues if i.is_error] == ["queues"]
    assert path.read_bytes() == original
    assert store.config is before


def test_first_load_diff_lists_everything(cfg_dir: Path) -> None:
    store = ConfigStore.open(cfg_dir, env={})
    diff = diff_configs(None, store.config)
    assert diff.queues.added == ("sales", "support", "vip")
    assert len(diff.agents.added) == 8
