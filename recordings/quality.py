"""Quality inspection (质检) of one call: rules in, score and flags out.

Each rule of :class:`callcenter.config.quality_file.QueueRules` that is broken raises a
:class:`Flag` carrying its deduction and the transcript utterances (index,
speaker, time, text) that caused it, so a supervisor can jump to the moment.
The score is 100 minus the deductions, never below 0.

Phrase matching ignores spacing and punctuation in Chinese (vosk writes "您好
欢迎 致电") and case in English (whole words). Hold intervals (from the call's
hold/unhold events) are passed in: silence during a hold is not dead air.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from callcenter.config.quality_file import QueueRules, RequiredPhrase
from recordings.text import contains_phrase, find_terms
from recordings.transcript import Transcript, gaps, merge_spans

__all__ = ["Flag", "Inspection", "UtteranceRef", "inspect"]


@dataclass(frozen=True)
class UtteranceRef:
    index: int
    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Flag:
    """One broken rule. ``code`` is stable (e.g. ``missing:greeting``); ``message``
    is for people; ``start``/``end`` locate it in the call when it has a place."""

    rule: str
    code: str
    message: str
    deduction: float
    utterances: tuple[UtteranceRef, ...] = ()
    start: float | None = None
    end: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Inspection:
    score: float
    passed: bool
    flags: tuple[Flag, ...]
    metrics: Mapping[str, float]

    def codes(self) -> list[str]:
        return [f.code for f in self.flags]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Inspection:
        return cls(data["score"], data["passed"], tuple(
            Flag(f["rule"], f["code"], f["message"], f["deduction"],
                 tuple(UtteranceRef(**u) for u in f["utterances"]), f["start"], f["end"],
                 dict(f["details"])) for f in data["flags"]), dict(data["metrics"]))


class _Budget:
    """Caps a rule's total deduction (``max_deduction``); later flags get what is left."""

    def __init__(self, cap: float | None) -> None:
        self.left = float("inf") if cap is None else cap

    def take(self, amount: float) -> float:
        taken = min(amount, self.left)
        self.left -= taken
        return taken


def _ref(transcript: Transcript, indexes: Iterable[int]) -> tuple[UtteranceRef, ...]:
    out = []
    for i in sorted(set(indexes)):
        u = transcript.utterances[i]
        out.append(UtteranceRef(i, u.speaker, u.start, u.end, u.text))
    return tuple(out)


def _call_end(transcript: Transcript) -> float:
    ends = [u.end for u in transcript.utterances]
    return max([transcript.duration or 0.0, *ends]) if ends or transcript.duration else 0.0


def _in_window(transcript: Transcript, index: int, step: RequiredPhrase, end: float) -> bool:
    u = transcript.utterances[index]
    if step.within_first_seconds is not None:
        return u.start <= step.within_first_seconds
    if step.within_last_seconds is not None:
        return u.end >= end - step.within_last_seconds
    return True


def _required(transcript: Transcript, rules: QueueRules) -> list[Flag]:
    flags: list[Flag] = []
    end = _call_end(transcript)
    cursor, cursor_step = -1, None
    for step in rules.required:
        window = [i for i, u in enumerate(transcript.utterances)
                  if u.speaker == step.speaker and _in_window(transcript, i, step, end)]
        hits = [(i, m) for i in window
                if (m := contains_phrase(transcript.utterances[i].text, step.phrases))]
        if not hits:
            where = (f" in the first {step.within_first_seconds:g}s"
                     if step.within_first_seconds else
                     f" in the last {step.within_last_seconds:g}s"
                     if step.within_last_seconds else "")
            windowed = step.within_first_seconds or step.within_last_seconds
            flags.append(Flag("required", f"missing:{step.name}",
                              f"{step.speaker} never said the {step.name}{where}",
                              step.deduction, _ref(transcript, window if windowed else ()),
                              details={"phrases": list(step.phrases)}))
            continue
        later = [(i, m) for i, m in hits if i > cursor]
        if later:
            cursor, cursor_step = later[0][0], step.name
            continue
        i, m = hits[0]
        u = transcript.utterances[i]
        flags.append(Flag("required", f"out_of_order:{step.name}",
                          f"the {step.name} came before the {cursor_step}",
                          step.order_deduction, _ref(transcript, (i, cursor)), u.start, u.end,
                          {"matched": m.text}))
    return flags


