"""Field types shared by the four configuration files.

Custom validators raise ``PydanticCustomError("config", ...)`` with the offending
value in ``ctx["value"]``: the loader can then drop the value from the message
when it came from the environment (it may be a secret).
"""

from __future__ import annotations

import itertools
import re
import zoneinfo
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

LANGUAGES: tuple[str, ...] = ("zh", "en")
Lang = Literal["zh", "en"]
"""Supported caller/agent languages. Adding one means adding it here and to
``LocalizedText``/``Prompt``."""


class Strict(BaseModel):
    """Base of every config model: unknown keys are errors, values are immutable.

    ``coerce_numbers_to_str`` lets an admin write ``extension: 1001`` unquoted.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def config_error(message: str, value: Any = None) -> PydanticCustomError:
    """An error whose text the loader shows as is (``{value}`` is the repr of ``value``)."""
    ctx = {"value": repr(value)} if value is not None else {}
    return PydanticCustomError("config", message, ctx)


_IDENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def _check_ident(value: str) -> str:
    if not _IDENT_RE.fullmatch(value):
        raise config_error(
            "{value} is not a valid id: use letters, digits, '_', '.' and '-' "
            "(at most 64, not starting with '.' or '-')",
            value,
        )
    return value


Ident = Annotated[str, AfterValidator(_check_ident)]
"""Ids of queues, teams, skills, IVR nodes, agents and disposition codes."""


def _digits(min_len: int, max_len: int, what: str) -> Any:
    def check(value: str) -> str:
        if not (value.isascii() and value.isdigit() and min_len <= len(value) <= max_len):
            raise config_error(
                "{value} is not a valid " + what + f": use {min_len} to {max_len} digits only",
                value,
            )
        return value

    return AfterValidator(check)


Extension = Annotated[str, _digits(2, 10, "extension")]
PhoneNumber = Annotated[str, _digits(3, 20, "phone number")]

Level = Annotated[int, Field(ge=1, le=100)]
"""A skill level: 1 (beginner) .. 100 (expert)."""
Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[int, Field(ge=0)]
PositiveSeconds = Annotated[int, Field(ge=1)]
NonEmptyStr = Annotated[str, Field(min_length=1)]
DtmfKey = Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]
"""A phone key: IVR menus (``ivr.yaml``) and the callback key (``queues.yaml``) share it."""


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Relative paths are relative to the config directory's parent (the install root)."""
    if str(value) in ("", "."):
        raise config_error("must not be empty")
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return Path(base) / value
    return value


ResolvedPath = Annotated[Path, AfterValidator(_resolve_path)]


class LocalizedText(Strict):
    """A short text per language (display names, labels). At least one language."""

    zh: NonEmptyStr | None = None
    en: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> LocalizedText:
        if self.zh is None and self.en is None:
            raise config_error("give the text in at least one language (zh, en)")
        return self

    def get(self, lang: str, fallback: bool = True) -> str | None:
        """The text in ``lang``; with ``fallback`` any other language if it is missing."""
        text = getattr(self, lang, None) if lang in LANGUAGES else None
        if text is None and fallback:
            text = next((getattr(self, x) for x in LANGUAGES if getattr(self, x)), None)
        return text


class Prompt(Strict):
    """What the caller hears: text per language (spoken by TTS) and/or a sound file.

    A plain string is taken as a sound file name (``prompt: welcome``).
    """

    zh: NonEmptyStr | None = None
    en: NonEmptyStr | None = None
    sound: NonEmptyStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"sound": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _not_empty(self) -> Prompt:
        if self.zh is None and self.en is None and self.sound is None:
            raise config_error("give a text (zh, en) or a sound file name")
        return self

    def covers(self, lang: str) -> bool:
        """Whether a caller who chose ``lang`` hears something meant for them."""
        return self.sound is not None or getattr(self, lang, None) is not None


_RANGE_RE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


class TimeRange(Strict):
    """Opening hours within one day, ``"09:00-18:00"``; ``24:00`` ends at midnight."""

    start_minute: int
    end_minute: int

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        m = _RANGE_RE.fullmatch(value.strip())
        if not m:
            raise config_error("{value} is not a time range; write it like \"09:00-18:00\"", value)
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
            raise config_error("{value} has an impossible time (00:00 .. 24:00)", value)
        if start >= end:
            raise config_error(
                "{value} ends before it starts; split ranges that cross midnight "
                "into two days (\"22:00-24:00\" and \"00:00-06:00\")",
                value,
            )
        return {"start_minute": start, "end_minute": end}

    def __str__(self) -> str:
        return (
            f"{self.start_minute // 60:02d}:{self.start_minute % 60:02d}-"
            f"{self.end_minute // 60:02d}:{self.end_minute % 60:02d}"
        )


def _as_list(value: Any) -> Any:
    """Accept ``mon: "09:00-18:00"`` as well as ``mon: ["09:00-18:00"]``."""
    return [value] if isinstance(value, str) else value


