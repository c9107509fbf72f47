"""Entities, sentiment, summary and masking on hand-written transcripts
(expected values checked by hand, not produced by the code under test)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from recordings.entities import extract_entities, parse_chinese_number, resident_id_check
from recordings.masking import mask_summary, mask_text, mask_transcript, mask_value
from recordings.sentiment import score_sentiment
from recordings.summary import Summary, summarize
from recordings.transcript import Transcript

# 11010519491231002X: the GB 11643 example. Weighted sum 167, 167 mod 11 = 2 -> "X".
VALID_ID = "11010519491231002X"
INVALID_ID = "110105194912310021"  # same number, wrong check character

ZH_CALL = Transcript.from_lines([
    ("agent", 0.0, 3.0, "您好，欢迎致电星辰商城客服，我是工号1024的小李，请问有什么可以帮您？"),
    ("caller", 3.5, 9.0, "喂，你好。我的订单号是SO20261130001，买的空调到现在还没收到！"),
    ("agent", 9.5, 12.0, "非常抱歉，请您提供一下下单的手机号码。"),
    ("caller", 12.5, 16.0, "13812345678。你们这个物流太慢了，我已经等了十天了，太过分了！"),
    ("agent", 16.5, 20.0, "好的，我帮您查一下。为了核实身份，请报一下身份证号。"),
    ("caller", 20.5, 26.0, f"{VALID_ID}。要是明天还不到，我就要投诉，还要退款，一共是3299元。"),
    ("agent", 26.5, 31.0, "明白，我已经为您加急，预计11月30日前送达，如果没到可以全额退款。"),
    ("caller", 31.5, 33.0, f"对了，我老婆的身份证是{INVALID_ID}，座机010-62345678。"),
    ("agent", 33.5, 36.0, "感谢您的来电，祝您生活愉快，再见。"),
])

EN_CALL = Transcript.from_lines([
    ("agent", 0.0, 3.0, "Thank you for calling Acme support, my name is Dana."),
    ("caller", 3.5, 9.0, "Hi. I'm calling because I was charged twice for order number AB-778812."),
    ("agent", 9.5, 12.0, "I'm sorry about that. Can I have the phone number on the account?"),
    ("caller", 12.5, 16.0,
     "It's (415) 555-0134. This is ridiculous, it happened before and I'm not happy!"),
    ("agent", 16.5, 20.0, "I see two charges of $49.99 on November 3, 2026."),
    ("caller", 20.5, 26.0, "I want a refund of the duplicate charge by tomorrow or I will file a "
                           "complaint."),
    ("agent", 26.5, 31.0, "I've issued a refund of $49.99 to your card."),
    ("caller", 31.5, 33.0, "Okay, thanks."),
])

TOPICS = {
    "delivery": ["物流", "快递", "送达", "还没收到", "delivery", "shipping"],
    "refund": ["退款", "退钱", "refund", "money back"],
    "billing": ["扣费", "发票", "charged twice", "duplicate charge", "invoice"],
}


def kinds_values(summary: Summary) -> list[tuple[str, str]]:
    return [(e.kind, e.value) for e in summary.entities]


def test_chinese_summary() -> None:
    s = summarize(ZH_CALL, TOPICS, reference_date=dt.date(2026, 11, 25))
    assert s.language == "zh"
    assert s.reason is not None
    assert s.reason.text == "我的订单号是SO20261130001，买的空调到现在还没收到！"
    assert s.reason.evidence[0].utterance == 1 and "没收到" in s.reason.evidence[0].text
    assert kinds_values(s) == [
        ("order_number", "SO20261130001"),
        ("phone", "13812345678"),
        ("id_number", VALID_ID),
        ("date", "2026-11-26"),  # 明天, the day after the call
        ("amount", "CNY 3299.00"),
        ("date", "2026-11-30"),
        ("id_number", INVALID_ID),
        ("phone", "01062345678"),
    ]
    ids = s.entities_of("id_number")
    assert [e.valid for e in ids] == [True, False]
    assert "expected X" in ids[1].detail
    assert [e.evidence.utterance for e in s.entities] == [1, 3, 5, 5, 5, 6, 7, 7]
    assert s.entities_of("phone")[1].detail == "landline"
    assert [(t.name, t.score) for t in s.topics] == [("delivery", 2.5), ("refund", 1.5)]
    assert {e.text for e in s.topics[0].evidence} == {"还没收到", "物流", "送达"}
    assert s.sentiment.angry and s.sentiment.label == "negative"
    rules = {e.rule for e in s.sentiment.evidence}
    assert {"anger:太过分", "anger:投诉", "positive:谢谢"} - rules == {"positive:谢谢"}
    assert {"anger:太过分", "anger:投诉", "negative:太慢"} <= rules
    assert 2 <= len(s.key_sentences) <= 3
    assert all(k.evidence.utterance is not None for k in s.key_sentences)
    assert any("退款" in k.text for k in s.key_sentences)
    assert not any(k.text.startswith("您好，欢迎致电") for k in s.key_sentences)


def test_english_summary() -> None:
    s = summarize(EN_CALL, TOPICS)
    assert s.language == "en"
    assert s.reason is not None and "charged twice" in s.reason.text
    assert s.reason.evidence[0].rule == "cue:calling because"
    assert kinds_values(s) == [
        ("order_number", "AB-778812"),
        ("phone", "4155550134"),
        ("amount", "USD 49.99"),
        ("date", "2026-11-03"),
        ("date", "+1d"),  # tomorrow, no reference date given
        ("amount", "USD 49.99"),
    ]
    assert [(t.name, t.score) for t in s.topics] == [("billing", 2.0), ("refund", 1.5)]
    assert s.sentiment.angry and s.sentiment.label == "negative"
    rules = [e.rule for e in s.sentiment.evidence]
    assert rules == ["anger:ridiculous", "negative (negated):happy", "anger:complaint",
                     "positive:thanks"]
    assert any("refund" in k.text for k in s.key_sentences)


def test_summary_round_trips_through_json() -> None:
    s = summarize(ZH_CALL, TOPICS, reference_date=dt.date(2026, 11, 25))
    assert Summary.from_dict(json.loads(json.dumps(s.to_dict(), ensure_ascii=False))) == s


def test_calm_call_is_not_angry_and_negations_flip() -> None:
    calm = Transcript.from_lines([
        ("caller", 0, 3, "你好，我想咨询一下会员积分怎么用。"),
        ("agent", 3, 6, "好的，积分可以在下单时抵扣。"),
        ("caller", 6, 9, "明白了，没问题，非常感谢，服务很好。"),
    ])
    s = summarize(calm)
    assert not s.sentiment.angry and s.sentiment.label == "positive"
    assert s.reason is not None and s.reason.text == "我想咨询一下会员积分怎么用。"
    assert ("positive (negated):问题" in {e.rule for e in s.sentiment.evidence})
    unhappy = score_sentiment([(0, "我对这个处理结果不满意")])
    assert unhappy.label == "negative" and not unhappy.angry
    assert unhappy.hits[0].negated and unhappy.hits[0].term == "满意"
    not_angry = score_sentiment([(0, "I'm not angry, just asking.")])
    assert not not_angry.angry and not_angry.anger == 0


def test_spoken_digits_from_a_recognizer_become_entities() -> None:
    vosk_like = Transcript.from_lines([
        ("caller", 0, 5, "我 的 手机 号 是 幺 三 八 一 二 三 四 五 六 七 八"),
        ("caller", 5, 9, "my account number is six two two two zero two zero two"),
    ])
    s = summarize(vosk_like)
    assert kinds_values(s) == [("phone", "13812345678"), ("account_number", "62220202")]


@pytest.mark.parametrize(("text", "value"), [
    ("十一", 11), ("三十", 30), ("一百二十", 120), ("两千五", 2500), ("一万二", 12000),
    ("一千零五", 1005), ("三点五", 3.5), ("二零二六", 2026)])
def test_chinese_numbers(text: str, value: float) -> None:
    assert parse_chinese_number(text) == value


def test_resident_id_checksum() -> None:
    assert resident_id_check(VALID_ID) == (True, "check digit ok")
    assert resident_id_check(VALID_ID.lower())[0]
    assert resident_id_check(INVALID_ID) == (False, "bad check digit (expected X)")
    # Check digit right but a 13th month: weighted sum 176, 176 mod 11 = 0 -> "1".
    assert resident_id_check("110105194913310021") == (False, "bad birth date")


def test_more_entity_shapes() -> None:
    text = ("客服热线400-820-8820，下周三之前转账三百块，或者$20，十一月三十号到期，"
            "手机+86 139 0000 1111")
    found = [(e.kind, e.value, e.detail)
             for e in extract_entities(text, reference=dt.date(2026, 11, 25))]
    assert found == [
        ("phone", "4008208820", "service"),
        ("date", "2026-12-02", "relative"),  # 2026-11-25 is a Wednesday
        ("amount", "CNY 300.00", "CNY"),
        ("amount", "USD 20.00", "USD"),
        ("date", "2026-11-30", "absolute"),
        ("phone", "13900001111", "mobile"),
    ]


def test_masking_keeps_the_last_four_digits() -> None:
    assert mask_value("138-1234-5678") == "***-****-5678"
    masked = mask_text(f"手机138-1234-5678，身份证{VALID_ID}，订单号SO20261130001，"
                       "2026-11-30 付了3299元")
    assert masked == ("手机***-****-5678，身份证**************002X，订单号*********0001，"
                      "2026-11-30 付了3299元")
    assert mask_text("call me at (415) 555-0134") == "call me at (***) ***-0134"
    s = mask_summary(summarize(ZH_CALL, TOPICS, reference_date=dt.date(2026, 11, 25)))
    assert s.masked
    values = dict((e.evidence.text, e.value) for e in s.entities)
    assert values["*******5678"] == "*******5678"
    assert values["*********0001"] == "*********0001"
    assert "SO20261130001" not in json.dumps(s.to_dict(), ensure_ascii=False)
    assert "13812345678" not in json.dumps(s.to_dict(), ensure_ascii=False)
    assert "3299" in json.dumps(s.to_dict(), ensure_ascii=False)  # amounts are not masked
    t = mask_transcript(ZH_CALL)
    assert "13812345678" not in t.text and "*******5678" in t.text
