"""Two legs of timed words -> one time-ordered transcript of utterances.

Each leg (``caller``: what the caller said, ``agent``: what the agent said) is
split into utterances at pauses; the utterances of both legs are merged by
start time. The transcript also answers the timing questions quality
inspection asks: when did both talk at once (overtalk), when did neither talk
(silence), how long did each talk. Those come from each leg's *activity*: the
energy-based voice activity of the audio when the pipeline supplied it,
otherwise the word (or, for written transcripts, utterance) spans.

Everything is a plain dataclass with ``to_dict``/``from_dict`` so a transcript
can be stored as JSON and read back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recordings.recognizer import Word
from recordings.text import join_words

__all__ = [
    "AGENT",
    "CALLER",
    "Interval",
    "Transcript",
    "Utterance",
    "build_transcript",
    "gaps",
    "intersect",
    "join_transcripts",
    "merge_spans",
]

CALLER = "caller"
AGENT = "agent"
Span = tuple[float, float]


@dataclass(frozen=True)
class Interval:
    """A stretch of the call: overtalk (both speakers) or silence (no speaker)."""

    start: float
    end: float
    speakers: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "speakers": list(self.speakers)}


@dataclass
class Utterance:
    """One speaker's stretch of speech between pauses."""

    speaker: str
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"speaker": self.speaker, "start": self.start, "end": self.end,
                "text": self.text, "words": [w.to_dict() for w in self.words]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Utterance:
        return cls(str(data["speaker"]), float(data["start"]), float(data["end"]),
                   str(data["text"]), [Word.from_dict(w) for w in data.get("words", ())])


def merge_spans(spans: Iterable[Span], join_gap: float = 0.0) -> list[Span]:
    """Sorted union of spans; spans closer than ``join_gap`` are joined."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if out and start - out[-1][1] <= join_gap:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Where two sorted, disjoint span lists overlap (two-pointer sweep)."""
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((round(start, 3), round(end, 3)))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def gaps(spans: Sequence[Span], start: float, end: float) -> list[Span]:
    """The parts of [start, end] covered by none of the sorted, disjoint spans."""
    out: list[Span] = []
    cursor = start
    for s, e in spans:
        if s > cursor:
            out.append((round(cursor, 3), round(min(s, end), 3)))
        cursor = max(cursor, e)
        if cursor >= end:
            break
    if cursor < end:
        out.append((round(cursor, 3), round(end, 3)))
    return [(s, e) for s, e in out if e > s]


