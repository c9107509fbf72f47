"""The reports page in headless Chromium: its ECharts charts render (screenshot kept as a
test artifact), and the CSV it offers equals the table it shows, cell for cell."""

from __future__ import annotations

import asyncio
import csv
import io

import openpyxl
import pytest

from tests.support import webstack as ws

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1440, "height": 1300}


async def until(page, check: str, timeout: float = 10.0) -> None:
    """Poll ``check`` (a JS expression on ``window.__cc``) in the page: the consoles'
    CSP forbids the eval that wait_for_function uses."""
    async with asyncio.timeout(timeout):
        while not await page.evaluate(f"() => {check}"):
            await asyncio.sleep(0.05)


async def open_reports(browser, stack, username: str, locale: str):
    context = await browser.new_context(locale=locale, viewport=VIEWPORT,
                                        device_scale_factor=1, accept_downloads=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(stack.url("/reports"))
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", ws.PASSWORDS[username])
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")
    await until(page, "window.__cc && window.__cc.reports >= 1")
    return page, errors


async def table(page, selector: str) -> list[list[str]]:
    return await page.eval_on_selector_all(
        f"{selector} tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))")


async def show(page, **fields: str) -> None:
    shown = await page.evaluate("window.__cc.reports")
    for name, value in fields.items():
        if name in ("from", "to"):
            await page.fill(f"#filters input[name={name}]", value)
        else:
            await page.select_option(f"#filters select[name={name}]", value)
    await page.click("#filters button[type=submit]")
    await until(page, f"window.__cc.reports > {shown}")


async def download(stack, page, link: str, username: str) -> bytes:
    href = await page.get_attribute(link, "href")
    client = await stack.client(username)
    async with client.get(href) as response:
        assert response.status == 200, await response.text()
        return await response.read()


async def test_charts_render_and_the_csv_is_the_table(evening, browser, screenshots):
    stack, _tasks = evening
    stack.clock.frozen = None  # the scenario is over; browsers keep real time
    page, errors = await open_reports(browser, stack, "admin", "zh-CN")
    await show(page, **{"from": "2025-11-14", "to": "2025-11-15", "interval": "15m"})
    await until(page, "window.__cc.charts >= 1")
    # ECharts drew on its canvases (not the "library missing" note), with the series
    for chart in ("#line-chart", "#bar-chart"):
        assert await page.locator(f"{chart} canvas").count() >= 1, chart
        painted = await page.eval_on_selector(f"{chart} canvas", """c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let ink = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) ink++;
            return ink; }""")
        assert painted > 2000, f"{chart} looks empty ({painted} painted pixels)"
    await page.screenshot(path=str(screenshots / "reports-zh.png"), full_page=True)

    shown = await table(page, "#intervals")
    header, rows = shown[0], shown[1:]
    assert header[:4] == ["时段", "队列", "进线", "接起"]
    sales = next(r for r in rows if r[:2] == ["2025-11-14 23:45", "销售咨询"])
    assert sales[2:4] == ["3", "1"]  # C2, C3, C4 offered; C2 answered
    got = list(csv.reader(io.StringIO((await download(stack, page, "#csv", "admin"))
                                      .decode("utf-8-sig"))))
    assert got == shown  # every cell, header included

    workbook = openpyxl.load_workbook(io.BytesIO(await download(stack, page, "#xlsx", "admin")))
    sheet = [[("" if v is None else str(v)) for v in row]
             for row in workbook.active.iter_rows(values_only=True)]
    assert sheet[0] == header
    assert [row[:3] for row in sheet[1:]] == [row[:3] for row in rows]

    # rows by medium, in Chinese: the evening's calls (C5 twice), its two callback
    # requests (no call made yet) and its web chat
    await show(page, interval="day", by="medium")
    summary = await table(page, "#summary")
    head = summary[0]
    assert head[:3] == ["接入方式", "进线", "接起"]
    asked = head.index("回拨请求")
    assert [[*row[:3], row[asked]] for row in summary[1:]] == [
        ["来电", "6", "4", "0"], ["回拨", "0", "0", "2"], ["网页会话", "1", "1", "0"],
        ["合计", "7", "5", "2"]]
    assert not errors, errors


async def test_english_by_agent_for_a_supervisor_of_one_team(evening, browser, screenshots):
    stack, _tasks = evening
    stack.clock.frozen = None
    page, errors = await open_reports(browser, stack, "zhaolei", "en")  # north team
    await show(page, **{"from": "2025-11-14", "to": "2025-11-15", "interval": "60m",
                        "by": "agent"})
    shown = await table(page, "#summary")
    assert shown[0][:3] == ["Agent", "Offers", "Answered"]
    assert [row[0] for row in shown[1:]] == ["王芳", "Total"]  # lina is east's: not here
    boxes = await page.eval_on_selector_all("#agents input", "els => els.map(e => e.value)")
    assert "lina" not in boxes and "wangfang" in boxes
    await until(page, "window.__cc.charts >= 1")
    await page.screenshot(path=str(screenshots / "reports-en-agents.png"), full_page=True)
    csv_rows = list(csv.reader(io.StringIO(
        (await download(stack, page, "#csv", "zhaolei")).decode("utf-8-sig"))))
    assert csv_rows == await table(page, "#intervals")
    assert not errors, errors
