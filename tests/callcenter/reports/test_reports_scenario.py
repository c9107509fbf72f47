"""Every statistic of a known scenario (``scenario.py``) against values worked out by hand,
for 15- and 60-minute intervals and across midnight in Asia/Shanghai; and today's figures
against the live wallboard's."""

from __future__ import annotations

import math

import acd
from callcenter.reports.services import ReportService
from callcenter.wallboard.notifier import WallboardNotifier
from callcenter.wallboard.services import WallboardService
from callcenter.webkit.principal import Principal

from .scenario import Scenario, at
from .test_queue_log_export import parse

ADMIN = Principal("admin", "admin", None, None)
ZERO = {"offered": 0, "answered": 0, "abandoned": 0, "abandoned_short": 0, "handled": 0,
        "transfers": 0, "timed_out": 0, "callbacks_requested": 0, "csat_count": 0}


async def report(stack, start: str, end: str | None = None, *, interval: str, by: str,
                 queues: str | None = None) -> dict:
    service = stack.need(ReportService)
    request = service.request(start=start, end=end, interval=interval, by=by, queues=queues)
    return await service.report(ADMIN, request, "en")


def cells(data: dict, key: str) -> dict[str, dict]:
    """A row's figures by interval label (only intervals where something happened)."""
    row = data["total"] if key == "*" else next(r for r in data["rows"] if r["key"] == key)
    return {b["label"]: f for b, f in zip(data["buckets"], row["buckets"], strict=True)
            if f is not None}


def check(got: dict, want: dict, where: str) -> None:
    for name, value in want.items():
        have = got[name]
        if isinstance(value, float) and have is not None:
            assert math.isclose(have, value, rel_tol=1e-9), f"{where} {name}: {have} != {value}"
        else:
            assert have == value, f"{where} {name}: {have} != {value}"


# Hand-worked figures (see scenario.py). X = 23:00-24:00 on the 14th, Y = 00:00-01:00.
SALES_X = {"offered": 4, "answered": 2, "answered_in_sl": 1, "abandoned": 2,
           "abandoned_short": 1, "abandoned_in_sl": 1, "service_level": 0.5,
           "service_level_2": 0.5, "abandon_rate": 1 / 3, "asa": 18.0, "waits": 4,
           "avg_wait": 19.75, "wait_max": 40.0, "handled": 1, "talk": 180.0, "hold": 0.0,
           "wrapup": 8.0, "aht": 188.0, "transfers": 0, "timed_out": 0,
           "callbacks_requested": 1, "callbacks_served": 1, "callbacks_failed": 0,
           "csat_count": 1, "csat_avg": 4.0, "csat_pct": 1.0, "fcr_contacts": 2,
           "fcr_resolved": 1, "fcr": 0.5, "busy_time": 756.0, "wrap_up_time": 8.0,
           "ready_time": 700.0, "reserved_time": 26.0, "not_ready_time": 310.0,
           "not_ready_by_reason": {"meeting": 310.0}, "occupancy": 764 / 1490}
SALES_Y = {"offered": 1, "answered": 1, "answered_in_sl": 0, "abandoned": 0,
           "service_level": 0.0, "service_level_2": 0.0, "abandon_rate": 0.0, "asa": 100.0,
           "avg_wait": 100.0, "wait_max": 100.0, "handled": 2, "talk": 901.0, "hold": 0.0,
           "wrapup": 14.0, "aht": 457.5, "transfers": 0, "callbacks_requested": 1,
           "callbacks_served": 0, "callbacks_failed": 1, "csat_count": 1, "csat_avg": 2.0,
           "csat_pct": 0.0, "fcr_contacts": 0, "fcr": None, "busy_time": 325.0,
           "wrap_up_time": 14.0, "reserved_time": 10.0, "ready_time": 611.0,
           "not_ready_time": 240.0, "not_ready_by_reason": {"break": 240.0},
           "occupancy": 339 / 960}
SUPPORT_X = {"offered": 1, "answered": 1, "answered_in_sl": 1, "abandoned": 0,
             "service_level": 1.0, "service_level_2": 1.0, "asa": 10.0, "wait_max": 10.0,
             "handled": 0, "aht": None, "transfers": 0, "fcr_contacts": 1, "fcr_resolved": 1,
             "csat_count": 0, "csat_avg": None, "busy_time": 110.0, "ready_time": 1680.0,
             "reserved_time": 10.0, "occupancy": 110 / 1800}
