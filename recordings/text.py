"""Small text helpers shared by the transcript, summary and quality modules.

Chinese has no spaces and vosk's Chinese models put a space between every
word, while English needs word boundaries: phrase matching therefore compares
Han text with all spacing and punctuation removed, and Latin text word by word,
case-folded.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "TermMatch",
    "cjk_ratio",
    "contains_phrase",
    "find_terms",
    "is_han",
    "join_words",
    "normalize_spoken_digits",
    "scoring_terms",
    "split_sentences",
]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff]")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])\s*|(?<=[.])\s+(?=[A-Z\u4e00-\u9fff])")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

_EN_STOPWORDS = frozenset([
    "a", "an", "the", "and", "or", "but", "if", "then", "so", "to", "of", "in", "on", "at",
    "for", "with", "by", "from", "as", "is", "are", "was", "were", "be", "been", "being", "am",
    "i", "you", "he", "she", "it", "we", "they", "me", "my", "your", "our", "their", "his",
    "her", "its", "this", "that", "these", "those", "do", "does", "did", "have", "has", "had",
    "not", "no", "yes", "can", "could", "would", "should", "will", "just", "about", "there",
    "here", "what", "which", "who", "when", "how", "please", "okay", "ok", "um", "uh", "yeah",
    "well", "oh", "hi", "hello", "thanks", "thank", "i'm", "it's", "i've", "i'll", "i'd",
    "that's", "don't", "you're", "we're", "there's", "get", "got", "one", "also", "any",
])


def is_han(ch: str) -> bool:
    return bool(_HAN.match(ch))


def cjk_ratio(text: str) -> float:
    """Share of Han/kana among letters: decides Chinese vs English handling."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if is_han(ch)) / len(letters)


def join_words(words: Iterable[str]) -> str:
    """Join recognised words: no space between two Han words, one space otherwise."""
    out: list[str] = []
    for word in words:
        word = word.strip()
        if not word:
            continue
        if out and not (is_han(out[-1][-1]) and is_han(word[0])):
            out.append(" ")
        out.append(word)
    return "".join(out)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


@functools.lru_cache(maxsize=4096)
def _fold_same_length(text: str) -> str:
    """Case/width folding that keeps every index where it was."""
    out = []
    for ch in text:
        folded = _fold(ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def _is_latin_phrase(phrase: str) -> bool:
    folded = _fold(phrase)
    return any("a" <= ch <= "z" for ch in folded) and not any(is_han(ch) for ch in folded)


@dataclass(frozen=True)
class TermMatch:
    """A term found in a text: which term, and the text it matched (as written)."""

    term: str
    start: int
    end: int
    text: str


@functools.lru_cache(maxsize=4096)
def _compact(text: str) -> tuple[str, tuple[int, ...]]:
    """Text without spaces/punctuation (case-folded) and each kept char's original index."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold(ch)
        for f in folded:
            if f.isalnum():
                chars.append(f)
                index.append(i)
    return "".join(chars), tuple(index)


@functools.lru_cache(maxsize=4096)
def _plan(term: str) -> tuple[str, re.Pattern[str] | str] | None:
    """How a term is looked for, worked out once: a whole-word pattern for Latin terms,
    the compact needle for the others; None for a term that can never match."""
    if _is_latin_phrase(term):
        words = _WORD.findall(_fold(term))
        if not words:
            return None
        return "latin", re.compile(r"(?<![a-z0-9])" + r"[\W_]+".join(map(re.escape, words))
                                   + r"(?![a-z0-9])")
    needle, _ = _compact(term)
    return ("compact", needle) if needle else None


@functools.lru_cache(maxsize=256)
def _plans(terms: frozenset[str]) -> tuple[tuple[str, str, re.Pattern[str] | str], ...]:
    """The terms, longest first (a lexicon or keyword table is the same set call after
    call: its plans are kept)."""
    ordered = sorted((t for t in terms if t.strip()), key=lambda t: (-len(t), t))
    return tuple((t, *plan) for t in ordered if (plan := _plan(t)) is not None)


def find_terms(text: str, terms: Iterable[str]) -> list[TermMatch]:
    """Every non-overlapping occurrence of any term, longest term first at a position.

    Han terms match regardless of spaces or punctuation inside the text
    ("您 好" matches "您好"); Latin terms match whole words, case-insensitively.
    """
    plans = _plans(frozenset(terms))
    if not plans:
        return []
    found: list[TermMatch] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    compact, index = _compact(text)
    folded = _fold_same_length(text)
    for term, kind, how in plans:
        if kind == "latin":
            assert isinstance(how, re.Pattern)
            for m in how.finditer(folded):
                if free(m.start(), m.end()):
                    taken.append((m.start(), m.end()))
                    found.append(TermMatch(term, m.start(), m.end(), text[m.start():m.end()]))
        else:
            assert isinstance(how, str)
            pos = compact.find(how)
            while pos >= 0:
                s, e = index[pos], index[pos + len(how) - 1] + 1
                if free(s, e):
                    taken.append((s, e))
                    found.append(TermMatch(term, s, e, text[s:e]))
                pos = compact.find(how, pos + len(how))
    return sorted(found, key=lambda m: m.start)


def contains_phrase(text: str, phrases: Sequence[str]) -> TermMatch | None:
    """The first (leftmost) of the alternative phrases found in ``text``, if any."""
    matches = find_terms(text, phrases)
    return matches[0] if matches else None


def split_sentences(text: str) -> list[str]:
    """Split on sentence punctuation (Chinese and English); keeps the punctuation."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p]


def scoring_terms(text: str) -> list[str]:
    """Terms for TF-IDF-like scoring: Han character bigrams, English content words."""
    terms: list[str] = []
    for run in re.finditer(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[A-Za-z0-9']+", text):
        chunk = run.group()
        if is_han(chunk[0]):
            if len(chunk) == 1:
                terms.append(chunk)
            terms.extend(chunk[i:i + 2] for i in range(len(chunk) - 1))
        else:
            word = chunk.lower()
            if word not in _EN_STOPWORDS and len(word) > 1:
                terms.append(word)
    return terms


_ZH_DIGITS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
              "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_EN_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
              "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_ZH_RUN = re.compile(r"(?:[零〇一幺二两三四五六七八九]\s*){4,}")
_EN_RUN = re.compile(r"\b(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
                     r"(?:[\s,-]+|$)){4,}", re.IGNORECASE)


def normalize_spoken_digits(text: str) -> str:
    """Spoken digit strings as a recognizer writes them ("幺 三 八 ...", "one two three
    four") become Arabic digits, so numbers can be found. Runs of four or more
    only: "一个" or "one of" stay words."""
    def chinese(m: re.Match[str]) -> str:
        run = m.group()
        digits = "".join(_ZH_DIGITS[c] for c in run if c in _ZH_DIGITS)
        return digits + run[len(run.rstrip()):]

    text = _ZH_RUN.sub(chinese, text)

    def english(m: re.Match[str]) -> str:
        digits = "".join(_EN_DIGITS[w.lower()] for w in re.findall(r"[A-Za-z]+", m.group()))
        return digits + (" " if m.group()[-1:].isspace() else "")

    return _EN_RUN.sub(english, text)
