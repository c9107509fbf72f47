"""Masking personal numbers for people (and logs) not allowed to see them.

Phone numbers, resident ID numbers, account and order numbers keep only their
last four digits ("13812345678" -> "*******5678"); separators stay, so the
shape is still readable. Detection reuses :mod:`recordings.entities`; on top
of that, any other run of seven or more digits is masked too, because a
number the extractor did not classify is still more likely personal than not.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recordings.summary import Summary
    from recordings.transcript import Transcript

__all__ = ["SENSITIVE_KINDS", "mask_summary", "mask_text", "mask_transcript", "mask_value"]

#: Entity kinds masked by default.
SENSITIVE_KINDS = frozenset({"phone", "id_number", "account_number", "order_number"})

_LONG_DIGITS = re.compile(r"(?<![\dA-Za-z])[A-Za-z]{0,4}\d(?:[\d -]{5,}\d)(?![\dA-Za-z])")


def mask_value(value: str, keep_last: int = 4, char: str = "*") -> str:
    """Replace every digit/letter except the last ``keep_last`` ones; keep separators."""
    alnum = [i for i, ch in enumerate(value) if ch.isalnum()]
    hide = set(alnum[: max(0, len(alnum) - keep_last)])
    return "".join(char if i in hide else ch for i, ch in enumerate(value))


def mask_text(text: str, kinds: frozenset[str] = SENSITIVE_KINDS, keep_last: int = 4) -> str:
    """Mask sensitive entities found in ``text``, and any other long digit run."""
    from recordings.entities import extract_entities

    entities = extract_entities(text)
    spans = [(e.start, e.end) for e in entities if e.kind in kinds]
    harmless = [(e.start, e.end) for e in entities if e.kind not in kinds]  # dates, amounts
    spans += [(m.start(), m.end()) for m in _LONG_DIGITS.finditer(text)
              if sum(ch.isdigit() for ch in m.group()) >= 7
              and not any(m.start() < e and m.end() > s for s, e in harmless)]
    out = list(text)
    for start, end in spans:
        out[start:end] = list(mask_value("".join(out[start:end]), keep_last))
    return "".join(out)


def mask_transcript(transcript: Transcript, kinds: frozenset[str] = SENSITIVE_KINDS) -> Transcript:
    """A copy whose utterance texts (and word texts) are masked."""
    from recordings.transcript import Transcript, Utterance

    utterances = []
    for u in transcript.utterances:
        words = [replace(w, text=mask_text(w.text, kinds)) for w in u.words]
        utterances.append(Utterance(u.speaker, u.start, u.end, mask_text(u.text, kinds), words))
    return Transcript(utterances, dict(transcript.activity), transcript.duration,
                      transcript.language)


def mask_summary(summary: Summary, kinds: frozenset[str] = SENSITIVE_KINDS) -> Summary:
    """A copy for a role that may not see personal numbers: sensitive entity values,
    and every text that quotes the call (reason, key sentences, evidence), masked."""
    return summary.map_texts(lambda t: mask_text(t, kinds), kinds)


def mask_for_log(text: str) -> str:
    """What may go into a log line: any digit run of 5+ keeps only its last 4."""
    return re.sub(r"\d{5,}", lambda m: mask_value(m.group()), text)