SUPPORT_Y = {"offered": 1, "answered": 1, "answered_in_sl": 1, "service_level": 1.0,
             "asa": 5.0, "transfers": 1, "handled": 2, "talk": 470.0, "hold": 30.0,
             "wrapup": 30.0, "aht": 265.0, "fcr_contacts": 1, "fcr_resolved": 1, "fcr": 1.0,
             "csat_count": 1, "csat_avg": 5.0, "csat_pct": 1.0, "busy_time": 360.0,
             "wrap_up_time": 30.0, "ready_time": 805.0, "reserved_time": 5.0,
             "occupancy": 390 / 1200}


async def test_every_figure_by_queue_hourly_across_midnight(evening):
    stack, _tasks = evening
    data = await report(stack, "2025-11-14", "2025-11-15", interval="60m", by="queue")
    assert data["timezone"] == "Asia/Shanghai"
    assert data["buckets"][0]["label"] == "2025-11-14 00:00"
    assert len(data["buckets"]) == 48  # two local days
    sales, support = cells(data, "sales"), cells(data, "support")
    assert set(sales) == {"2025-11-14 23:00", "2025-11-15 00:00"}
    check(sales["2025-11-14 23:00"], SALES_X, "sales X")
    check(sales["2025-11-15 00:00"], SALES_Y, "sales Y")
    check(support["2025-11-14 23:00"], SUPPORT_X, "support X")
    check(support["2025-11-15 00:00"], SUPPORT_Y, "support Y")
    total = cells(data, "*")
    check(total["2025-11-14 23:00"], {
        "offered": 5, "answered": 3, "abandoned": 2, "asa": 46 / 3, "busy_time": 866.0,
        "ready_time": 2380.0, "occupancy": 874 / 3290, "fcr_contacts": 3,
        "fcr_resolved": 2}, "total X")
    check(total["2025-11-15 00:00"], {
        "offered": 2, "answered": 2, "handled": 4, "aht": (915 + 530) / 4, "transfers": 1,
        "csat_count": 2, "csat_avg": 3.5, "csat_pct": 0.5, "occupancy": 729 / 2160,
        "not_ready_by_reason": {"break": 240.0}}, "total Y")
    # the whole period, summed
    period = {r["key"]: r["period"] for r in data["rows"]}
    check(period["sales"], {"offered": 5, "answered": 3, "answered_in_sl": 1,
                            "service_level": 1 / 3, "handled": 3, "aht": (188 + 915) / 3,
                            "wait_max": 100.0, "callbacks_requested": 2}, "sales period")
    check(data["total"]["period"], {"fcr_contacts": 4, "fcr_resolved": 3, "fcr": 0.75,
                                    "csat_count": 3, "csat_avg": 11 / 3}, "period")


async def test_every_figure_of_sales_in_quarter_hours(evening):
    stack, _tasks = evening
    data = await report(stack, "2025-11-14", "2025-11-15", interval="15m", by="queue",
                        queues="sales")
    assert [r["key"] for r in data["rows"]] == ["sales"]
    sales = cells(data, "sales")
    assert list(sales) == ["2025-11-14 23:30", "2025-11-14 23:45", "2025-11-15 00:00",
                           "2025-11-15 00:15"]
    check(sales["2025-11-14 23:30"], {
        "offered": 1, "answered": 1, "answered_in_sl": 1, "service_level": 1.0, "asa": 12.0,
        "abandoned": 0, "handled": 1, "aht": 188.0, "csat_count": 1, "csat_avg": 4.0,
        "fcr_contacts": 1, "fcr_resolved": 0, "ready_time": 700.0, "reserved_time": 12.0,
        "busy_time": 180.0, "wrap_up_time": 8.0, "occupancy": 188 / 900}, "23:30")
    check(sales["2025-11-14 23:45"], {
        "offered": 3, "answered": 1, "answered_in_sl": 0, "service_level": 0.0,
        "abandoned": 2, "abandoned_short": 1, "abandoned_in_sl": 1,
        "service_level_2": 1 / 3, "abandon_rate": 0.5, "asa": 24.0, "waits": 3,
        "avg_wait": 67 / 3, "wait_max": 40.0, "handled": 0, "callbacks_requested": 1,
        "callbacks_served": 1, "fcr_contacts": 1, "fcr_resolved": 1, "ready_time": 0.0,
        "reserved_time": 14.0, "busy_time": 576.0, "not_ready_time": 310.0,
        "occupancy": 576 / 590}, "23:45")
    check(sales["2025-11-15 00:00"], {
        "offered": 1, "answered": 1, "asa": 100.0, "handled": 2, "aht": 457.5,
        "callbacks_requested": 1, "callbacks_failed": 1, "csat_count": 1, "csat_pct": 0.0,
        "busy_time": 325.0, "wrap_up_time": 14.0, "reserved_time": 10.0, "ready_time": 311.0,
        "not_ready_time": 240.0, "occupancy": 339 / 660}, "00:00")
    check(sales["2025-11-15 00:15"], {**ZERO, "ready_time": 300.0, "occupancy": 0.0}, "00:15")


