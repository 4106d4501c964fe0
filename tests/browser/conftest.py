"""Browser tests: Playwright drives the distribution's Chromium through the portal of the session's one suite.

The suite is the `suite` fixture of tests/conftest.py (shared with tests/e2e). Each test gets a new browser
context (its own cookies); portal users are provisioned through the REST API, as a tenant's backend would.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright

from tests.stack import RunningSuite, TenantApi

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class PortalUser:
    """A portal user of one tenant and the password the gateway generated for it."""

    tenant: TenantApi
    email: str
    password: str
    id: str


@dataclass(frozen=True)
class Portal:
    """The portal of the session's suite, and the tenants the tests of a module use."""

    suite: RunningSuite
    browser: Browser

    @property
    def url(self) -> str:
        return f"{self.suite.base_url}/portal"

    async def user(self, tenant: TenantApi, role: str) -> PortalUser:
        """A new portal user of the tenant, created with its admin key."""
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        body = {"request_id": uuid.uuid4().hex, "email": email, "role": role}
        created = await tenant.ok("POST", "/v1/portal-users", json=body)
        return PortalUser(tenant, email, created["initial_password"], created["portal_user"]["id"])

    async def page(self, context: BrowserContext) -> Page:
        page = await context.new_page()
        page.set_default_timeout(15_000)
        return page

    async def signed_in(self, context: BrowserContext, user: PortalUser) -> Page:
        """A page of the context, signed in as the user (on its dashboard)."""
        page = await self.page(context)
        await sign_in(page, self.url, user.tenant.tenant_id, user.email, user.password)
        await page.wait_for_url(re.compile(r".*/portal/dashboard.*"))
        return page


async def sign_in(
    page: Page, portal_url: str, tenant_id: str, email: str, password: str, *, navigate: bool = True
) -> None:
    """Fill and send the sign-in form (opened first unless the page shows it already), as a person would."""
    if navigate:
        await page.goto(f"{portal_url}/sign-in")
    await page.get_by_label("Tenant").fill(tenant_id)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
async def portal(suite: RunningSuite, browser: Browser) -> Portal:
    return Portal(suite, browser)


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile for one test."""
    created = await browser.new_context(viewport=VIEWPORT)
    try:
        yield created
    finally:
        await created.close()