@dataclass
class Transcript:
    """A call's utterances in time order, plus each speaker's activity spans.

    ``activity`` maps a speaker to sorted, disjoint (start, end) spans of
    speech. It is what overtalk, silence and talk time are computed from.
    ``duration`` is the recording's length, when known (silence at the very
    start or end of the call counts only between the first and last speech
    unless ``edges=True`` is asked for).
    """

    utterances: list[Utterance]
    activity: dict[str, list[Span]] = field(default_factory=dict)
    duration: float | None = None
    language: str | None = None

    # ---- construction from written text (tests, imports, chat-like sources)
    @classmethod
    def from_lines(cls, lines: Iterable[tuple[str, float, float, str]],
                   language: str | None = None, duration: float | None = None) -> Transcript:
        """Build from ``(speaker, start, end, text)`` lines; activity = utterance spans."""
        utterances = sorted((Utterance(s, float(a), float(b), t) for s, a, b, t in lines),
                            key=lambda u: (u.start, u.end))
        transcript = cls(utterances, duration=duration, language=language)
        transcript.activity = transcript._activity_from_utterances()
        return transcript

    def _activity_from_utterances(self, join_gap: float = 0.3) -> dict[str, list[Span]]:
        spans: dict[str, list[Span]] = {}
        for u in self.utterances:
            if u.words:
                spans.setdefault(u.speaker, []).extend((w.start, w.end) for w in u.words)
            else:
                spans.setdefault(u.speaker, []).append((u.start, u.end))
        return {speaker: merge_spans(s, join_gap) for speaker, s in spans.items()}

    # ---- questions quality inspection asks
    @property
    def speakers(self) -> list[str]:
        return sorted({u.speaker for u in self.utterances} | set(self.activity))

    def talk_time(self, speaker: str) -> float:
        return round(sum(e - s for s, e in self.activity.get(speaker, ())), 3)

    def speech_bounds(self) -> Span | None:
        spans = [s for spans in self.activity.values() for s in spans]
        if not spans:
            return None
        return (min(s for s, _ in spans), max(e for _, e in spans))

    def overtalk(self, min_duration: float = 0.0) -> list[Interval]:
        """Stretches where two or more speakers are active at once."""
        speakers = [s for s in self.speakers if self.activity.get(s)]
        found: list[Span] = []
        for i, a in enumerate(speakers):
            for b in speakers[i + 1:]:
                found.extend(intersect(self.activity[a], self.activity[b]))
        out = []
        for start, end in merge_spans(found):
            who = tuple(s for s in speakers
                        if any(x < end and y > start for x, y in self.activity[s]))
            if end - start >= min_duration:
                out.append(Interval(start, end, who))
        return out

    def silences(self, min_duration: float = 0.0, *, edges: bool = False) -> list[Interval]:
        """Stretches where nobody speaks, longer than ``min_duration``.

        By default only between the first and the last speech; ``edges=True``
        also counts the start and end of the recording (needs ``duration``).
        """
        bounds = self.speech_bounds()
        if bounds is None:
            if edges and self.duration:
                return [Interval(0.0, self.duration)] if self.duration >= min_duration else []
            return []
        start, end = bounds
        if edges:
            start, end = 0.0, max(end, self.duration or end)
        union = merge_spans(s for spans in self.activity.values() for s in spans)
        return [Interval(s, e) for s, e in gaps(union, start, end) if e - s >= min_duration]

    def utterances_between(self, start: float, end: float,
                           speaker: str | None = None) -> list[int]:
        """Indexes of utterances overlapping [start, end] (touching counts)."""
        return [i for i, u in enumerate(self.utterances)
                if u.start <= end and u.end >= start and (speaker is None or u.speaker == speaker)]

    @property
    def text(self) -> str:
        return "\n".join(f"{u.speaker}: {u.text}" for u in self.utterances)

    # ---- JSON
    def to_dict(self) -> dict[str, Any]:
        return {"language": self.language, "duration": self.duration,
                "utterances": [u.to_dict() for u in self.utterances],
                "activity": {k: [list(s) for s in v] for k, v in self.activity.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcript:
        return cls([Utterance.from_dict(u) for u in data.get("utterances", ())],
                   {k: [(float(s), float(e)) for s, e in v]
                    for k, v in (data.get("activity") or {}).items()},
                   data.get("duration"), data.get("language"))


def _split(speaker: str, words: Sequence[Word], pause: float,
           max_duration: float) -> list[Utterance]:
    out: list[Utterance] = []
    current: list[Word] = []
    for word in sorted(words, key=lambda w: (w.start, w.end)):
        if current and (word.start - current[-1].end > pause
                        or word.end - current[0].start > max_duration):
            out.append(_utterance(speaker, current))
            current = []
        current.append(word)
    if current:
        out.append(_utterance(speaker, current))
    return out


def _utterance(speaker: str, words: list[Word]) -> Utterance:
    return Utterance(speaker, words[0].start, max(w.end for w in words),
                     join_words(w.text for w in words), list(words))


def build_transcript(legs: Mapping[str, Sequence[Word]], *,
                     activity: Mapping[str, Sequence[Span]] | None = None,
                     pause: float = 0.8, max_duration: float = 20.0,
                     duration: float | None = None, language: str | None = None,
                     activity_join_gap: float = 0.3) -> Transcript:
    """Merge the legs' words (speaker -> words) into one transcript.

    A pause longer than ``pause`` seconds starts a new utterance, and no
    utterance runs longer than ``max_duration``. ``activity`` (speaker -> voice
    activity spans, e.g. :attr:`LegDecoding.speech`) is used for overtalk and
    silence when given; otherwise word spans joined across gaps shorter than
    ``activity_join_gap`` stand in for it.
    """
    utterances = [u for speaker, words in legs.items()
                  for u in _split(speaker, words, pause, max_duration)]
    utterances.sort(key=lambda u: (u.start, u.end, u.speaker))
    transcript = Transcript(utterances, duration=duration, language=language)
    derived = transcript._activity_from_utterances(activity_join_gap)
    if activity is not None:
        for speaker, spans in activity.items():
            derived[speaker] = merge_spans((float(s), float(e)) for s, e in spans)
    transcript.activity = derived
    return transcript


def join_transcripts(parts: Sequence[tuple[float, Transcript]]) -> Transcript:
    """One transcript of a call recorded in parts (a transfer starts a new recording):
    each ``(offset, transcript)`` moved ``offset`` seconds later, in the first part's
    time base; the language is the first part's."""
    utterances, activity, ends = [], {}, []
    for offset, part in parts:
        for u in part.utterances:
            utterances.append(Utterance(u.speaker, u.start + offset, u.end + offset, u.text,
                                        [w.shifted(offset) for w in u.words]))
        for speaker, spans in part.activity.items():
            activity.setdefault(speaker, []).extend((s + offset, e + offset) for s, e in spans)
        if part.duration is not None:
            ends.append(offset + part.duration)
    utterances.sort(key=lambda u: (u.start, u.end, u.speaker))
    return Transcript(utterances, {k: merge_spans(v) for k, v in activity.items()},
                      max(ends) if ends else None, parts[0][1].language if parts else None)
