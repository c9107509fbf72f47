"""An agent's phone registration, from the real Asterisk to the consoles (Chromium).

The agent's page shows whether the phone is registered. A ready agent whose phone drops
(it unregisters) is set not ready with the reason "phone offline": the wallboard shows it
and does not count them as ready. When the phone registers again they are ready again.
An agent who takes no chats cannot go ready on a phone that is not registered.
"""

from __future__ import annotations

import pytest

from callcenter.agents.services import PHONE_OFFLINE, AgentError, AgentService
from callcenter.wallboard.services import WallboardService
from tests.support import voice
from tests.support import webstack as ws

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]


async def console(browser, base: str, path: str, username: str):
    context = await browser.new_context(locale="en-US", viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    await page.goto(base + path)
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", ws.PASSWORDS[username])
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")
    return page


async def test_a_phone_that_drops_sets_the_agent_not_ready_and_back(
        voice_app, phones, browser, screenshots, monkeypatch):
    for name in ("CALLCENTER_INITIAL_PASSWORD", "CALLCENTER_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # the sample's fallback passwords
    app = await voice_app(web=True)
    base = f"http://127.0.0.1:{app.web_port}"
    await voice.wait_until(lambda: app.link.is_up, what="AMI link")
    agents = app.deps.need(AgentService)
    board = app.deps.need(WallboardService)
    phone = await phones("1001", "dev-sip-1001")

    page = await console(browser, base, "/agent", "zhangwei")
    await page.select_option("#device", "1001")
    await page.click("#signin")
    await page.wait_for_selector("#state-badge.st-not_ready")
    await page.click("#go-ready")
    await page.wait_for_selector("#state-badge.st-ready")
    # Registered as Asterisk says: its answer may come after the sign-in's own status.
    await page.wait_for_selector("#phone-status.st-ready:not([hidden])", timeout=10000)
    assert await page.text_content("#phone-status") == "Phone registered"
    wallboard = await console(browser, base, "/wallboard", "zhaolei")
    await wallboard.wait_for_selector("tr[data-agent='zhangwei'] .st-ready")

    phone.stop()  # unregisters: Asterisk's device state goes UNAVAILABLE
    await voice.wait_until(lambda: voice.agent_state(app, "zhangwei") == "not_ready",
                           what="not ready after the phone dropped")
    assert app.routing.agent("zhangwei").reason == PHONE_OFFLINE
    row = board.agent_row("zhangwei")
    assert row["state"] == "not_ready" and row["phone_registered"] is False
    await page.wait_for_selector("#state-badge.st-not_ready")
    assert "Phone offline" in await page.text_content("#state-badge")
    await page.locator("#phone-status", has_text="Phone not registered").wait_for(timeout=5000)
    await wallboard.locator("tr[data-agent='zhangwei'] .phone-offline").wait_for(timeout=5000)
    assert "Phone offline" in await wallboard.text_content("tr[data-agent='zhangwei']")
    assert "null" not in await wallboard.text_content("#agents")
    await wallboard.screenshot(path=str(screenshots / "wallboard-phone-offline.png"),
                               full_page=True, animations="disabled")

    back = await phones("1001", "dev-sip-1001")  # the phone is back
    await voice.wait_until(lambda: voice.agent_state(app, "zhangwei") == "ready",
                           what="ready again")
    await page.wait_for_selector("#state-badge.st-ready")
    await page.locator("#phone-status", has_text="Phone registered").wait_for(timeout=5000)
    assert board.agent_row("zhangwei")["phone_registered"] is True

    # A not-ready the agent chose is theirs: a phone dropping and coming back keeps it.
    agents.set_state("zhangwei", "not_ready", "break")
    back.stop()
    await voice.wait_until(lambda: agents.sessions["zhangwei"].registered is False,
                           what="the phone to drop again")
    await phones("1001", "dev-sip-1001")
    await voice.wait_until(lambda: agents.sessions["zhangwei"].registered is True,
                           what="the phone to come back again")
    assert voice.agent_state(app, "zhangwei") == "not_ready"
    assert app.routing.agent("zhangwei").reason == "break"

    # zhaolei takes no chats: with an unregistered phone there is nothing to be ready for.
    agents.login("zhaolei", device="1090", ready=True)
    await voice.wait_until(lambda: agents.sessions["zhaolei"].registered is False,
                           what="1090 read as unregistered")
    assert voice.agent_state(app, "zhaolei") == "not_ready"
    assert app.routing.agent("zhaolei").reason == PHONE_OFFLINE
    with pytest.raises(AgentError, match="not registered"):
        agents.set_state("zhaolei", "ready")
    assert not page.errors and not wallboard.errors, (page.errors, wallboard.errors)