async def test_every_figure_by_agent_and_by_channel(evening):
    stack, _tasks = evening
    data = await report(stack, "2025-11-14", "2025-11-15", interval="60m", by="agent")
    assert [r["key"] for r in data["rows"]] == ["lina", "wangfang"]  # the others: no data
    lina, wang = cells(data, "lina"), cells(data, "wangfang")
    check(lina["2025-11-14 23:00"], {
        "offered": 2, "answered": 2, "answered_in_sl": 1, "asa": 18.0, "handled": 1,
        "aht": 188.0, "csat_count": 1, "fcr_contacts": 2, "fcr_resolved": 1,
        "abandoned": 0, "occupancy": 764 / 1490}, "lina X")
    check(lina["2025-11-15 00:00"], {
        "offered": 1, "answered": 1, "handled": 2, "aht": 457.5, "csat_avg": 2.0,
        "fcr_contacts": 0, "not_ready_by_reason": {"break": 240.0}}, "lina Y")
    check(wang["2025-11-14 23:00"], {"offered": 1, "answered": 1, "asa": 10.0,
                                     "fcr_contacts": 1, "occupancy": 110 / 1800}, "wang X")
    check(wang["2025-11-15 00:00"], {"offered": 1, "answered": 1, "transfers": 1,
                                     "handled": 2, "hold": 30.0, "aht": 265.0,
                                     "csat_avg": 5.0, "occupancy": 390 / 1200}, "wang Y")
    data = await report(stack, "2025-11-15", interval="day", by="channel")
    voice, chat = cells(data, "voice"), cells(data, "chat")
    check(voice["2025-11-15"], {"offered": 1, "answered": 1, "handled": 3,
                                "hold": 30.0, "aht": (726 + 189 + 215) / 3, "csat_count": 1,
                                "fcr_contacts": 1, "fcr_resolved": 1}, "voice")
    check(chat["2025-11-15"], {"offered": 1, "answered": 1, "asa": 5.0, "handled": 1,
                               "aht": 315.0, "csat_avg": 5.0, "fcr_contacts": 1}, "chat")


async def test_days_split_at_local_midnight(evening):
    stack, _tasks = evening
    data = await report(stack, "2025-11-14", "2025-11-15", interval="day", by="queue")
    assert [b["label"] for b in data["buckets"]] == ["2025-11-14", "2025-11-15"]
    assert data["buckets"][1]["start"] == at("00:00:00")  # 16:00 UTC: midnight in Shanghai
    sales = cells(data, "sales")
    check(sales["2025-11-14"], SALES_X, "sales day 1")
    check(sales["2025-11-15"], {k: v for k, v in SALES_Y.items()
                                if not k.startswith("fcr")}, "sales day 2")
    # A report of the second day alone counts C5's first answer there (sales, by lina)
    check(sales["2025-11-15"], {"fcr_contacts": 0}, "two-day report")
    day2 = cells(await report(stack, "2025-11-15", interval="day", by="queue"), "sales")
    check(day2["2025-11-15"], {"fcr_contacts": 1, "fcr_resolved": 1, "offered": 1},
          "one-day report")


