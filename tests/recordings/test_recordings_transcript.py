"""Merging two legs into one transcript; overtalk, silence and talk time."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordings.recognizer import Word
from recordings.transcript import (
    Transcript,
    build_transcript,
    gaps,
    intersect,
    merge_spans,
)


def words(*items: tuple[str, float, float]) -> list[Word]:
    return [Word(t, s, e, 0.9) for t, s, e in items]


CALLER_WORDS = words(("hello", 0.0, 0.4), ("i", 0.5, 0.6), ("need", 0.6, 0.9),
                     ("help", 0.9, 1.3),
                     ("my", 5.0, 5.2), ("order", 5.2, 5.6), ("is", 5.6, 5.7), ("late", 5.7, 6.2))
AGENT_WORDS = words(("hi", 1.6, 1.9), ("how", 2.0, 2.2), ("can", 2.2, 2.4), ("i", 2.4, 2.5),
                    ("help", 2.5, 2.9),
                    ("sorry", 5.5, 6.0), ("about", 6.0, 6.3), ("that", 6.3, 6.6),
                    ("goodbye", 15.0, 15.5))


@pytest.fixture
def transcript() -> Transcript:
    # Legs given out of order on purpose: the merge must sort by time.
    return build_transcript({"agent": list(reversed(AGENT_WORDS)), "caller": CALLER_WORDS},
                            duration=17.0, language="en")


def test_utterances_split_at_pauses_and_merge_in_time_order(transcript: Transcript) -> None:
    got = [(u.speaker, u.start, u.end, u.text) for u in transcript.utterances]
    assert got == [
        ("caller", 0.0, 1.3, "hello i need help"),
        ("agent", 1.6, 2.9, "hi how can i help"),
        ("caller", 5.0, 6.2, "my order is late"),
        ("agent", 5.5, 6.6, "sorry about that"),
        ("agent", 15.0, 15.5, "goodbye"),
    ]
    assert [w.text for w in transcript.utterances[2].words] == ["my", "order", "is", "late"]


def test_overtalk_silence_and_talk_time_from_word_timings(transcript: Transcript) -> None:
    [overlap] = transcript.overtalk()
    assert (overlap.start, overlap.end, overlap.speakers) == (5.5, 6.2, ("agent", "caller"))
    assert overlap.duration == pytest.approx(0.7)
    assert transcript.overtalk(min_duration=1.0) == []
    assert [(s.start, s.end) for s in transcript.silences(1.0)] == [(2.9, 5.0), (6.6, 15.0)]
    first = transcript.silences(0.2)[0]
    assert (first.start, first.end) == (1.3, 1.6)
    edges = transcript.silences(1.0, edges=True)
    assert (edges[-1].start, edges[-1].end) == (15.5, 17.0)
    assert transcript.talk_time("caller") == pytest.approx(2.5)
    assert transcript.talk_time("agent") == pytest.approx(1.3 + 1.1 + 0.5)
    assert transcript.utterances_between(5.5, 6.2) == [2, 3]


def test_voice_activity_overrides_word_spans() -> None:
    t = build_transcript({"caller": CALLER_WORDS, "agent": AGENT_WORDS},
                         activity={"caller": [(0.0, 1.4), (4.8, 7.5)]})
    [overlap] = t.overtalk()
    assert (overlap.start, overlap.end) == (5.5, 6.6)
    assert t.talk_time("caller") == pytest.approx(1.4 + 2.7)


def test_json_round_trip(transcript: Transcript) -> None:
    data = json.loads(json.dumps(transcript.to_dict()))
    again = Transcript.from_dict(data)
    assert again == transcript
    assert again.overtalk() == transcript.overtalk()


def test_chinese_words_join_without_spaces_and_long_speech_is_split() -> None:
    zh = words(("我", 0.0, 0.2), ("的", 0.2, 0.3), ("订单", 0.3, 0.7), ("SO123", 0.7, 1.2),
               ("还", 1.2, 1.4), ("没", 1.4, 1.5), ("到", 1.5, 1.8))
    t = build_transcript({"caller": zh})
    assert t.utterances[0].text == "我的订单 SO123 还没到"
    chunks = build_transcript({"caller": zh}, max_duration=1.0).utterances
    # "SO123" would end 1.2 s after "我" began, "到" 1.1 s after "SO123" began.
    assert [u.text for u in chunks] == ["我的订单", "SO123 还没", "到"]


def test_span_helpers() -> None:
    assert merge_spans([(3, 4), (0, 1), (1.1, 2)], join_gap=0.2) == [(0, 2), (3, 4)]
    assert intersect([(0, 2), (3, 5)], [(1, 4)]) == [(1, 2), (3, 4)]
    assert gaps([(1, 2), (3, 4)], 0, 5) == [(0, 1), (2, 3), (4, 5)]


def test_from_lines_for_written_transcripts() -> None:
    t = Transcript.from_lines([("agent", 2.0, 4.0, "b"), ("caller", 0.0, 3.0, "a")])
    assert [u.text for u in t.utterances] == ["a", "b"]
    assert [(i.start, i.end) for i in t.overtalk()] == [(2.0, 3.0)]


spans_strategy = st.lists(
    st.tuples(st.integers(0, 200), st.integers(1, 30))
    .map(lambda t: (t[0] / 10, (t[0] + t[1]) / 10)), max_size=12)


def covered(spans: list[tuple[float, float]], x: float) -> bool:
    return any(s <= x < e for s, e in spans)


@settings(max_examples=150, deadline=None)
@given(spans_strategy, spans_strategy)
def test_span_algebra_matches_pointwise_coverage(a, b) -> None:
    ma, mb = merge_spans(a), merge_spans(b)
    assert all(x[1] < y[0] for x, y in itertools.pairwise(ma))  # sorted, disjoint, not touching
    both = intersect(ma, mb)
    holes = gaps(ma, 0.0, 25.0)
    for i in range(0, 250):
        x = i / 10 + 0.05  # sample points between the 0.1 s grid
        assert covered(ma, x) == covered(a, x)
        assert covered(both, x) == (covered(a, x) and covered(b, x))
        assert covered(holes, x) == (not covered(a, x))


def test_join_transcripts_puts_parts_in_call_time() -> None:
    from recordings.recognizer import Word
    from recordings.transcript import Utterance, join_transcripts

    first = Transcript.from_lines([("caller", 0.5, 2.0, "hello"), ("agent", 2.5, 4.0, "hi")],
                                  language="en", duration=5.0)
    words = [Word("transferred", 1.0, 2.0)]
    second = Transcript([Utterance("agent", 1.0, 2.0, "transferred", words)],
                        {"agent": [(1.0, 2.0)]}, 3.0, "zh")
    joined = join_transcripts([(0.0, first), (30.0, second)])
    assert [(u.speaker, u.start, u.end, u.text) for u in joined.utterances] == [
        ("caller", 0.5, 2.0, "hello"), ("agent", 2.5, 4.0, "hi"),
        ("agent", 31.0, 32.0, "transferred")]
    assert joined.utterances[2].words[0].start == 31.0
    assert joined.activity["agent"] == [(2.5, 4.0), (31.0, 32.0)]
    assert (joined.duration, joined.language) == (33.0, "en")
