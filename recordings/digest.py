"""The summary as one short paragraph: what an agent reads in wrap-up and screen-pops.

Built from a (usually masked) :class:`recordings.summary.Summary`, in the call's
language (Chinese labels for ``zh``, English otherwise). It says no more than the
summary's fields, so every part of it can be traced to the words that led to it.
"""

from __future__ import annotations

from recordings.summary import Summary

__all__ = ["summary_text", "unavailable_text"]

_LABELS = {
    "zh": {"reason": "来电原因", "topics": "话题", "facts": "信息", "mood": "客户情绪",
           "key": "要点", "sep": "；", "end": "。", "colon": "：", "list": "、",
           "negative": "负面", "neutral": "平稳", "positive": "正面", "angry": "，客户愤怒",
           "phone": "电话", "id_number": "身份证号", "account_number": "账号",
           "order_number": "订单号", "amount": "金额", "date": "日期",
           "empty": "通话中未识别到可总结的内容。"},
    "en": {"reason": "Reason", "topics": "Topics", "facts": "Details", "mood": "Customer",
           "key": "Key points", "sep": "; ", "end": ".", "colon": ": ", "list": ", ",
           "negative": "negative", "neutral": "calm", "positive": "positive",
           "angry": ", angry", "phone": "phone", "id_number": "ID number",
           "account_number": "account", "order_number": "order", "amount": "amount",
           "date": "date", "empty": "Nothing to summarise was recognised in the call."},
}
_UNAVAILABLE = "未能生成摘要 · No summary: the call could not be transcribed."


def unavailable_text() -> str:
    """What the agent sees when the call could not be transcribed (both languages)."""
    return _UNAVAILABLE


def summary_text(summary: Summary, *, key_sentences: int = 2) -> str:
    """One paragraph: reason, topics, details (entities), the caller's mood, key points."""
    words = _LABELS["zh" if summary.language == "zh" else "en"]
    parts = []

    def part(label: str, text: str) -> None:
        parts.append(f"{words[label]}{words['colon']}{text.rstrip('。.!！?？')}{words['end']}")

    if summary.reason is not None:
        part("reason", summary.reason.text)
    if summary.topics:
        part("topics", words["list"].join(t.name for t in summary.topics))
    facts = list(dict.fromkeys(f"{words.get(e.kind, e.kind)} {e.value}"
                               for e in summary.entities))
    if facts:
        part("facts", words["list"].join(facts))
    mood = summary.sentiment
    if mood.label != "neutral" or mood.angry:
        part("mood", words[mood.label] + (words["angry"] if mood.angry else ""))
    reason_text = summary.reason.text if summary.reason else ""
    points = [k.text for k in summary.key_sentences if k.text not in reason_text]
    if points[:key_sentences]:
        part("key", words["sep"].join(p.rstrip("。.") for p in points[:key_sentences]))
    return " ".join(parts) if parts else words["empty"]