async def test_today_equals_the_live_wallboard(evening):
    stack, _tasks = evening
    notifier = stack.need(WallboardNotifier)
    await stack.until(lambda: notifier.caught_up, what="the wallboard to count every event")
    board = stack.need(WallboardService).snapshot()
    assert board["day_start"] == at("00:00:00")
    for tile in board["queues"]:
        qid = tile["id"]
        data = await report(stack, "2025-11-15", interval="day", by="queue", queues=qid)
        today = data["total"]["period"]
        for report_name, board_name in (("offered", "entered"), ("answered", "answered"),
                                        ("abandoned", "abandoned"),
                                        ("service_level", "service_level"), ("asa", "asa"),
                                        ("abandon_rate", "abandon_rate")):
            assert today[report_name] == tile[board_name], (qid, report_name)
        by_channel = {r["key"]: r["period"] for r in (await report(
            stack, "2025-11-15", interval="day", by="channel", queues=qid))["rows"]}
        for channel, counts in tile["by_channel"].items():
            mine = by_channel.get(channel, {"offered": 0, "answered": 0})
            assert {"offered": mine["offered"], "answered": mine["answered"]} == counts, \
                (qid, channel)
    sales = next(t for t in board["queues"] if t["id"] == "sales")
    assert (sales["entered"], sales["answered"], sales["service_level"]) == (1, 1, 0.0)
    # the wallboard's interval chart: each of today's bars equals the report's interval
    assert board["interval_seconds"] == 900
    quarters = await report(stack, "2025-11-15", interval="15m", by="queue")
    starts = [b["start"] for b in quarters["buckets"]]
    rows = {r["key"]: r["buckets"] for r in quarters["rows"]}
    assert board["intervals"], "no bars today"
    for bar in board["intervals"]:
        mine = rows[bar["queue"]][starts.index(bar["start"])] or {}
        assert {k: mine.get(f, 0) for k, f in (("entered", "offered"), (
            "answered", "answered"), ("abandoned", "abandoned"))} == \
            {k: bar[k] for k in ("entered", "answered", "abandoned")}, bar
    bars = {(bar["queue"], bar["start"]) for bar in board["intervals"]}
    for queue, figures in rows.items():  # and nothing the report counts is missing there
        for start, f in zip(starts, figures, strict=True):
            if f and (f["offered"] or f["answered"] or f["abandoned"]):
                assert (queue, start) in bars, (queue, start)


async def test_chats_by_medium_web_and_wechat(evening):
    """After the evening, a WeChat chat of a new customer D in support: 00:30:00 arrives,
    00:30:10 wangfang accepts (wait 10), 00:36:10 she ends it (talk 360), 00:36:20 her
    wrap-up ends (10 s), 00:37:00 D rates it 3 (WeChat)."""
    stack, _tasks = evening
    steps = Scenario(stack)
    await steps.step("00:30:00")
    d = await stack.customer("D", openid="oD-report-0001")
    task = await stack.chat_arrives("support", d, medium="wechat")
    await steps.step("00:30:10")
    await stack.accept_chat("wangfang", task)
    await steps.step("00:36:10")
    stack.end_chat(task, "wangfang")
    await steps.step("00:36:20")
    stack.deps.routing.finish_wrapup("wangfang", task)
    await steps.step("00:37:00")
    assert await stack.deps.store.record_csat(task, 3, source="wechat", at=at("00:37:00"))
    await steps.step("00:40:00")

    data = await report(stack, "2025-11-15", interval="day", by="medium")
    assert [r["key"] for r in data["rows"]] == ["pstn", "callback", "web", "wechat"]
    assert [r["label"] for r in data["rows"]] == ["Phone", "Callback", "Web chat", "WeChat"]
    period = {r["key"]: r["period"] for r in data["rows"]}
    check(period["pstn"], {"offered": 1, "answered": 1, "asa": 100.0, "transfers": 1,
                           "handled": 3, "hold": 30.0, "aht": (726 + 189 + 215) / 3,
                           "csat_count": 1, "csat_avg": 2.0, "fcr_contacts": 1,
                           "fcr_resolved": 1, "callbacks_requested": 0,
                           "occupancy": None, "ready_time": 0.0}, "pstn")
    check(period["callback"], {"offered": 0, "callbacks_requested": 1,
                               "callbacks_failed": 1, "csat_count": 0}, "callback")
    check(period["web"], {"offered": 1, "answered": 1, "asa": 5.0, "handled": 1,
                          "aht": 315.0, "csat_count": 1, "csat_avg": 5.0, "fcr_contacts": 1,
                          "fcr_resolved": 1}, "web")
    check(period["wechat"], {"offered": 1, "answered": 1, "answered_in_sl": 1, "asa": 10.0,
                             "wait_max": 10.0, "handled": 1, "talk": 360.0, "wrapup": 10.0,
                             "aht": 370.0, "csat_count": 1, "csat_avg": 3.0, "csat_pct": 0.0,
                             "fcr_contacts": 1, "fcr_resolved": 1, "transfers": 0}, "wechat")
    check(data["total"]["period"], {"offered": 3, "answered": 3, "handled": 5,
                                    "csat_count": 3, "csat_avg": 10 / 3, "transfers": 1,
                                    "callbacks_requested": 1}, "total")
    assert data["total"]["period"]["occupancy"] is not None  # agents' time: in the total
    # the chat channel is the web and WeChat media together
    chat = {r["key"]: r["period"] for r in (await report(
        stack, "2025-11-15", interval="day", by="channel"))["rows"]}["chat"]
    check(chat, {"offered": 2, "answered": 2, "handled": 2, "aht": (315 + 370) / 2,
                 "csat_count": 2, "csat_avg": 4.0, "fcr_contacts": 2}, "chat")
    # Chinese labels; the CSV of the summary has a row per medium, then the total
    zh = await stack.need(ReportService).report(
        ADMIN, stack.need(ReportService).request(start="2025-11-15", end=None,
                                                 interval="day", by="medium"), "zh")
    summary = zh["tables"]["summary"]
    assert summary["header"][0] == "接入方式"
    assert [row[0] for row in summary["rows"]] == ["来电", "回拨", "网页会话", "微信", "合计"]


