"""Quality inspection on hand-written calls, with hand-checked flags and scores;
rule validation; the sample YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from callcenter.config.quality_file import QualityConfig, QueueRules, TalkShareRule
from recordings.quality import Inspection, inspect
from recordings.transcript import Transcript

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "quality.yaml"

RULES = QueueRules.model_validate({
    "required": [
        {"name": "greeting", "phrases": ["您好", "你好"], "within_first_seconds": 10},
        {"name": "identity_check", "phrases": ["核实", "身份证"], "deduction": 15},
        {"name": "closing", "phrases": ["再见", "感谢您的来电"], "within_last_seconds": 20},
    ],
    "forbidden": {"phrases": ["不知道", "没办法"], "deduction": 20},
    "talk_share": {"speaker": "agent", "min": 0.3, "max": 0.7},
    "silence": {"max_seconds": 5, "deduction": 5},
    "overtalk": {"min_seconds": 0.5, "max_seconds": 2, "max_count": 1, "deduction": 5},
    "hold": {"max_seconds": 30, "max_total_seconds": 100, "deduction": 5},
})

LINES = [
    ("agent", 0.0, 3.0, "您好，这里是客服中心。"),  # 0
    ("caller", 3.5, 8.0, "我的宽带又断了，怎么回事？"),  # 1
    ("agent", 7.0, 10.0, "这个我也不知道，您先重启一下。"),  # 2  forbidden; overtalk 7-8
    ("caller", 9.0, 12.0, "重启过了，没办法啊。"),  # 3  caller may say it; overtalk 9-10
    ("agent", 20.0, 24.0, "我帮您核实一下身份证信息。"),  # 4  after 8 s of silence (12-20)
    # on hold 30-75; silence 24-30 (6 s) counts, 75-78 (3 s) does not
    ("agent", 78.0, 80.0, "让您久等了，已经修复。"),  # 5
    ("caller", 80.5, 82.0, "好的。"),  # 6
    ("agent", 82.5, 85.0, "感谢您的来电，再见。"),  # 7
]
HOLDS = [(30.0, 75.0)]


def flags_by_code(result: Inspection) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in result.flags:
        out.setdefault(f.code, []).append(f)
    return out


def test_hand_checked_call() -> None:
    result = inspect(Transcript.from_lines(LINES), RULES, holds=HOLDS)
    assert result.codes() == ["forbidden:不知道", "silence", "silence", "overtalk_count",
                              "hold_long"]
    flags = flags_by_code(result)
    [forbidden] = flags["forbidden:不知道"]
    assert [u.index for u in forbidden.utterances] == [2]
    assert forbidden.utterances[0].speaker == "agent" and forbidden.deduction == 20
    first, second = flags["silence"]
    assert (first.start, first.end) == (12.0, 20.0)
    assert [u.index for u in first.utterances] == [3, 4]
    assert (second.start, second.end) == (24.0, 30.0)  # the hold is not dead air
    assert [u.index for u in second.utterances] == [4, 5]
    [overtalk] = flags["overtalk_count"]
    assert overtalk.details["episodes"] == [[7.0, 8.0], [9.0, 10.0]]
    assert [u.index for u in overtalk.utterances] == [1, 2, 3]
    [hold] = flags["hold_long"]
    assert (hold.start, hold.end) == (30.0, 75.0)
    assert [u.index for u in hold.utterances] == [4, 5]
    # 100 - 20 (forbidden) - 5 - 5 (silences) - 5 (overtalk count) - 5 (hold)
    assert result.score == 60 and not result.passed
    # agent 3+3+4+2+2.5 = 14.5 s, caller 4.5+3+1.5 = 9 s
    assert result.metrics["agent_share"] == pytest.approx(14.5 / 23.5, abs=1e-3)
    assert result.metrics["overtalk_count"] == 2 and result.metrics["hold_seconds"] == 45
    assert result.metrics["longest_silence"] == 8.0
    assert Inspection.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_missing_and_out_of_order_steps() -> None:
    lines = list(LINES)
    lines[0] = ("agent", 0.0, 3.0, "这里是客服中心。")  # no greeting
    lines[4] = ("agent", 20.0, 24.0, "稍等一下。")  # identity check moved to the very end
    lines[7] = ("agent", 82.5, 85.0, "再见。我核实过了。")
    lines[5] = ("agent", 78.0, 80.0, "感谢您的来电。")  # closing before the identity check
    result = inspect(Transcript.from_lines(lines), RULES, holds=HOLDS)
    flags = flags_by_code(result)
    [missing] = flags["missing:greeting"]
    assert [u.index for u in missing.utterances] == [0, 2]  # what the agent said instead
    assert missing.deduction == 10
    [order] = flags["out_of_order:closing"]
    assert [u.index for u in order.utterances] == [5, 7]
    assert order.deduction == 5 and "identity_check" in order.message
    # 100 - 10 - 5 - 20 - 5 - 5 - 5 - 5
    assert result.score == 45


def test_talk_share_and_long_overtalk_in_english() -> None:
    rules = QueueRules.model_validate({
        "required": [{"name": "greeting", "phrases": ["thank you for calling"],
                      "within_first_seconds": 5}],
        "forbidden": {"phrases": ["calm down"], "deduction": 30, "max_deduction": 40},
        "talk_share": {"min": 0.3, "max": 0.6, "deduction": 10},
        "overtalk": {"max_seconds": 2},
    })
    t = Transcript.from_lines([
        ("agent", 0, 20, "Thank you for calling. Let me explain our whole refund policy..."),
        ("caller", 17.5, 22, "Wait, I just want my money back!"),
        ("agent", 22, 40, "Calm down, sir. As I was saying the policy says..."),
        ("agent", 40.2, 45, "So please calm   down and listen."),
    ])
    result = inspect(t, rules)
    assert result.codes() == ["forbidden:calm down", "forbidden:calm down",
                              "talk_share_high:agent", "overtalk_long"]
    forbidden = flags_by_code(result)["forbidden:calm down"]
    assert [f.deduction for f in forbidden] == [30, 10]  # capped at 40 in all
    share = flags_by_code(result)["talk_share_high:agent"][0]
    # agent 0-20 and 22-45 (the 0.2 s pause is bridged) = 43 s; caller 4.5 s
    assert share.details["share"] == pytest.approx(43 / 47.5, abs=1e-3)
    assert [u.index for u in share.utterances] == [0, 2, 3]  # the agent's longest
    long_overtalk = flags_by_code(result)["overtalk_long"][0]
    assert (long_overtalk.start, long_overtalk.end) == (17.5, 20.0)
    assert [u.index for u in long_overtalk.utterances] == [0, 1]
    # 100 - 30 - 10 (forbidden, capped at 40) - 10 (talk share) - 5 (overtalk); greeting said
    assert result.score == 45


def test_score_never_below_zero() -> None:
    rules = QueueRules.model_validate({"forbidden": {"phrases": ["no"], "deduction": 60}})
    t = Transcript.from_lines([("agent", i, i + 1, "no") for i in range(3)])
    assert inspect(t, rules).score == 0


def test_clean_call_scores_100() -> None:
    t = Transcript.from_lines([
        ("agent", 0, 3, "您好，欢迎致电。"), ("caller", 3.5, 6, "我想查一下账单。"),
        ("agent", 6.5, 9, "好的，先核实一下您的身份证后四位。"), ("caller", 9.5, 11, "1234。"),
        ("agent", 11.5, 14, "已经查到了，感谢您的来电，再见。"),
    ])
    result = inspect(t, RULES)
    assert result.flags == () and result.score == 100 and result.passed


@pytest.mark.parametrize(("rules", "message"), [
    ({"talk_share": {"min": 0.7, "max": 0.3}}, "must be below max"),
    ({"required": [{"name": "greeting", "phrases": []}]}, "at least one phrase"),
    ({"required": [{"name": "greeting", "phrases": ["hi", " "]}]}, "no empty phrase"),
    ({"silence": {"max_seconds": 5, "deduct": 3}}, "Extra inputs are not permitted"),
    ({"overtalk": {"min_seconds": 1}}, "max_seconds, max_count or both"),
    ({"required": [{"name": "a", "phrases": ["x"]}, {"name": "a", "phrases": ["y"]}]},
     "duplicate step names"),
])
def test_rules_are_validated(rules: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        QueueRules.model_validate(rules)


def test_sample_yaml_is_valid_and_shows_every_rule() -> None:
    data = YAML(typ="safe").load(SAMPLE.read_text(encoding="utf-8"))
    config = QualityConfig.model_validate(data)
    default = config.rules_for("support")  # no block of its own: the default
    assert [r.name for r in default.required] == ["greeting", "identity_check", "closing"]
    for part in ("forbidden", "talk_share", "silence", "overtalk", "hold"):
        assert getattr(default, part) is not None, part
    phrases = [p for r in default.required for p in r.phrases] + default.forbidden.phrases
    assert any(p.isascii() for p in phrases) and any(not p.isascii() for p in phrases)
    assert config.rules_for("vip").pass_score == 90
    assert config.rules_for("sales").topics["pricing"][:2] == ["价格", "多少钱"]
    assert set(default.topics) == {"order_status", "refund", "billing", "complaint"}
    assert isinstance(config.rules_for(None).talk_share, TalkShareRule)


def test_vosk_style_spaced_chinese_matches_phrases() -> None:
    # vosk's Chinese models put a space between words and write no punctuation.
    t = Transcript.from_lines([
        ("agent", 0, 3, "您 好 欢迎 致电"), ("caller", 3.5, 6, "我 想 查 一下 账单"),
        ("agent", 6.5, 9, "先 核实 一下 您 的 身份 证 后 四 位"),
        ("caller", 9.5, 11, "一 二 三 四"),
        ("agent", 11.5, 14, "这个 我 不 知道 感谢 您 的 来电 再见"),
    ])
    result = inspect(t, RULES)
    assert result.codes() == ["forbidden:不知道"]
    assert result.flags[0].utterances[0].index == 4