def _forbidden(transcript: Transcript, rules: QueueRules) -> list[Flag]:
    rule = rules.forbidden
    if rule is None:
        return []
    budget = _Budget(rule.max_deduction)
    flags = []
    for i, u in enumerate(transcript.utterances):
        if u.speaker != rule.speaker:
            continue
        found = find_terms(u.text, rule.phrases)
        if found:
            said = ", ".join(dict.fromkeys(m.text for m in found))
            flags.append(Flag("forbidden", f"forbidden:{found[0].term}",
                              f"{u.speaker} said a forbidden phrase: {said}",
                              budget.take(rule.deduction), _ref(transcript, [i]), u.start, u.end,
                              {"phrases": [m.term for m in found]}))
    return flags


def _longest(transcript: Transcript, speaker: str, n: int = 3) -> list[int]:
    mine = [i for i, u in enumerate(transcript.utterances) if u.speaker == speaker]
    mine.sort(key=lambda i: -(transcript.utterances[i].end - transcript.utterances[i].start))
    return mine[:n]


def _talk_share(transcript: Transcript, rules: QueueRules,
                metrics: dict[str, float]) -> list[Flag]:
    rule = rules.talk_share
    total = sum(transcript.talk_time(s) for s in transcript.speakers)
    share = transcript.talk_time(rule.speaker) / total if rule and total else None
    if share is not None:
        metrics[f"{rule.speaker}_share"] = round(share, 3)
    if rule is None or share is None:
        return []
    other = "caller" if rule.speaker == "agent" else "agent"
    if rule.min is not None and share < rule.min:
        return [Flag("talk_share", f"talk_share_low:{rule.speaker}",
                     f"{rule.speaker} talked {share:.0%} of the time (minimum {rule.min:.0%})",
                     rule.deduction, _ref(transcript, _longest(transcript, other)),
                     details={"share": round(share, 3), "min": rule.min})]
    if rule.max is not None and share > rule.max:
        return [Flag("talk_share", f"talk_share_high:{rule.speaker}",
                     f"{rule.speaker} talked {share:.0%} of the time (maximum {rule.max:.0%})",
                     rule.deduction, _ref(transcript, _longest(transcript, rule.speaker)),
                     details={"share": round(share, 3), "max": rule.max})]
    return []


def _around(transcript: Transcript, start: float, end: float, slack: float = 0.05) -> list[int]:
    """The utterance that ended just before ``start`` and the one that began just after ``end``."""
    before = [i for i, u in enumerate(transcript.utterances) if u.end <= start + slack]
    after = [i for i, u in enumerate(transcript.utterances) if u.start >= end - slack]
    return ([max(before, key=lambda i: transcript.utterances[i].end)] if before else []) + (
        [min(after, key=lambda i: transcript.utterances[i].start)] if after else [])


def _silence(transcript: Transcript, rules: QueueRules, holds: list[tuple[float, float]],
             metrics: dict[str, float]) -> list[Flag]:
    pieces: list[tuple[float, float]] = []
    for gap in transcript.silences(0.0, edges=bool(rules.silence and rules.silence.include_edges)):
        pieces.extend(gaps(holds, gap.start, gap.end))  # hold time is not dead air
    metrics["longest_silence"] = round(max((e - s for s, e in pieces), default=0.0), 3)
    rule = rules.silence
    if rule is None:
        return []
    budget = _Budget(rule.max_deduction)
    return [Flag("silence", "silence", f"{e - s:.1f}s of silence (maximum {rule.max_seconds:g}s)",
                 budget.take(rule.deduction), _ref(transcript, _around(transcript, s, e)), s, e,
                 {"seconds": round(e - s, 3)})
            for s, e in pieces if e - s > rule.max_seconds]