async def test_timeouts_callback_requests_and_a_repeat_contact_after_the_evening(evening):
    """01:00-02:00 on the 15th, nobody ready at first: 01:00:00 lina not ready (lunch),
    wangfang not ready (training); 01:01:00 C6 (anonymous) waits in sales; 01:02:00 C7 of
    customer B waits; 01:03:00 C7 presses the callback key (exit with key, wait 60), the
    callback is asked for and later expires; 01:11:00 lina ready: C6 reached the sales
    max wait (600 s) first and left (timed out); 01:20:00 now. C7 is B's second contact
    within 7 days of C2, so C2 is no longer resolved at first contact."""
    stack, _tasks = evening
    steps = Scenario(stack)
    agents, routing, store = steps.agents, steps.routing, steps.store
    await steps.step("01:00:00")
    agents.set_state("lina", "not_ready", "lunch")
    agents.set_state("wangfang", "not_ready", "training")
    await steps.step("01:01:00")
    await steps.call("C6", "sales", None)
    await steps.step("01:02:00")
    await steps.call("C7", "sales", await stack.customer("B", phone="13800000002"))
    await steps.step("01:03:00")
    routing.cancel(steps.tasks["C7"], acd.CANCEL_CALLBACK)
    cb = await store.add_callback("13800000002", queue="sales", requested_at=at("01:03:00"),
                                  interaction_id=steps.tasks["C7"])
    await steps.step("01:11:00")
    agents.set_state("lina", "ready")
    await steps.step("01:20:00")
    await store.update_callback(cb.id, status="expired")

    data = await report(stack, "2025-11-14", "2025-11-15", interval="60m", by="queue")
    sales, support = cells(data, "sales"), cells(data, "support")
    check(sales["2025-11-15 01:00"], {
        "offered": 2, "answered": 0, "abandoned": 0, "timed_out": 1, "exited_with_key": 1,
        "waits": 2, "avg_wait": 330.0, "wait_max": 600.0, "service_level": None,
        "service_level_2": None, "asa": None, "abandon_rate": None,
        "callbacks_requested": 1, "callbacks_expired": 1, "callbacks_served": 0,
        "fcr_contacts": 0, "not_ready_time": 660.0, "not_ready_by_reason": {"lunch": 660.0},
        "ready_time": 540.0, "busy_time": 0.0, "occupancy": 0.0}, "sales 01:00")
    check(support["2025-11-15 01:00"], {"offered": 0, "not_ready_by_reason": {
        "training": 1200.0}, "ready_time": 0.0, "occupancy": None}, "support 01:00")
    # B called again within 7 days: C2 (answered at 23:50:24) is not resolved any more
    check(sales["2025-11-14 23:00"], {"fcr_contacts": 2, "fcr_resolved": 0, "fcr": 0.0},
          "sales X, with B's repeat contact")
    summary = {row[1]: row for row in data["tables"]["intervals"]["rows"]
               if row[0] == "2025-11-15 01:00"}
    header = data["tables"]["intervals"]["header"]
    assert summary["Sales"][header.index("Expired (max wait)")] == "1"
    assert summary["Sales"][header.index("Callbacks expired")] == "1"
    assert summary["Sales"][header.index("Max wait (s)")] == "600.0"
    assert summary["Sales"][header.index("Not ready: lunch (s)")] == "660.0"
    # the same hour as queue_log: the timeout and the exit with key, with app_queue's fields
    lines: list[str] = []
    await stack.need(ReportService).export_queue_log(at("01:00:00"), at("01:30:00"),
                                                     lines.append)
    rows = {(r[1], r[4]): r for r in parse("".join(lines))}
    timeout = rows[(steps.tasks["C6"], "EXITWITHTIMEOUT")]
    assert timeout[2:4] == ["sales", "NONE"] and timeout[5:] == ["1", "1", "600"]
    key = rows[(steps.tasks["C7"], "EXITWITHKEY")]
    # the sales callback key; C6 was ahead of C7 (position 2 when it came and when it left)
    assert key[5:] == ["*", "2", "2", "60"]


