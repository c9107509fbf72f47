"""A deterministic, explainable summary of a call, from its transcript.

What it gives, each with the evidence (utterance index, speaker, the words)
that led to it:

* ``reason``: why the customer called: the caller's first sentence with a
  reason cue ("我想", "为什么", "I'm calling about", ...), else the caller's
  first substantive sentence (not a bare greeting);
* ``entities``: order/account/phone/ID numbers, amounts, dates
  (:mod:`recordings.entities`), found in every utterance;
* ``topics``: intents from a keyword table per queue, passed in as data
  (``{"refund": ["退款", "refund", ...], ...}``); caller words count 1, agent
  words 0.5;
* ``sentiment``: the caller's, lexicon based (:mod:`recordings.sentiment`),
  with the ``angry`` flag;
* ``key_sentences``: the two or three most informative sentences, by a
  TF-IDF-like score over the call's sentences (Chinese: character bigrams).

No model, no network: the same transcript always gives the same summary.
:func:`recordings.masking.mask_summary` makes the copy for roles that may not
see personal numbers.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from recordings.entities import extract_entities
from recordings.masking import mask_value
from recordings.sentiment import DEFAULT_LEXICON, Lexicon, score_sentiment
from recordings.text import (
    cjk_ratio,
    find_terms,
    is_han,
    normalize_spoken_digits,
    scoring_terms,
    split_sentences,
)
from recordings.transcript import CALLER, Transcript

__all__ = [
    "Evidence",
    "KeySentence",
    "Reason",
    "Sentiment",
    "Summary",
    "SummaryEntity",
    "Topic",
    "summarize",
]

REASON_CUES = (
    "我想", "我要", "想问", "请问", "想咨询", "咨询一下", "因为", "问题是", "帮我", "为什么",
    "怎么", "还没", "没有收到", "没收到", "能不能", "可不可以", "投诉", "退款", "取消",
    "i want", "i'd like", "i would like", "i need", "i'm calling", "i am calling", "calling about",
    "calling because", "because", "problem", "issue", "why", "how do i", "how can i",
    "haven't received", "have not received", "didn't receive", "can you", "could you",
    "i'm trying", "refund", "cancel", "complaint",
)
GREETINGS = ("你好", "您好", "喂", "哈喽", "嗯", "啊", "哦", "对", "是的", "好的", "谢谢",
             "hello", "hi", "hey", "yes", "yeah", "okay", "ok", "thanks", "thank you",
             "good morning", "good afternoon", "good evening")
# A Han bigram with one of these characters is mostly grammar, not topic.
_ZH_STOP_CHARS = set("的了是我你您他她它们在有和就也都这那吗呢吧啊呀哦嗯个一不没很还要会能"
                     "请么什可以已经")


@dataclass(frozen=True)
class Evidence:
    """Where a field came from: an utterance (index into the transcript), its
    speaker, the exact words, and the rule that fired."""

    utterance: int | None
    speaker: str | None
    text: str
    rule: str = ""


@dataclass(frozen=True)
class Reason:
    text: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class SummaryEntity:
    kind: str
    value: str
    detail: str
    valid: bool | None
    evidence: Evidence


@dataclass(frozen=True)
class Topic:
    name: str
    score: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Sentiment:
    score: float
    label: str
    angry: bool
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class KeySentence:
    text: str
    score: float
    evidence: Evidence
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    language: str
    reason: Reason | None
    entities: tuple[SummaryEntity, ...]
    topics: tuple[Topic, ...]
    sentiment: Sentiment
    key_sentences: tuple[KeySentence, ...]
    masked: bool = False

    def entities_of(self, kind: str) -> list[SummaryEntity]:
        return [e for e in self.entities if e.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        def ev(d: Mapping[str, Any]) -> Evidence:
            return Evidence(d["utterance"], d["speaker"], d["text"], d.get("rule", ""))

        reason = data.get("reason")
        s = data["sentiment"]
        return cls(
            data["language"],
            Reason(reason["text"], tuple(ev(e) for e in reason["evidence"])) if reason else None,
            tuple(SummaryEntity(e["kind"], e["value"], e["detail"], e["valid"], ev(e["evidence"]))
                  for e in data["entities"]),
            tuple(Topic(t["name"], t["score"], tuple(ev(e) for e in t["evidence"]))
                  for t in data["topics"]),
            Sentiment(s["score"], s["label"], s["angry"], tuple(ev(e) for e in s["evidence"])),
            tuple(KeySentence(k["text"], k["score"], ev(k["evidence"]), tuple(k["terms"]))
                  for k in data["key_sentences"]),
            bool(data.get("masked", False)),
        )

    def map_texts(self, fn: Callable[[str], str], mask_kinds: frozenset[str]) -> Summary:
        """A copy with ``fn`` applied to every quoted text and the values of
        entities whose kind is in ``mask_kinds`` masked (used for masking)."""
        def ev(e: Evidence) -> Evidence:
            return replace(e, text=fn(e.text))

        return Summary(
            self.language,
            Reason(fn(self.reason.text), tuple(ev(e) for e in self.reason.evidence))
            if self.reason else None,
            tuple(replace(e, value=mask_value(e.value), evidence=replace(
                e.evidence, text=mask_value(e.evidence.text))) if e.kind in mask_kinds
                  else replace(e, evidence=ev(e.evidence)) for e in self.entities),
            tuple(replace(t, evidence=tuple(ev(e) for e in t.evidence)) for t in self.topics),
            replace(self.sentiment, evidence=tuple(ev(e) for e in self.sentiment.evidence)),
            tuple(replace(k, text=fn(k.text), evidence=ev(k.evidence))
                  for k in self.key_sentences),
            True,
        )


@dataclass
class _Sentence:
    utterance: int
    speaker: str
    text: str
    terms: list[str] = field(default_factory=list)


def _sentences(transcript: Transcript, texts: Sequence[str]) -> list[_Sentence]:
    out = []
    for i, (u, text) in enumerate(zip(transcript.utterances, texts, strict=True)):
        for sentence in split_sentences(text):
            out.append(_Sentence(i, u.speaker, sentence, scoring_terms(sentence)))
    return out


def _substantive(sentence: str) -> bool:
    rest = sentence
    for match in reversed(find_terms(sentence, GREETINGS)):
        rest = rest[: match.start] + rest[match.end:]
    han = sum(1 for ch in rest if is_han(ch))
    # Words of any script written with spaces (English, Korean...); Han counts by character.
    words = [w for w in re.findall(r"[^\W_]+", rest) if not is_han(w[0])]
    return han >= 4 or len(words) >= 3


def _without_greeting(sentence: str) -> str:
    """"你好，我想..." -> "我想...": leading greetings and fillers say nothing of the reason."""
    while True:
        matches = find_terms(sentence, GREETINGS)
        if not matches or matches[0].start > 0:
            return sentence
        rest = sentence[matches[0].end:]
        stripped = re.sub(r"^[\s,，.。!！、~]+", "", rest)
        if not stripped or stripped == rest:  # "对了..." is not the greeting "对"
            return sentence
        sentence = stripped


def _reason(sentences: list[_Sentence]) -> Reason | None:
    caller = [s for s in sentences if s.speaker == CALLER]
    for s in caller:
        cues = find_terms(s.text, REASON_CUES)
        if cues and _substantive(s.text):
            return Reason(_without_greeting(s.text), tuple(
                Evidence(s.utterance, s.speaker, c.text, f"cue:{c.term}") for c in cues))
    for s in caller:
        if _substantive(s.text):
            return Reason(_without_greeting(s.text), (
                Evidence(s.utterance, s.speaker, s.text, "first substantive caller sentence"),))
    return None


def _topics(transcript: Transcript, texts: Sequence[str],
            table: Mapping[str, Sequence[str]]) -> tuple[Topic, ...]:
    found = []
    for name, keywords in table.items():
        score = 0.0
        evidence = []
        for i, (u, text) in enumerate(zip(transcript.utterances, texts, strict=True)):
            for m in find_terms(text, keywords):
                score += 1.0 if u.speaker == CALLER else 0.5
                evidence.append(Evidence(i, u.speaker, m.text, f"keyword:{m.term}"))
        if score > 0:
            found.append(Topic(name, score, tuple(evidence)))
    return tuple(sorted(found, key=lambda t: (-t.score, t.name)))


def _key_sentences(sentences: list[_Sentence], count: int,
                   boost_terms: Sequence[str]) -> tuple[KeySentence, ...]:
    """Score = sum of term weights / sqrt(distinct terms), + 1 per entity or topic word.

    A term's weight is log(1 + (tf - 1)) * log(1 + n / df): tf is its count in
    the whole call (a term said once carries no topic), df the number of
    sentences that have it (a term in every sentence tells nothing).
    """
    candidates = [s for s in sentences if _substantive(s.text) and s.terms]
    if not candidates:
        return ()
    tf = Counter(t for s in candidates for t in s.terms)
    df = Counter(t for s in candidates for t in set(s.terms))
    n = len(candidates)

    def weight(term: str) -> float:
        if is_han(term[0]) and any(ch in _ZH_STOP_CHARS for ch in term):
            return 0.0
        return math.log1p(tf[term] - 1) * math.log1p(n / df[term])

    scored = []
    for order, s in enumerate(candidates):
        unique = set(s.terms)
        weights = sorted(((weight(t), t) for t in unique), reverse=True)
        score = sum(w for w, _ in weights) / math.sqrt(len(unique))
        named = find_terms(s.text, boost_terms) if boost_terms else []
        score += len(named)
        rule = "tf-idf" + (f", names {', '.join(m.text for m in named)}" if named else "")
        top = tuple(t for w, t in weights[:4] if w > 0)
        scored.append((round(score, 3), order, s, top, rule))
    best = sorted(scored, key=lambda x: (-x[0], x[1]))[:count]
    return tuple(KeySentence(s.text, score, Evidence(s.utterance, s.speaker, s.text, rule), top)
                 for score, _, s, top, rule in sorted(best, key=lambda x: x[1]))


def summarize(transcript: Transcript, topics: Mapping[str, Sequence[str]] | None = None, *,
              reference_date: dt.date | None = None, lexicon: Lexicon = DEFAULT_LEXICON,
              key_sentence_count: int = 3) -> Summary:
    """Summarise a transcript. ``topics`` is the queue's keyword table (zh and en);
    ``reference_date`` (the call's date) resolves "明天"/"tomorrow" to a date."""
    texts = [normalize_spoken_digits(u.text) for u in transcript.utterances]
    all_text = " ".join(texts)
    language = transcript.language or ("zh" if cjk_ratio(all_text) >= 0.3 else "en")
    sentences = _sentences(transcript, texts)

    entities = []
    for i, (u, text) in enumerate(zip(transcript.utterances, texts, strict=True)):
        for e in extract_entities(text, reference_date):
            entities.append(SummaryEntity(e.kind, e.value, e.detail, e.valid,
                                          Evidence(i, u.speaker, e.text, f"{e.kind}:{e.detail}")))

    topic_list = _topics(transcript, texts, topics or {})
    caller = [(i, t) for i, (u, t) in enumerate(zip(transcript.utterances, texts, strict=True))
              if u.speaker == CALLER]
    mood = score_sentiment(caller, lexicon)
    sentiment = Sentiment(mood.score, mood.label, mood.angry, tuple(
        Evidence(h.utterance, CALLER, h.text,
                 f"{h.polarity}{' (negated)' if h.negated else ''}:{h.term}")
        for h in mood.hits))

    boost = [e.evidence.text for e in entities]
    boost += [kw for keywords in (topics or {}).values() for kw in keywords]
    return Summary(language, _reason(sentences), tuple(entities), topic_list, sentiment,
                   _key_sentences(sentences, key_sentence_count, boost))

