"""The shipped sample configuration loads cleanly and says what the lead relies on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from callcenter.config import check_config, load_config
from callcenter.config.models import LanguageNode, MenuNode, QueueNode

SAMPLES = Path(__file__).resolve().parents[3] / "config"


def test_samples_load_without_warnings() -> None:
    result = load_config(SAMPLES, env={})
    assert result.warnings == []
    config = result.config
    assert config.directory == SAMPLES.absolute()
    assert list(config.queues) == ["sales", "support", "vip"]
    assert config.callcenter.asterisk.inbound_numbers == ("4008001234", "4008009999")
    assert config.ivr.entry_for("4008009999") == ("to_vip", "zh")  # the VIP line: no menu
    assert config.ivr.entry_for("4008001234") == ("welcome", "zh")


def test_samples_shape() -> None:
    config = load_config(SAMPLES, env={}).config
    sales, support, vip = (config.queues[q] for q in ("sales", "support", "vip"))
    assert sales.channels == ("voice", "chat") and sales.strategy == "longest_idle"
    assert support.strategy == "best_skill" and len(support.escalation) == 3
    assert support.escalation[-1].effective_action == "overflow"
    assert vip.channels == ("voice",) and vip.strategy in ("ring_all", "linear")
    assert vip.priority > max(sales.priority, support.priority)

    workers = [a for a in config.agents if a.role == "agent"]
    assert len(workers) == 6
    assert [a.extension for a in workers] == [f"100{i}" for i in range(1, 7)]
    assert [a.extension for a in config.supervisors] == ["1090"]
    assert [a.role for a in config.agents].count("admin") == 1
    assert config.agent_by_extension("1003").id == "wangfang"

    ivr = config.ivr
    entry = ivr.nodes[ivr.entry]
    assert isinstance(entry, LanguageNode) and set(entry.options.values()) == {"zh", "en"}
    main = next(n for n in ivr.nodes.values() if isinstance(n, MenuNode))
    assert set(main.options) >= {"0", "1", "2", "3"}
    queues = {ivr.nodes[t].queue for t in main.options.values()
              if isinstance(ivr.nodes[t], QueueNode)}
    assert {"sales", "support"} <= queues


def test_relative_paths_resolve_against_install_root() -> None:
    config = load_config(SAMPLES, env={}).config
    root = SAMPLES.absolute().parent
    assert config.callcenter.storage.path == root / "var" / "callcenter.sqlite3"
    assert config.callcenter.recordings.directory == root / "var" / "recordings"


def test_business_hours() -> None:
    hours = load_config(SAMPLES, env={}).config.queues["sales"].business_hours
    assert hours is not None
    tz = ZoneInfo("Asia/Shanghai")
    assert hours.is_open(datetime(2026, 3, 4, 10, 0, tzinfo=tz))  # Wednesday
    assert not hours.is_open(datetime(2026, 3, 4, 18, 0, tzinfo=tz))
    assert not hours.is_open(datetime(2026, 3, 8, 12, 0, tzinfo=tz))  # Sunday
    assert not hours.is_open(datetime(2026, 10, 1, 10, 0, tzinfo=tz))  # holiday


def test_eligible_agents() -> None:
    config = load_config(SAMPLES, env={}).config
    vip = {a.id for a in config.eligible_agents("vip")}
    assert "zhaolei" in vip and "lina" not in vip
    # chat-only agent listed explicitly; never offered voice-only queues
    assert "chenjing" in {a.id for a in config.eligible_agents("sales")}
    assert "chenjing" not in vip
    assert "admin" not in {a.id for q in config.queues for a in config.eligible_agents(q)}


def test_check_config_ok() -> None:
    code, text = check_config(SAMPLES, env={})
    assert code == 0, text
    assert text.startswith("config OK: 3 queues (sales, support, vip), 6 agents, 1 supervisor")
    assert "400 numbers 4008001234, 4008009999" in text


def test_config_is_frozen() -> None:
    config = load_config(SAMPLES, env={}).config
    try:
        config.queues["sales"].priority = 1  # type: ignore[misc]
    except Exception as exc:
        assert "frozen" in str(exc)
    else:
        raise AssertionError("Queue is mutable")


def test_check_config_missing_directory(tmp_path: Path) -> None:
    code, text = check_config(tmp_path / "nope")
    assert code == 2 and "nope" in text
