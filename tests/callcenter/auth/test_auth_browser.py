"""The password pages in real headless Chromium (issue 10)."""

from __future__ import annotations

import pytest

from tests.support import webstack as ws

pytestmark = pytest.mark.browser


async def sign_in(browser, stack, path: str, username: str, password: str):
    page = await (await browser.new_context(locale="en")).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(stack.url(path))
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", password)
    await page.click("#login button[type=submit]")
    return page


@pytest.mark.parametrize(("path", "username"), [("/agent", "zhangwei"),
                                                 ("/wallboard", "zhaolei"),
                                                 ("/admin", "admin")])
async def test_a_given_password_leads_to_the_password_page_first(make_stack, browser,
                                                                 screenshots, path, username):
    stack = await make_stack(passwords_chosen=False)
    page = await sign_in(browser, stack, path, username, ws.PASSWORDS[username])
    await page.wait_for_selector("#password-card")
    assert await page.is_hidden("#app")
    await page.fill("#password-card input[name=new]", "welcome-4242")
    await page.fill("#password-card input[name=repeat]", "welcome-4242")
    await page.click("#password-card button[type=submit]")
    await page.wait_for_selector("#password-card .login-error:has-text('common')")
    await page.screenshot(path=screenshots / f"password-forced-{username}.png")
    await page.fill("#password-card input[name=new]", "a tea house by the river")
    await page.fill("#password-card input[name=repeat]", "a tea house by the river")
    await page.click("#password-card button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")
    assert await stack.deps.store.verify_password(username, "a tea house by the river")
    assert page.errors == []


async def test_the_admin_resets_a_password_and_the_agent_chooses_a_new_one(web_stack, browser):
    admin = await sign_in(browser, web_stack, "/admin", "admin", ws.PASSWORDS["admin"])
    await admin.wait_for_selector("#app:not([hidden])")
    await admin.fill("#reset-user", "lina")
    await admin.click("#reset-form button[type=submit]")
    await admin.wait_for_selector("#reset-result:has-text('lina')")
    temporary = (await admin.text_content("#reset-result")).rsplit(" ", 1)[-1]
    agent = await sign_in(browser, web_stack, "/agent", "lina", temporary)
    await agent.wait_for_selector("#password-card")
    await agent.fill("#password-card input[name=new]", "lanterns over the harbour")
    await agent.fill("#password-card input[name=repeat]", "lanterns over the harbour")
    await agent.click("#password-card button[type=submit]")
    await agent.wait_for_selector("#app:not([hidden])")
    # Later, by choice, from the top bar.
    await agent.click("[data-action=password]")
    await agent.fill("#password-card input[name=current]", "lanterns over the harbour")
    await agent.fill("#password-card input[name=new]", "boats under the bridge")
    await agent.fill("#password-card input[name=repeat]", "boats under the bridge")
    await agent.click("#password-card button[type=submit]")
    await agent.wait_for_selector("#app:not([hidden])")
    assert await web_stack.deps.store.verify_password("lina", "boats under the bridge")
    assert admin.errors == [] and agent.errors == []
