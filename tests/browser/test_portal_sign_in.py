"""Signing in and out of the portal in Chromium, the lock-out, and the accessibility of the first pages."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, expect

from tests.browser.accessibility import problems, reached_by_tab
from tests.browser.conftest import Portal, sign_in
from tests.stack import TenantApi


async def test_a_user_signs_in_lands_on_the_dashboard_and_signs_out(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    user = await portal.user(tenant, "manager")
    page = await portal.page(context)
    await page.goto(f"{portal.url}/tenant/webhooks")
    await expect(page).to_have_url(re.compile(r"/portal/sign-in\?next=/portal/tenant/webhooks$"))
    assert await problems(page) == []

    await sign_in(page, portal.url, tenant.tenant_id, user.email, user.password, navigate=False)
    await expect(page).to_have_url(re.compile(r"/portal/tenant/webhooks$"))
    await page.goto(f"{portal.url}/dashboard")
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await expect(page.get_by_text(user.email)).to_be_visible()
    assert await problems(page) == []
    main_actions = ["Show", "Find a customer", "Sign out"]
    assert await reached_by_tab(page, main_actions) == set(main_actions)

    cookies = await context.cookies()
    session = next(c for c in cookies if c["name"] == "azotte_portal")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/portal"

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/portal/sign-in$"))
    await page.goto(f"{portal.url}/dashboard")
    await expect(page).to_have_url(re.compile(r"/portal/sign-in\?next=/portal/dashboard$"))


async def test_five_wrong_passwords_lock_the_email_with_a_clear_message(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    user = await portal.user(tenant, "viewer")
    page = await portal.page(context)
    for _ in range(5):
        await sign_in(page, portal.url, tenant.tenant_id, user.email, "not the password")
        await expect(page.get_by_role("alert")).to_have_text("the tenant, email or password is wrong")
    await sign_in(page, portal.url, tenant.tenant_id, user.email, user.password)
    await expect(page.get_by_role("alert")).to_contain_text("too many failed sign-ins for this email; try again in")
    assert not [c for c in await context.cookies() if c["name"] == "azotte_portal"]

    await sign_in(page, portal.url, tenant.tenant_id, "nobody@example.com", "whatever")
    await expect(page.get_by_role("alert")).to_have_text("the tenant, email or password is wrong")
