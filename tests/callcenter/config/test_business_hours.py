"""Business calendars: holidays close a day, extra_workdays (China's 调休) open a weekend
day with a working day's hours; both validated."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from callcenter.config import load_config
from callcenter.config.fields import BusinessHours
from ivr.runner import run_ivr

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKLY = {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"],
          "thu": ["09:00-18:00"], "fri": ["09:00-18:00"], "sat": ["10:00-12:00"]}


def hours(**kwargs) -> BusinessHours:
    return BusinessHours.model_validate({"weekly": WEEKLY, **kwargs})


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SHANGHAI)


def test_an_extra_workday_opens_a_weekend_day_with_weekday_hours():
    calendar = hours(holidays=["2026-02-17"], extra_workdays=["2026-02-14", "2026-02-15"])
    assert calendar.is_open(at("2026-02-14", "15:00"))  # Saturday, worked: 09-18
    assert not calendar.is_open(at("2026-02-21", "15:00"))  # another Saturday: 10-12
    assert calendar.is_open(at("2026-02-15", "09:00"))  # a Sunday worked
    assert not calendar.is_open(at("2026-02-15", "18:00"))
    assert not calendar.is_open(at("2026-02-17", "10:00"))  # the holiday
    assert calendar.is_open(at("2026-02-16", "10:00"))  # a plain Monday


def test_next_open_skips_holidays_and_finds_extra_workdays():
    calendar = hours(holidays=["2026-02-16", "2026-02-17"], extra_workdays=["2026-02-15"])
    assert calendar.next_open(at("2026-02-14", "13:00")) == at("2026-02-15", "09:00")
    assert calendar.next_open(at("2026-02-15", "10:30")) == at("2026-02-15", "10:30")
    assert calendar.next_open(at("2026-02-15", "19:00")) == at("2026-02-18", "09:00")
    assert hours(weekly={}).next_open(at("2026-02-15", "19:00")) is None


@pytest.mark.parametrize(("extra", "holidays", "message"), [
    (["2026-02-16"], [], "is a mon, a working day anyway"),
    (["2026-02-14", "2026-02-14"], [], "lists a date twice"),
    (["2026-02-14"], ["2026-02-14"], "also in holidays"),
])
def test_extra_workdays_are_validated(extra, holidays, message):
    with pytest.raises(ValidationError, match=message):
        hours(holidays=holidays, extra_workdays=extra)
    with pytest.raises(ValidationError, match="no day from Monday to Friday has hours"):
        BusinessHours.model_validate({"weekly": {"sat": ["10:00-12:00"]},
                                      "extra_workdays": ["2026-02-14"]})


class Caller:
    """Presses English (2), then sales (1)."""

    def __init__(self) -> None:
        self.keys = ["2", "1"]

    async def play(self, prompt, language) -> None:
        pass

    async def ask(self, prompt, language, max_digits, timeout):
        return self.keys.pop(0) if self.keys else None


async def test_the_sample_is_open_on_its_make_up_saturday():
    config = load_config(Path(__file__).resolve().parents[3] / "config", env={}).config
    sales = config.queues["sales"].business_hours
    assert date(2026, 2, 14) in sales.extra_workdays
    assert sales.is_open(at("2026-02-14", "17:00"))  # a Saturday, but worked: till 18:00
    assert not sales.is_open(at("2026-02-21", "17:00"))  # a plain Saturday: till 16:00
    outcome = await run_ivr(config.ivr, config.queues, Caller(), at("2026-02-14", "17:00"))
    assert outcome.route == "queue" and outcome.queue == "sales"
