"""An admin runs the tenant's settings in Chromium: an API key (its secret shown once) and a webhook endpoint."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import BrowserContext, expect

from tests.browser.accessibility import problems
from tests.browser.conftest import Portal
from tests.stack import TenantApi


async def test_an_admin_creates_an_api_key_that_works_and_a_webhook_endpoint(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    admin = await portal.user(tenant, "admin")
    page = await portal.signed_in(context, admin)

    await page.get_by_role("link", name="Tenant").click()
    await page.get_by_role("link", name="API keys").click()
    assert await problems(page) == []
    await page.get_by_label("Name").fill("reporting backend")
    await page.get_by_label("Role").select_option("viewer")
    await page.get_by_role("button", name="Create key").click()
    secret = (await page.locator("[data-secret]").text_content() or "").strip()
    assert secret.startswith("azk_sandbox_")
    # The key is real: the API answers it with the viewer's rights.
    read = await tenant.call("GET", "/v1/analytics/payments", key=secret, params=_window())
    assert read.status_code == 200, read.text
    refused = await tenant.call("GET", "/v1/api-keys", key=secret)
    assert refused.status_code == 403

    await page.get_by_role("link", name="Back to the API keys").click()
    row = page.get_by_role("row").filter(has_text="reporting backend")
    await expect(row).to_have_count(1)
    await expect(page.get_by_text(secret)).to_have_count(0)

    await page.goto(f"{portal.url}/tenant/webhooks")
    await page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/hooks")
    await page.get_by_label("Event types").fill("subscription.*, payment.succeeded")
    await page.get_by_role("button", name="Add endpoint").click()
    signing = (await page.locator("[data-secret]").text_content() or "").strip()
    assert signing.startswith("whsec_")
    listed = await tenant.ok("GET", "/v1/webhook-endpoints")
    [endpoint] = [e for e in listed["endpoints"] if e["url"] == "http://127.0.0.1:9/hooks"]
    assert endpoint["event_types"] == ["subscription.*", "payment.succeeded"]

    await page.goto(f"{portal.url}/tenant/webhooks")
    await page.get_by_label("URL", exact=True).fill("http://10.0.0.7/hooks")
    await page.get_by_role("button", name="Add endpoint").click()
    await expect(page.locator("#f-url-error")).to_be_visible()
    await expect(page.get_by_label("URL", exact=True)).to_have_value("http://10.0.0.7/hooks")
    assert re.search(r"/portal/tenant/webhooks$", page.url)


def _window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"start_time": (now - timedelta(days=1)).isoformat(), "end_time": (now + timedelta(days=1)).isoformat()}
