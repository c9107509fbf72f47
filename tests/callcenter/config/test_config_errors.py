"""Broken configurations: each error names the right file, line and column.

Every test copies the samples, breaks one thing by editing text, and checks the
issue points at the edited spot (``edit`` returns its line and column).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from callcenter.config import ConfigError, ConfigIssue, check_config, load_config

Errors = Callable[[], list[ConfigIssue]]


def only(issues: list[ConfigIssue], filename: str) -> ConfigIssue:
    """The single issue of ``issues``, which must be in ``filename``."""
    assert len(issues) == 1, "\n".join(map(str, issues))
    issue = issues[0]
    assert issue.filename == filename, str(issue)
    return issue


def test_unknown_key_did_you_mean(edit, errors: Errors) -> None:
    line, col = edit("queues.yaml", "    priority: 10\n", "    prority: 10\n", offset=4)
    issue = only(errors(), "queues.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "queues.sales.prority"
    assert "unknown key 'prority'" in issue.message
    assert "did you mean 'priority'?" in issue.message
    assert "allowed: name, channels, strategy" in issue.message


def test_strategy_typo(edit, errors: Errors, cfg_dir: Path) -> None:
    line, col = edit("queues.yaml", "strategy: longest_idle", "strategy: longest_idel", offset=10)
    issue = only(errors(), "queues.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert str(issue) == (
        f"{cfg_dir}/queues.yaml:{line}:{col}: queues.sales.strategy: 'longest_idel' is not a "
        "valid strategy; allowed: longest_idle, round_robin, fewest_tasks, best_skill, random, "
        "weighted_random, linear, ring_all (did you mean 'longest_idle'?)"
    )


def test_wrong_type(edit, errors: Errors) -> None:
    line, col = edit("queues.yaml", "service_level_seconds: 20 ", "service_level_seconds: soon ",
                     offset=23)
    issue = only(errors(), "queues.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "queues.sales.service_level_seconds"
    assert issue.message == "expected a whole number, got 'soon'"


def test_wrong_type_mapping_expected(edit, errors: Errors) -> None:
    line, _ = edit("callcenter.yaml", "logging:\n  level: INFO", "logging: INFO")
    issue = only(errors(), "callcenter.yaml")
    assert (issue.line, issue.column) == (line, len("logging: ") + 1)
    assert issue.path == "logging" and "expected a mapping" in issue.message


def test_out_of_range(edit, errors: Errors) -> None:
    line, col = edit("callcenter.yaml", "  port: 5038", "  port: 70000", offset=8)
    issue = only(errors(), "callcenter.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "ami.port"
    assert issue.message == "70000 is out of range; must be at most 65535"


def test_skill_level_out_of_range(edit, errors: Errors) -> None:
    line, col = edit("agents.yaml", "skills: {support: 50}", "skills: {support: 500}", offset=18)
    issue = only(errors(), "agents.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "agents[3].skills.support" and "at most 100" in issue.message


def test_yaml_syntax_error(edit, errors: Errors) -> None:
    line, col = edit("queues.yaml", "strategy: longest_idle", "strategy: longest_idle: x",
                     offset=len("strategy: longest_idle"))
    issue = only(errors(), "queues.yaml")
    assert issue.line == line and issue.column == col
    assert issue.message.startswith("YAML syntax error:")


def test_yaml_syntax_error_unclosed_bracket(edit, errors: Errors) -> None:
    line, _ = edit("callcenter.yaml", "  port: 5038", "  port: [5038")
    issue = only(errors(), "callcenter.yaml")
    # The parser notices the missing ']' at the next line's ':'.
    assert issue.line == line + 1 and "YAML syntax error" in issue.message


def test_duplicate_yaml_key_without_values(edit, errors: Errors) -> None:
    line, col = edit("callcenter.yaml", "  action_timeout_seconds: 10",
                     "  secret: hunter2-secret\n  action_timeout_seconds: 10", offset=2)
    issue = only(errors(), "callcenter.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.message == "key 'secret' appears twice in the same mapping"
    assert "hunter2" not in str(issue) and "callcenter" not in issue.message


def test_ivr_routes_to_missing_queue(edit, errors: Errors) -> None:
    line, col = edit("ivr.yaml", "    queue: sales", "    queue: salse", offset=11)
    issue = only(errors(), "ivr.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "nodes.to_sales.queue"
    assert "queue 'salse' does not exist" in issue.message
    assert "did you mean 'sales'?" in issue.message


def test_menu_option_to_missing_node(edit, errors: Errors) -> None:
    line, col = edit("ivr.yaml", '      "3": order_number', '      "3": order_numbr', offset=11)
    issues = errors()
    issue = only(issues, "ivr.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "nodes.main.options.3"
    assert "node 'order_numbr' does not exist" in issue.message
    assert "did you mean 'order_number'?" in issue.message


def test_invalid_node_type(edit, errors: Errors) -> None:
    line, col = edit("ivr.yaml", "    type: collect", "    type: colect", offset=10)
    issue = only(errors(), "ivr.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "nodes.order_number.type"
    assert "did you mean 'collect'?" in issue.message


def test_unknown_key_in_ivr_node(edit, errors: Errors) -> None:
    line, col = edit("ivr.yaml", "    min_digits: 8", "    min_digit: 8", offset=4)
    issue = only(errors(), "ivr.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert "allowed: type, prompt, variable, min_digits" in issue.message
    assert "did you mean 'min_digits'?" in issue.message


def test_prompt_missing_a_language(edit, errors: Errors) -> None:
    edit("ivr.yaml", "      en: Please enter your order number, followed by the hash key.\n", "")
    line, col = edit("ivr.yaml", "    prompt:\n      zh: 请输入", "    prompt:\n      zh: 请输入",
                     offset=4)
    issue = only(errors(), "ivr.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "nodes.order_number.prompt" and "no text for en" in issue.message


def test_duplicate_extension(edit, errors: Errors, cfg_dir: Path) -> None:
    first = (cfg_dir / "agents.yaml").read_text().count("\n", 0, (
        cfg_dir / "agents.yaml").read_text().index('extension: "1001"')) + 1
    line, col = edit("agents.yaml", 'extension: "1002"', 'extension: "1001"', offset=11)
    issue = only(errors(), "agents.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "agents[1].extension"
    assert f"'1001' is already used by zhangwei (line {first})" in issue.message


def test_duplicate_agent_id(edit, errors: Errors) -> None:
    line, col = edit("agents.yaml", "- id: lina", "- id: ZhangWei", offset=6)
    issue = only(errors(), "agents.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert "'ZhangWei' is already used by agents[0]" in issue.message


def test_agent_in_missing_team(edit, errors: Errors) -> None:
    line, col = edit("agents.yaml", "    team: east\n    languages: [zh]",
                     "    team: esat\n    languages: [zh]", offset=10)
    issue = only(errors(), "agents.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "agents[1].team"
    assert "team 'esat' does not exist; teams: east, north (did you mean 'east'?)" in issue.message


def test_agent_in_missing_queue(edit, errors: Errors) -> None:
    line, col = edit("agents.yaml", "queues: [sales, support]", "queues: [sales, suport]",
                     offset=16)
    issue = only(errors(), "agents.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "agents[4].queues[1]" and "did you mean 'support'?" in issue.message


def test_supervisor_of_missing_team(edit, errors: Errors) -> None:
    line, col = edit("agents.yaml", "teams_supervised: [east, north]",
                     "teams_supervised: [east, south]", offset=25)
    issue = only(errors(), "agents.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "agents[6].teams_supervised[1]"


def test_missing_required_key(edit, errors: Errors) -> None:
    line, col = edit("agents.yaml", "  - id: lina\n    name: 李娜\n", "  - id: lina\n", offset=4)
    issue = only(errors(), "agents.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "agents[1].name" and issue.message == "is required but missing"


def test_overflow_to_missing_queue(edit, errors: Errors) -> None:
    line, col = edit("queues.yaml", "overflow_queue: sales", "overflow_queue: saless", offset=16)
    issue = only(errors(), "queues.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "queues.support.escalation[2].overflow_queue"
    assert "overflow queue 'saless' does not exist" in issue.message


def test_ring_all_on_chat_queue(edit, errors: Errors, cfg_dir: Path) -> None:
    edit("queues.yaml", "channels: [voice]              #", "channels: [voice, chat]        #")
    text = (cfg_dir / "queues.yaml").read_text()
    index = text.index("strategy: ring_all") + len("strategy: ")
    issue = only(errors(), "queues.yaml")
    assert issue.line == text.count("\n", 0, index) + 1
    assert issue.column == index - text.rfind("\n", 0, index)
    assert issue.path == "queues.vip.strategy"
    assert "only works for voice-only queues" in issue.message


def test_missing_env_var(edit, errors: Errors) -> None:
    line, col = edit("callcenter.yaml", 'secret: "${CALLCENTER_AMI_SECRET:-}"',
                     'secret: "${CALLCENTER_TEST_UNSET}"', offset=8)
    issue = only(errors(), "callcenter.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "ami.secret"
    assert "environment variable CALLCENTER_TEST_UNSET is not set" in issue.message


def test_env_var_expanded_in_secret_fields_only(edit, cfg_dir: Path) -> None:
    edit("callcenter.yaml", '  secret: "${CALLCENTER_AMI_SECRET:-}"',
         '  secret: "${CALLCENTER_TEST_AMI:-fallback-secret}"')
    edit("agents.yaml", "  east: {name: 华东组 East}", '  east: {name: "${CALLCENTER_TEST_AMI}"}')
    assert load_config(cfg_dir, env={}).config.callcenter.ami.secret.get_secret_value() == \
        "fallback-secret"
    config = load_config(cfg_dir, env={"CALLCENTER_TEST_AMI": "from-env"}).config
    assert config.callcenter.ami.secret.get_secret_value() == "from-env"
    # Not a secret field: the text as written, never the environment's value.
    assert config.teams["east"].name == "${CALLCENTER_TEST_AMI}"
    # A number field with a reference is a plain error, not a lookup.
    edit("callcenter.yaml", "  port: 5038", "  port: ${CALLCENTER_TEST_AMI_PORT:-5039}")
    with pytest.raises(ConfigError, match=r"ami.port: expected a whole number"):
        load_config(cfg_dir, env={"CALLCENTER_TEST_AMI_PORT": "6000"})


def test_require_disposition_without_dispositions(edit, errors: Errors) -> None:
    # An error rather than a warning: agents could never finish wrap-up.
    line, _ = edit("queues.yaml", "    strategy: ring_all\n",
                   "    strategy: ring_all\n    require_disposition: true\n", offset=23)
    issue = only(errors(), "queues.yaml")
    assert (issue.line, issue.column) == (line, 26)
    assert issue.path == "queues.vip.require_disposition"
    assert "no dispositions" in issue.message


def test_skill_nobody_has_is_a_warning(edit, cfg_dir: Path) -> None:
    line, col = edit("queues.yaml", "      vip: 60", "      cantonese: 60", offset=6)
    result = load_config(cfg_dir, env={})
    warning = only(result.warnings, "queues.yaml")
    assert warning.severity == "warning"
    assert (warning.line, warning.column) == (line, col)
    assert "no agent has skill 'cantonese'" in warning.message
    code, text = check_config(cfg_dir, env={})
    assert code == 0
    assert f"queues.yaml:{line}:{col}: warning: queues.vip.skills.cantonese" in text


def test_all_errors_in_all_files_reported(edit, errors: Errors) -> None:
    edit("callcenter.yaml", "level: INFO", "level: LOUD")
    edit("queues.yaml", "strategy: longest_idle", "strategy: fastest")
    edit("agents.yaml", "    team: east\n    languages: [zh]",
         "    team: west\n    languages: [zh]")
    edit("ivr.yaml", "    next: opening_hours", "    next: opening_hour")
    issues = errors()
    assert [i.filename for i in issues] == ["callcenter.yaml", "queues.yaml", "agents.yaml",
                                            "ivr.yaml"]


def test_missing_file_and_empty_file(cfg_dir: Path, errors: Errors) -> None:
    (cfg_dir / "ivr.yaml").unlink()
    (cfg_dir / "queues.yaml").write_text("# nothing yet\n")
    issues = errors()
    by_file = {i.filename: i for i in issues}
    assert by_file["ivr.yaml"].message == "file not found" and by_file["ivr.yaml"].line is None
    assert by_file["queues.yaml"].path == "queues"
    assert by_file["queues.yaml"].message == "is required but missing"


def test_top_level_must_be_mapping(cfg_dir: Path, errors: Errors) -> None:
    (cfg_dir / "agents.yaml").write_text("- id: a\n")
    issue = only(errors(), "agents.yaml")
    assert (issue.line, issue.column) == (1, 1) and "mapping" in issue.message


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('        mon: ["09:00-18:00"]', '        mon: ["19:00-18:00"]', "ends before it starts"),
        ("timezone: Asia/Shanghai\n      weekly", "timezone: Asia/Shangai\n      weekly",
         "not a known time zone"),
    ],
)
def test_business_hours_errors(edit, errors: Errors, old: str, new: str, needle: str) -> None:
    line, _ = edit("queues.yaml", old, new)
    issues = errors()
    assert issues[0].line == line and needle in issues[0].message


def test_numbers_written_without_quotes(edit, cfg_dir: Path) -> None:
    edit("agents.yaml", 'extension: "1003"', "extension: 01003")
    edit("ivr.yaml", '      "1": to_sales', "      1: to_sales")
    config = load_config(cfg_dir, env={}).config
    assert config.agent("wangfang").extension == "01003"  # the leading zero survives
    assert config.ivr.nodes["main"].options["1"] == "to_sales"


def test_any_language_needs_language_first(edit, errors: Errors, cfg_dir: Path) -> None:
    edit("queues.yaml", "      - after_seconds: 120\n        priority_boost: 5\n",
         "      - after_seconds: 20\n        any_language: true\n"
         "      - after_seconds: 120\n        priority_boost: 5\n")
    issue = only(errors(), "queues.yaml")
    assert issue.path == "queues.sales.escalation"
    assert "language_first: true" in issue.message
    edit("queues.yaml", "    delay_seconds: 0\n",
         "    delay_seconds: 0\n    language_first: true\n")
    sales = load_config(cfg_dir, env={}).config.queues["sales"]
    assert sales.language_first and sales.escalation[0].any_language


def test_reoffer_pause_must_be_a_positive_number_of_seconds_or_null(edit, errors: Errors,
                                                                     cfg_dir: Path) -> None:
    from callcenter.routing.mapping import queue_model

    line, col = edit("queues.yaml", "reoffer_after_seconds: 5 ", "reoffer_after_seconds: 0 ",
                     offset=23)
    issue = only(errors(), "queues.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "queues.sales.reoffer_after_seconds"
    assert "at least 1" in issue.message
    edit("queues.yaml", "reoffer_after_seconds: 0 ", "reoffer_after_seconds: null ")
    config = load_config(cfg_dir, env={}).config
    assert config.queues["sales"].reoffer_after_seconds is None  # declines last the visit
    assert queue_model("sales", config.queues["sales"]).reoffer_after_seconds is None
    assert queue_model("support", config.queues["support"]).reoffer_after_seconds == 5


def test_reconcile_period_is_a_positive_number_of_seconds(edit, errors: Errors,
                                                          cfg_dir: Path) -> None:
    line, col = edit("callcenter.yaml", "reconcile_seconds: 30 ", "reconcile_seconds: 0 ",
                     offset=19)
    issue = only(errors(), "callcenter.yaml")
    assert (issue.line, issue.column) == (line, col)
    assert issue.path == "asterisk.reconcile_seconds" and "at least 1" in issue.message
    edit("callcenter.yaml", "reconcile_seconds: 0 ", "reconcile_seconds: 5 ")
    assert load_config(cfg_dir, env={}).config.callcenter.asterisk.reconcile_seconds == 5


def test_sip_bind_everywhere_needs_a_public_address(edit, errors: Errors, cfg_dir: Path) -> None:
    edit("callcenter.yaml", "  sip_bind: 127.0.0.1", "  sip_bind: 0.0.0.0")
    issues = errors()
    assert any(i.path == "asterisk" and "set public_address" in i.message for i in issues)
    edit("callcenter.yaml", "  public_address: null", "  public_address: 192.168.1.10")
    sip = [i for i in errors() if "sip_password" in i.path]  # shipped SIP passwords now
    assert sip and all("asterisk.sip_bind is 0.0.0.0" in i.message for i in sip)
    assert not any(i.path.endswith(".password") for i in errors())  # consoles: loopback


def test_sip_bind_is_an_ipv4_address(edit, errors: Errors) -> None:
    edit("callcenter.yaml", "  sip_bind: 127.0.0.1", "  sip_bind: localhost")
    issue = only(errors(), "callcenter.yaml")
    assert issue.path == "asterisk.sip_bind" and "not an IPv4 address" in issue.message
