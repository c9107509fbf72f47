"""Report intervals on the local clock (callcenter/reports/periods.py): weeks from Monday,
months, days of 23 and 25 hours across daylight-saving changes, hours in zones whose
offset is not whole hours; and the scenario's figures in 30-minute, week and month
intervals (each the sum of the smaller ones checked by hand in test_reports_scenario)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from callcenter.reports.periods import Buckets, parse_day

from .test_reports_scenario import SALES_X, SALES_Y, cells, check, report

BERLIN = ZoneInfo("Europe/Berlin")


def local(text: str, zone: ZoneInfo) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def test_days_across_daylight_saving_have_23_and_25_hours():
    for day, hours in (("2025-03-30", 23), ("2025-10-26", 25), ("2025-06-01", 24)):
        t0 = parse_day(day, BERLIN)
        t1 = Buckets(t0, t0 + 1, "day", BERLIN).ends[0]
        assert t1 - t0 == hours * 3600, day
        hourly = Buckets(t0, t1, "60m", BERLIN)
        assert len(hourly.starts) == hours, day
        assert all(e - s == 3600 for s, e in zip(hourly.starts, hourly.ends, strict=True))
        assert hourly.ends[-1] == t1
    # the hour that happens twice in October is two buckets with the same local label
    t0 = parse_day("2025-10-26", BERLIN)
    hourly = Buckets(t0, t0 + 25 * 3600, "60m", BERLIN)
    labels = [hourly.label(i) for i in range(25)]
    assert labels[1:4] == ["2025-10-26 01:00", "2025-10-26 02:00", "2025-10-26 02:00"]


def test_hours_start_on_the_local_hour_where_the_offset_is_not_whole_hours():
    for name in ("Asia/Kolkata", "America/St_Johns", "Asia/Kathmandu"):
        zone = ZoneInfo(name)
        t0 = parse_day("2025-11-14", zone)
        b = Buckets(t0, t0 + 86400, "60m", zone)
        assert len(b.starts) == 24, name
        assert all(datetime.fromtimestamp(s, zone).minute == 0 for s in b.starts), name
        quarter = Buckets(t0, t0 + 3600, "15m", zone)
        assert [quarter.label(i)[-5:] for i in range(4)] == ["00:00", "00:15", "00:30",
                                                            "00:45"]


def test_weeks_start_on_monday_and_months_on_the_first():
    zone = ZoneInfo("Asia/Shanghai")
    t0, t1 = parse_day("2025-11-14", zone), parse_day("2025-12-03", zone)
    weeks = Buckets(t0, t1, "week", zone)
    assert [weeks.label(i) for i in range(len(weeks.starts))] == [
        "2025-11-10", "2025-11-17", "2025-11-24", "2025-12-01"]
    assert weeks.index(t0 - 1) is None and weeks.index(t0) == 0  # the period, not the week
    months = Buckets(t0, t1, "month", zone)
    assert [months.label(i) for i in range(len(months.starts))] == ["2025-11", "2025-12"]
    assert months.ends[0] == parse_day("2025-12-01", zone)
    # every second of the period falls in exactly one piece
    assert sum(s for _i, s in weeks.split(t0 - 100, t1 + 100)) == t1 - t0


async def test_the_scenario_in_half_hours_weeks_and_months(evening):
    stack, _tasks = evening
    halves = cells(await report(stack, "2025-11-14", "2025-11-15", interval="30m",
                                by="queue"), "sales")
    assert list(halves) == ["2025-11-14 23:30", "2025-11-15 00:00"]
    check(halves["2025-11-14 23:30"], SALES_X, "sales 23:30-24:00")  # all of hour X's
    for interval, label in (("week", "2025-11-10"), ("month", "2025-11")):
        data = await report(stack, "2025-11-14", "2025-11-15", interval=interval,
                            by="queue")
        sales = cells(data, "sales")
        assert list(sales) == [label], interval
        check(sales[label], {
            "offered": 5, "answered": 3, "answered_in_sl": 1, "abandoned": 2,
            "abandoned_short": 1, "asa": (12 + 24 + 100) / 3, "handled": 3,
            "aht": (188 + 915) / 3, "wait_max": 100.0, "callbacks_requested": 2,
            "callbacks_served": 1, "callbacks_failed": 1, "csat_count": 2, "csat_avg": 3.0,
            "fcr_contacts": 2, "fcr_resolved": 1,
            "busy_time": SALES_X["busy_time"] + SALES_Y["busy_time"],
            "not_ready_by_reason": {"meeting": 310.0, "break": 240.0}}, interval)