async def test_a_blind_transfer_to_a_number_is_a_transfer(evening):
    """02:00:00 C8 (customer C) in sales, lina answers at 02:00:05 (wait 5); 02:03:05 she
    sends it out to a number (TRANSFEROUT, as the console's control logs it, then the
    call ends for the engine: talk 180); 02:03:20 her wrap-up ends (15 s)."""
    stack, _tasks = evening
    steps = Scenario(stack)
    await steps.step("02:00:00")
    await steps.call("C8", "sales", await stack.customer("C", phone="13800000003"))
    await steps.step("02:00:05")
    await steps.answer("lina", "C8")
    await steps.step("02:03:05")
    task = steps.tasks["C8"]
    await steps.store.log_event("TRANSFEROUT", at=at("02:03:05"), interaction_id=task,
                                queue="sales", agent="lina", data={"to": "139****0000"})
    steps.routing.end(task, "agent")
    await steps.step("02:03:20")
    steps.routing.finish_wrapup("lina", task)
    await steps.step("02:10:00")

    for by, key in (("queue", "sales"), ("agent", "lina")):
        data = await report(stack, "2025-11-15", interval="60m", by=by)
        check(cells(data, key)["2025-11-15 02:00"], {
            "offered": 1, "answered": 1, "asa": 5.0, "transfers": 1, "handled": 1,
            "talk": 180.0, "wrapup": 15.0, "aht": 195.0}, f"{by} 02:00")
    lines: list[str] = []
    await stack.need(ReportService).export_queue_log(at("02:00:00"), at("02:30:00"),
                                                     lines.append)
    rows = [r for r in parse("".join(lines)) if r[1] == task]
    assert [r[4] for r in rows] == ["ENTERQUEUE", "CONNECT", "TRANSFER"]  # as app_queue
    assert rows[-1][3:] == ["lina", "TRANSFER", "139****0000", "external", "5", "180", "1"]


async def test_an_offer_nobody_answers_is_ring_no_answer(evening):
    """03:00:00 C9 (anonymous) in sales is offered to lina, whose phone rings out after
    sales' 15 s offer timeout (seen at 03:00:15, when zhangwei signs in ready); offered
    to zhangwei, he answers at 03:00:20 (wait 20, rang 5); 03:01:20 the caller hangs up
    (talk 60)."""
    stack, _tasks = evening
    steps = Scenario(stack)
    await steps.step("03:00:00")
    await steps.call("C9", "sales", None)
    await steps.step("03:00:15")
    steps.agents.login("zhangwei", "1001", ready=True)
    await steps.step("03:00:20")
    await steps.answer("zhangwei", "C9")
    await steps.step("03:01:20")
    steps.routing.end(steps.tasks["C9"], "caller")
    await steps.step("03:05:00")

    data = await report(stack, "2025-11-15", interval="60m", by="agent")
    check(cells(data, "lina")["2025-11-15 03:00"], {
        "offered": 1, "ring_no_answer": 1, "answered": 0}, "lina 03:00")
    check(cells(data, "zhangwei")["2025-11-15 03:00"], {
        "offered": 1, "ring_no_answer": 0, "answered": 1, "asa": 20.0}, "zhangwei 03:00")
    data = await report(stack, "2025-11-15", interval="60m", by="queue", queues="sales")
    check(cells(data, "sales")["2025-11-15 03:00"], {
        "offered": 1, "answered": 1, "answered_in_sl": 1, "ring_no_answer": 1}, "sales 03:00")
    lines: list[str] = []
    await stack.need(ReportService).export_queue_log(at("03:00:00"), at("03:30:00"),
                                                     lines.append)
    rows = [r for r in parse("".join(lines)) if r[1] == steps.tasks["C9"]]
    assert [r[4] for r in rows] == ["ENTERQUEUE", "RINGNOANSWER", "CONNECT", "COMPLETECALLER"]
    assert rows[1][3:] == ["lina", "RINGNOANSWER", "15000"]  # rang 15 s (app_queue: ms)
    assert rows[2][5] == "20" and rows[2][7] == "5"  # held 20 s; the second ring, 5 s