def _overtalk(transcript: Transcript, rules: QueueRules,
              metrics: dict[str, float]) -> list[Flag]:
    rule = rules.overtalk
    episodes = transcript.overtalk(rule.min_seconds if rule else 0.5)
    metrics["overtalk_count"] = len(episodes)
    metrics["overtalk_seconds"] = round(sum(e.duration for e in episodes), 3)
    if rule is None:
        return []
    budget = _Budget(rule.max_deduction)
    flags = []
    for ep in episodes:
        if rule.max_seconds is not None and ep.duration > rule.max_seconds:
            flags.append(Flag("overtalk", "overtalk_long",
                              f"both talked at once for {ep.duration:.1f}s "
                              f"(maximum {rule.max_seconds:g}s)", budget.take(rule.deduction),
                              _ref(transcript, transcript.utterances_between(ep.start, ep.end)),
                              ep.start, ep.end, {"seconds": ep.duration}))
    if rule.max_count is not None and len(episodes) > rule.max_count:
        indexes = [i for ep in episodes for i in transcript.utterances_between(ep.start, ep.end)]
        flags.append(Flag("overtalk", "overtalk_count",
                          f"{len(episodes)} times both talked at once (maximum {rule.max_count})",
                          budget.take(rule.deduction), _ref(transcript, indexes),
                          details={"count": len(episodes),
                                   "episodes": [[e.start, e.end] for e in episodes]}))
    return flags


def _hold(transcript: Transcript, rules: QueueRules, holds: list[tuple[float, float]],
          metrics: dict[str, float]) -> list[Flag]:
    total = round(sum(e - s for s, e in holds), 3)
    metrics["hold_seconds"] = total
    rule = rules.hold
    if rule is None:
        return []
    flags = []
    for s, e in holds:
        if rule.max_seconds is not None and e - s > rule.max_seconds:
            flags.append(Flag("hold", "hold_long",
                              f"on hold for {e - s:.0f}s (maximum {rule.max_seconds:g}s)",
                              rule.deduction, _ref(transcript, _around(transcript, s, e)), s, e,
                              {"seconds": round(e - s, 3)}))
    if rule.max_total_seconds is not None and total > rule.max_total_seconds:
        indexes = [i for s, e in holds for i in _around(transcript, s, e)]
        flags.append(Flag("hold", "hold_total",
                          f"{total:.0f}s on hold in all (maximum {rule.max_total_seconds:g}s)",
                          rule.deduction, _ref(transcript, indexes),
                          details={"seconds": total, "holds": [list(h) for h in holds]}))
    return flags


def inspect(transcript: Transcript, rules: QueueRules,
            holds: Sequence[tuple[float, float]] = ()) -> Inspection:
    """Inspect one call. ``holds``: (start, end) seconds when the caller was on hold."""
    hold_spans = merge_spans((float(s), float(e)) for s, e in holds)
    metrics: dict[str, float] = {
        "duration": round(_call_end(transcript), 3),
        **{f"{s}_talk": transcript.talk_time(s) for s in transcript.speakers},
    }
    flags = [
        *_required(transcript, rules),
        *_forbidden(transcript, rules),
        *_talk_share(transcript, rules, metrics),
        *_silence(transcript, rules, hold_spans, metrics),
        *_overtalk(transcript, rules, metrics),
        *_hold(transcript, rules, hold_spans, metrics),
    ]
    score = round(max(0.0, 100.0 - sum(f.deduction for f in flags)), 2)
    return Inspection(score, score >= rules.pass_score, tuple(flags), metrics)
