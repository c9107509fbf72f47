"""A lexicon-based sentiment estimate of the customer, Chinese and English.

Deliberately simple and explainable: every hit is a listed word, and a
negation just before it flips it ("不满意" = not + satisfied, "not happy").
Anger words ("投诉", "ridiculous") count as strongly negative and drive the
``angry`` flag; a negated anger word ("I'm not angry") counts for nothing.
Exclamation marks in an utterance that already has a negative hit add a
little anger. The lexicons can be extended per deployment (pass your own
:class:`Lexicon`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from recordings.text import TermMatch, find_terms

__all__ = ["DEFAULT_LEXICON", "Hit", "Lexicon", "SentimentScore", "score_sentiment"]


@dataclass(frozen=True)
class Lexicon:
    positive: frozenset[str]
    negative: frozenset[str]
    anger: frozenset[str]
    negators_zh: tuple[str, ...] = ("不是", "并不", "没有", "从不", "不太", "不", "没", "别", "无")
    negators_en: frozenset[str] = frozenset({
        "not", "no", "never", "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't",
        "won't", "can't", "cannot", "without", "hardly", "nothing"})

    def terms(self) -> set[str]:
        return set(self.positive | self.negative | self.anger)


def _terms(*lines: str) -> frozenset[str]:
    """Space-separated terms (a term may not contain a space: add those separately)."""
    return frozenset(t for line in lines for t in line.split())


DEFAULT_LEXICON = Lexicon(
    positive=_terms(
        "满意 谢谢 感谢 多谢 不错 很好 太好了 挺好 好评 方便 专业 耐心 解决了 辛苦了",
        "高兴 开心 放心 周到 及时",
        "thank thanks great good helpful appreciate excellent perfect happy glad resolved",
        "wonderful nice awesome satisfied fantastic",
    ) | {"thank you"},
    negative=_terms(
        "失望 麻烦 太慢 很慢 不好 差劲 糟糕 没用 坑人 烦 着急 担心 不方便 一直没 还没 问题 故障",
        "错误 损坏 坏了",
        "problem issue disappointed unhappy slow late wrong bad broken frustrated annoying",
        "annoyed confused delay delayed poor useless upset worried",
    ) | {"waste of time", "not working"},
    anger=_terms(
        "投诉 气死 生气 愤怒 骗子 垃圾 欺骗 离谱 太过分 过分 受够了 忍无可忍 退钱 曝光 消协 起诉",
        "律师 搞什么 凭什么",
        "angry furious ridiculous unacceptable outrageous scam complaint complain terrible worst",
        "sue lawyer pathetic disgusting livid",
    ) | {"fed up", "sick of", "your manager", "a supervisor"},
)


@dataclass(frozen=True)
class Hit:
    """One lexicon hit: the term, how it counted (+1, -1, anger) and whether it was negated."""

    utterance: int
    term: str
    text: str
    polarity: str  # "positive" | "negative" | "anger"
    negated: bool = False


@dataclass(frozen=True)
class SentimentScore:
    score: float  # -1 (very negative) .. +1 (very positive)
    label: str  # negative | neutral | positive
    angry: bool
    anger: float
    hits: tuple[Hit, ...] = field(default=())


def _negated(text: str, match: TermMatch, lexicon: Lexicon) -> bool:
    before = text[: match.start]
    if re.search(r"[a-z]", match.term, re.IGNORECASE):
        words = re.findall(r"[a-z']+", before.lower())[-3:]
        return any(w in lexicon.negators_en or w.endswith("n't") for w in words)
    compact = re.sub(r"[\s,，]", "", before)[-3:]
    return any(compact.endswith(n) for n in lexicon.negators_zh)


def score_sentiment(utterances: Iterable[tuple[int, str]],
                    lexicon: Lexicon = DEFAULT_LEXICON) -> SentimentScore:
    """Score (index, text) utterances (usually the caller's)."""
    hits: list[Hit] = []
    positive = negative = anger = 0.0
    terms = lexicon.terms()
    for index, text in utterances:
        utterance_negative = False
        for match in find_terms(text, terms):
            negated = _negated(text, match, lexicon)
            if match.term in lexicon.anger:
                if negated:
                    hits.append(Hit(index, match.term, match.text, "anger", True))
                    continue
                anger += 1
                negative += 2
                utterance_negative = True
                hits.append(Hit(index, match.term, match.text, "anger"))
            elif match.term in lexicon.positive:
                if negated:
                    negative += 1
                    utterance_negative = True
                    hits.append(Hit(index, match.term, match.text, "negative", True))
                else:
                    positive += 1
                    hits.append(Hit(index, match.term, match.text, "positive"))
            elif negated:
                positive += 0.5
                hits.append(Hit(index, match.term, match.text, "positive", True))
            else:
                negative += 1
                utterance_negative = True
                hits.append(Hit(index, match.term, match.text, "negative"))
        if utterance_negative and re.search(r"[!！]", text):
            anger += 0.5
    score = round((positive - negative) / (positive + negative + 1.0), 3)
    label = "negative" if score <= -0.25 else "positive" if score >= 0.25 else "neutral"
    angry = anger >= 2 or (anger >= 1 and score <= -0.5)
    return SentimentScore(score, label, angry, anger, tuple(hits))
