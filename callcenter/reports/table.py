"""The report as a table of text, in Chinese or English: what the page shows, and exactly
what the CSV and Excel downloads hold (the page renders these cells, it formats nothing).

Numbers are written plainly so a spreadsheet reads them: percentages with one decimal in
columns marked %, times in seconds with one decimal in columns marked (s), empty where a
figure has no denominator (no calls answered, no SL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .figures import TOTAL, Counters, Table

COUNT, PCT, SECONDS, SCORE = "count", "pct", "seconds", "score"

# (figure, unit, zh, en); agent rows leave out what only a queue has
_COLUMNS: list[tuple[str, str, str, str]] = [
    ("offered", COUNT, "进线", "Offered"),
    ("answered", COUNT, "接起", "Answered"),
    ("abandoned", COUNT, "放弃", "Abandoned"),
    ("abandoned_short", COUNT, "短时放弃", "Short abandons"),
    ("service_level", PCT, "服务水平 SL %", "SL %"),
    ("service_level_2", PCT, "服务水平 SL2 %", "SL2 %"),
    ("abandon_rate", PCT, "放弃率 %", "Abandon rate %"),
    ("asa", SECONDS, "平均应答 ASA (s)", "ASA (s)"),
    ("avg_wait", SECONDS, "平均等待 (s)", "Avg wait (s)"),
    ("wait_max", SECONDS, "最长等待 (s)", "Max wait (s)"),
    ("aht", SECONDS, "平均处理时长 AHT (s)", "AHT (s)"),
    ("timed_out", COUNT, "等待超时", "Expired (max wait)"),
    ("transfers", COUNT, "转接", "Transfers"),
    ("callbacks_requested", COUNT, "回拨请求", "Callbacks requested"),
    ("callbacks_served", COUNT, "回拨完成", "Callbacks served"),
    ("callbacks_expired", COUNT, "回拨过期", "Callbacks expired"),
    ("callbacks_failed", COUNT, "回拨失败", "Callbacks failed"),
    ("occupancy", PCT, "占用率 %", "Occupancy %"),
    ("not_ready_time", SECONDS, "未就绪时长 (s)", "Not ready (s)"),
    ("fcr", PCT, "首次解决率 FCR %", "FCR %"),
    ("csat_count", COUNT, "满意度评价数", "CSAT ratings"),
    ("csat_avg", SCORE, "满意度均分 (1-5)", "CSAT avg (1-5)"),
    ("csat_pct", PCT, "满意度 CSAT %", "CSAT %"),
]
_QUEUE_ONLY = frozenset({"abandoned", "abandoned_short", "service_level_2", "abandon_rate",
                         "timed_out", "callbacks_requested", "callbacks_served",
                         "callbacks_expired", "callbacks_failed"})
_AGENT_LABELS = {"offered": ("振铃", "Offers")}
_HEAD = {"zh": {"interval": "时段", "queue": "队列", "agent": "坐席", "channel": "渠道",
                "medium": "接入方式", "total": "合计", "not_ready": "未就绪：{r} (s)",
                "period": "整个时段"},
         "en": {"interval": "Interval", "queue": "Queue", "agent": "Agent",
                "channel": "Channel", "medium": "Medium", "total": "Total",
                "not_ready": "Not ready: {r} (s)", "period": "Whole period"}}
_CHANNELS = {"zh": {"voice": "电话", "chat": "会话"}, "en": {"voice": "Voice", "chat": "Chat"}}
_MEDIA = {"zh": {"pstn": "来电", "callback": "回拨", "web": "网页会话", "wechat": "微信"},
          "en": {"pstn": "Phone", "callback": "Callback", "web": "Web chat", "wechat": "WeChat"}}
_REASONS = {"zh": {"break": "休息", "lunch": "午餐", "training": "培训", "meeting": "会议",
                   "other": "其他", "supervisor": "主管设置", "missed offers": "未接过多",
                   "after wrap-up": "话后处理结束", "not ready": "未就绪", "login": "刚签入"},
            "en": {}}


def columns(by: str, lang: str) -> list[dict[str, str]]:
    """The figure columns for rows of ``by``: key, unit and label."""
    out = []
    for key, unit, zh, en in _COLUMNS:
        if by == "agent" and key in _QUEUE_ONLY:
            continue
        if by == "agent" and key in _AGENT_LABELS:
            zh, en = _AGENT_LABELS[key]
        out.append({"key": key, "unit": unit, "label": zh if lang == "zh" else en})
    return out


def reason_label(reason: str, lang: str) -> str:
    return _REASONS.get(lang, {}).get(reason, reason)


def channel_label(channel: str, lang: str) -> str:
    return _CHANNELS[lang].get(channel, channel)


def medium_label(medium: str, lang: str) -> str:
    return _MEDIA[lang].get(medium, channel_label(medium, lang))


def ordered(keys: list[str], by: str, label: Callable[[str], str]) -> list[str]:
    """Rows in the order the page shows them: media as listed above, others by label."""
    known = list(_MEDIA["en"])
    if by == "medium":
        return sorted(keys, key=lambda k: (known.index(k) if k in known else len(known),
                                           label(k)))
    return sorted(keys, key=label)


def cell(value: Any, unit: str) -> str:
    """One figure as the table shows it."""
    if value is None:
        return ""
    if unit == COUNT:
        return str(int(value))
    if unit == PCT:
        return f"{value * 100:.1f}"
    if unit == SCORE:
        return f"{value:.2f}"
    return f"{value:.1f}"


def reasons(table: Table) -> list[str]:
    """Every not-ready reason seen in the report, in order."""
    return sorted({r for c in table.cells.values() for r in c.not_ready_by_reason})


def header(by: str, lang: str, found: list[str], *, per_interval: bool) -> list[str]:
    head = _HEAD[lang]
    first = [head["interval"]] if per_interval else []
    return [*first, head[by], *(c["label"] for c in columns(by, lang)),
            *(head["not_ready"].format(r=reason_label(r, lang)) for r in found)]


def line(c: Counters, by: str, lang: str, found: list[str]) -> list[str]:
    figures = c.figures()
    return [*(cell(figures[col["key"]], col["unit"]) for col in columns(by, lang)),
            *(cell(c.not_ready_by_reason.get(r), SECONDS) for r in found)]


def text_tables(table: Table, lang: str,
                label: Callable[[str], str]) -> dict[str, dict[str, list[Any]]]:
    """``summary`` (a row per queue/agent/channel/medium over the period, then the total) and
    ``intervals`` (per interval: each row with figures in it, then the interval's total)."""
    by = table.by
    found = reasons(table)
    total = _HEAD[lang]["total"]
    keys = ordered(table.keys(), by, label)
    summary = [[label(k), *line(table.period(k), by, lang, found)] for k in keys]
    summary.append([total, *line(table.period(TOTAL), by, lang, found)])
    intervals = []
    b = table.buckets
    for i in range(len(b.starts)):
        if (TOTAL, i) not in table.cells:
            continue
        when = b.label(i)
        for k in keys:
            c = table.cells.get((k, i))
            if c is not None:
                intervals.append([when, label(k), *line(c, by, lang, found)])
        intervals.append([when, total, *line(table.cells[(TOTAL, i)], by, lang, found)])
    return {"summary": {"header": header(by, lang, found, per_interval=False),
                        "rows": summary},
            "intervals": {"header": header(by, lang, found, per_interval=True),
                          "rows": intervals}}
