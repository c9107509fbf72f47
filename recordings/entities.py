"""Find the numbers a call is about: order and account numbers, phone numbers,
resident ID numbers, amounts and dates, in Chinese and English text.

Rule based, on purpose: every entity carries the exact text it came from, and
the rules can be read. Order/account numbers need a cue word before them
("订单号", "order number") because a bare digit string says nothing about what
it is. Resident ID numbers (GB 11643-1999) are checked with their MOD 11-2
check digit and birth date; an ID-shaped number that fails is still reported
(``valid=False``: it may be misheard) and still masked.

Spoken digits as a recognizer writes them ("幺 三 八 ...", "one two three
four") should be turned into digits first with
:func:`recordings.text.normalize_spoken_digits`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["Entity", "extract_entities", "parse_chinese_number", "resident_id_check"]


@dataclass(frozen=True)
class Entity:
    """An entity found in a text.

    ``kind``: phone, id_number, account_number, order_number, amount, date.
    ``value``: normalised (digits only for numbers, "CNY 129.50", ISO dates,
    "+1d" for a relative date without a reference day). ``detail`` says which
    rule matched (e.g. "mobile", "service", "relative") or why an ID is invalid.
    """

    kind: str
    text: str
    value: str
    start: int
    end: int
    detail: str = ""
    valid: bool | None = None


# --------------------------------------------------------------------------- numbers

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}


def parse_chinese_number(text: str) -> float | None:
    """"一百二十" -> 120, "两千五" -> 2500 ("五" after 千 means 500), "三点五" -> 3.5,
    "十一" -> 11; ASCII digits pass through. None if it is not a number."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    integer, _, fraction = text.partition("点")
    if fraction and not all(ch in _CN_DIGIT for ch in fraction):
        return None
    if integer and all(ch in _CN_DIGIT for ch in integer) and len(integer) > 1:
        value = float("".join(str(_CN_DIGIT[ch]) for ch in integer))
    else:
        total = section = 0
        digit: int | None = None
        last_unit = 1
        for ch in integer:
            if ch in "零〇":  # "一千零五": what follows a zero is not scaled
                digit, last_unit = None, 1
            elif ch in _CN_DIGIT:
                digit = _CN_DIGIT[ch]
            elif ch in _CN_UNIT:
                section += (1 if digit is None else digit) * _CN_UNIT[ch]
                last_unit, digit = _CN_UNIT[ch], None
            elif ch in _CN_BIG:
                total += (section + (digit or 0)) * _CN_BIG[ch]
                section, digit, last_unit = 0, None, _CN_BIG[ch]
            else:
                return None
        if digit is not None:  # "两千五": a trailing digit counts in the next lower unit
            section += digit * (last_unit // 10 if last_unit >= 100 else 1)
        value = float(total + section)
    if fraction:
        value += float("0." + "".join(str(_CN_DIGIT[ch]) for ch in fraction))
    return value


# --------------------------------------------------------------------------- resident ID

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_check(number: str) -> tuple[bool, str]:
    """(valid, why) for an 18-character resident ID (GB 11643-1999, ISO 7064 MOD 11-2)."""
    number = number.upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False, "not 17 digits plus a check character"
    expected = _ID_CHECK[sum(int(d) * w for d, w in zip(number, _ID_WEIGHTS, strict=False)) % 11]
    if number[-1] != expected:
        return False, f"bad check digit (expected {expected})"
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False, "bad birth date"
    if not dt.date(1900, 1, 1) <= born <= dt.date.today():
        return False, "bad birth date"
    return True, "check digit ok"


# --------------------------------------------------------------------------- patterns

_ALNUM_ID = r"[A-Za-z0-9](?:[A-Za-z0-9-]{3,}[A-Za-z0-9])"
_ZH_GAP = r"[\s:：#,，]*(?:是|为|叫)?[\s:：#]*"
_EN_GAP = r"(?:\s+(?:is|was|number|no\.?|id)|\s*[:#])*\s*"

_ORDER = re.compile(
    rf"(?:(?:订单|运单|快递单|工单)(?:编号|号码|号)?|单号){_ZH_GAP}(?P<v>{_ALNUM_ID})"
    rf"|\b(?:order|tracking|ticket|case|reference|confirmation)(?:\s+(?:number|no\.?|id))?"
    rf"{_EN_GAP}(?P<w>{_ALNUM_ID})", re.IGNORECASE)
_ACCOUNT = re.compile(
    rf"(?:账号|帐号|账户|帐户|卡号|银行卡号?|会员号|客户号|户号){_ZH_GAP}(?P<v>{_ALNUM_ID})"
    rf"|\b(?:account|card|member(?:ship)?|customer)(?:\s+(?:number|no\.?|id))?"
    rf"{_EN_GAP}(?P<w>{_ALNUM_ID})", re.IGNORECASE)
_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
_SERVICE = re.compile(r"(?<!\d)[48]00[\s-]?\d{3}[\s-]?\d{4}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(?:\(0\d{2,3}\)|0\d{2,3})[\s-]?[2-9]\d{6,7}(?!\d)")
_US_PHONE = re.compile(r"(?<![\d(])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])"
                       r"\d{3}[\s.-]\d{4}(?!\d)")

_NUM = r"\d[\d,]*(?:\.\d+)?"
_CN_NUM = r"[零〇一二两三四五六七八九十百千万亿点]+"
_AMOUNT_CNY = re.compile(
    rf"[¥￥]\s?(?P<a>{_NUM})|(?P<b>{_NUM})\s?(?:元|块钱|块|人民币|RMB|rmb|yuan\b)"
    rf"|(?P<c>{_CN_NUM})(?:元|块钱|块)")
_AMOUNT_USD = re.compile(rf"(?:US)?\$\s?(?P<a>{_NUM})|(?P<b>{_NUM})\s?(?:dollars?|bucks|USD)\b",
                         re.IGNORECASE)

_MONTHS = {m: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for m in names}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_ISO = re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)")
_CN_D = r"[\d零〇一二三四五六七八九十]"
_DATE_ZH = re.compile(rf"(?:(?P<y>\d{{4}}|[零〇一二三四五六七八九]{{4}})年)?"
                      rf"(?P<m>{_CN_D}{{1,3}})月(?P<d>{_CN_D}{{1,3}})[日号]")