DayHours = Annotated[tuple[TimeRange, ...], BeforeValidator(_as_list)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Weekly(Strict):
    """Opening hours per weekday; a day left out is closed all day."""

    mon: DayHours = ()
    tue: DayHours = ()
    wed: DayHours = ()
    thu: DayHours = ()
    fri: DayHours = ()
    sat: DayHours = ()
    sun: DayHours = ()

    @property
    def workday_hours(self) -> tuple[TimeRange, ...] | None:
        """A regular working day's hours: the first of Monday to Friday that has any."""
        return next((hours for day in WEEKDAYS[:5] if (hours := getattr(self, day))), None)

    @field_validator(*WEEKDAYS)
    @classmethod
    def _no_overlap(cls, ranges: tuple[TimeRange, ...]) -> tuple[TimeRange, ...]:
        ordered = sorted(ranges, key=lambda r: r.start_minute)
        for a, b in itertools.pairwise(ordered):
            if b.start_minute < a.end_minute:
                raise config_error(f"ranges {a} and {b} overlap")
        return tuple(ordered)


class ClosedAction(Strict):
    """What a caller gets outside business hours: a prompt, then an IVR node or voicemail.

    Without ``goto`` the call is hung up after the prompt.
    """

    prompt: Prompt | None = None
    goto: Ident | None = None
    """An IVR node id, or ``voicemail``."""


def _known_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise config_error(
            "{value} is not a known time zone; use an IANA name like Asia/Shanghai", value
        ) from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


def _unset_if_empty(value: object) -> object:
    """``"${NAME:-}"`` with NAME unset means "not configured", not an empty secret."""
    if isinstance(value, str) and not value:
        return None
    return value


OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_unset_if_empty)]


class BusinessHours(Strict):
    """When a queue (or an IVR ``hours`` node's schedule) is open."""

    timezone: TimeZoneName = "Asia/Shanghai"
    weekly: Weekly
    holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()
    """Weekend days worked to make up for a holiday (China's 调休): open on them with the
    hours of a regular working day (the first of Monday to Friday that has hours)."""
    closed_action: ClosedAction = Field(default_factory=ClosedAction)

    @field_validator("extra_workdays")
    @classmethod
    def _weekend_days(cls, value: tuple[date, ...],
                      info: ValidationInfo) -> tuple[date, ...]:
        if len(set(value)) != len(value):
            raise config_error("lists a date twice")
        for day in value:
            if day.weekday() < 5:
                raise config_error(f"{day} is a {WEEKDAYS[day.weekday()]}, a working day "
                                   "anyway; extra_workdays are weekend days worked instead "
                                   "of a holiday")
            if day in info.data.get("holidays", ()):
                raise config_error(f"{day} is also in holidays; a day is one or the other")
        weekly = info.data.get("weekly")
        if value and weekly is not None and weekly.workday_hours is None:
            raise config_error("no day from Monday to Friday has hours, so an extra "
                               "workday would have none; give weekly hours to a weekday")
        return value

    def hours_on(self, day: date) -> tuple[TimeRange, ...]:
        """The opening hours of a local date: none on a holiday, a working day's on an
        extra workday, else the weekday's."""
        if day in self.holidays:
            return ()
        if day in self.extra_workdays:
            return self.weekly.workday_hours or ()
        return getattr(self.weekly, WEEKDAYS[day.weekday()])

    def is_open(self, when: datetime) -> bool:
        """Whether the schedule is open at ``when`` (an aware datetime; naive = UTC)."""
        local = self.local(when)
        minute = local.hour * 60 + local.minute
        return any(r.start_minute <= minute < r.end_minute for r in self.hours_on(local.date()))

    def local(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            when = when.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))
        return when.astimezone(zoneinfo.ZoneInfo(self.timezone))

    def next_open(self, when: datetime, days: int = 30) -> datetime | None:
        """When the schedule next opens at or after ``when`` (None: not within ``days``)."""
        local = self.local(when)
        for offset in range(days + 1):
            day = (local + timedelta(days=offset)).date()
            for r in self.hours_on(day):
                start = datetime.combine(day, datetime.min.time(), local.tzinfo) + \
                    timedelta(minutes=r.start_minute)
                end = datetime.combine(day, datetime.min.time(), local.tzinfo) + \
                    timedelta(minutes=r.end_minute)
                if end > local:
                    return max(start, local)
        return None


__all__ = [
    "LANGUAGES",
    "WEEKDAYS",
    "BusinessHours",
    "ClosedAction",
    "DtmfKey",
    "Extension",
    "Ident",
    "Lang",
    "Level",
    "LocalizedText",
    "NonEmptyStr",
    "OptionalSecret",
    "PhoneNumber",
    "Port",
    "PositiveSeconds",
    "Prompt",
    "ResolvedPath",
    "Seconds",
    "Strict",
    "TimeRange",
    "TimeZoneName",
    "Weekly",
    "config_error",
]