_DATE_EN = re.compile(
    rf"\b(?:(?P<m1>{_MONTH_RE})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?:the\s+)?(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH_RE})\.?)"
    rf"(?:,?\s+(?P<y>\d{{4}}))?\b", re.IGNORECASE)
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS_EN = {d: i for i, d in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
_REL_DAYS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3, "昨天": -1,
             "前天": -2, "today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1,
             "the day after tomorrow": 2, "the day before yesterday": -2}
_DATE_REL = re.compile(
    r"大后天|今天|今日|明天|明日|后天|昨天|前天"
    r"|(?P<zw>下下|下个?|上个?|这个?|本)?(?:周|星期|礼拜)(?P<zd>[一二三四五六日天])"
    r"|\b(?:the day after tomorrow|the day before yesterday|today|tonight|tomorrow|yesterday)\b"
    r"|\b(?:(?P<ew>next|this|last|on)\s+)?(?P<ed>monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday)\b", re.IGNORECASE)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _date_value(year: int | None, month: int, day: int,
                reference: dt.date | None) -> str | None:
    if year is None and reference is not None:
        year = reference.year
    try:
        dt.date(year or 2000, month, day)  # 2000 is a leap year: accepts 2/29 without a year
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"


def _cn_int(text: str) -> int | None:
    value = parse_chinese_number(text)
    return int(value) if value is not None and value == int(value) else None


def _matches(text: str, reference: dt.date | None) -> Iterator[Entity]:
    """All candidates, in priority order (earlier rules claim their span first)."""
    for kind, pattern in (("order_number", _ORDER), ("account_number", _ACCOUNT)):
        for m in pattern.finditer(text):
            group = "v" if m.group("v") else "w"
            value = m.group(group)
            if sum(ch.isdigit() for ch in value) >= 4:
                yield Entity(kind, value, value.upper(), m.start(group), m.end(group), "cue")
    for m in _ID.finditer(text):
        ok, why = resident_id_check(m.group())
        yield Entity("id_number", m.group(), m.group().upper(), m.start(), m.end(), why, ok)
    phone_rules: tuple[tuple[str, re.Pattern[str]], ...] = (
        ("mobile", _MOBILE), ("service", _SERVICE), ("landline", _LANDLINE),
        ("north-american", _US_PHONE))
    for detail, pattern in phone_rules:
        for m in pattern.finditer(text):
            value = _digits(m.group())
            if detail == "mobile" and len(value) > 11:
                value = value[-11:]
            yield Entity("phone", m.group(), value, m.start(), m.end(), detail)
    for m in _DATE_ISO.finditer(text):
        value = _date_value(int(m["y"]), int(m["m"]), int(m["d"]), reference)
        if value:
            yield Entity("date", m.group(), value, m.start(), m.end(), "absolute")
    for m in _DATE_ZH.finditer(text):
        year = _cn_int(m["y"]) if m["y"] else None
        month, day = _cn_int(m["m"]), _cn_int(m["d"])
        value = _date_value(year, month, day, reference) if month and day else None
        if value:
            yield Entity("date", m.group(), value, m.start(), m.end(), "absolute")
    for m in _DATE_EN.finditer(text):
        month = _MONTHS[(m["m1"] or m["m2"]).lower()]
        value = _date_value(int(m["y"]) if m["y"] else None, month, int(m["d1"] or m["d2"]),
                            reference)
        if value:
            yield Entity("date", m.group(), value, m.start(), m.end(), "absolute")
    for m in _DATE_REL.finditer(text):
        yield Entity("date", m.group(), _relative_value(m, reference), m.start(), m.end(),
                     "relative")
    for currency, pattern in (("CNY", _AMOUNT_CNY), ("USD", _AMOUNT_USD)):
        for m in pattern.finditer(text):
            raw = next(g for g in m.groups() if g)
            number = parse_chinese_number(raw.replace(",", ""))
            if number is not None:
                yield Entity("amount", m.group(), f"{currency} {number:.2f}", m.start(),
                             m.end(), currency)


def _relative_value(m: re.Match[str], reference: dt.date | None) -> str:
    word = m.group().lower()
    if word in _REL_DAYS:
        offset = _REL_DAYS[word]
        if reference is None:
            return f"{offset:+d}d"
        return (reference + dt.timedelta(days=offset)).isoformat()
    if m["zd"]:
        weekday, which = _WEEKDAYS_ZH[m["zd"]], m["zw"] or ""
        shift = {"下下": 2, "下": 1, "下个": 1, "上": -1, "上个": -1}.get(which, 0)
    else:
        weekday, which = _WEEKDAYS_EN[m["ed"].lower()], (m["ew"] or "").lower()
        shift = {"next": 1, "last": -1}.get(which, 0)
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    if reference is None:
        return f"{names[weekday]}{shift:+d}w" if shift else names[weekday]
    monday = reference - dt.timedelta(days=reference.weekday())
    return (monday + dt.timedelta(weeks=shift, days=weekday)).isoformat()


def extract_entities(text: str, reference: dt.date | None = None,
                     keep: Callable[[Entity], bool] | None = None) -> list[Entity]:
    """Entities in ``text``, left to right, never two on the same characters.

    ``reference`` (the call's date) turns relative dates ("明天", "next Monday")
    and year-less dates into ISO dates.
    """
    taken: list[tuple[int, int]] = []
    found: list[Entity] = []
    for entity in _matches(text, reference):
        if any(entity.start < e and entity.end > s for s, e in taken):
            continue
        if keep is not None and not keep(entity):
            continue
        taken.append((entity.start, entity.end))
        found.append(entity)
    return sorted(found, key=lambda e: e.start)
