"""The dashboard's figures are the analytics API's, for the same slice and window; the analytics page's CSV too."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

from tests.browser.accessibility import problems
from tests.browser.conftest import Portal
from tests.helpers import eventually


async def _figure(page: Page, name: str) -> str:
    return await page.locator(f"[data-figure={name}]").get_attribute("data-value") or ""


async def test_the_dashboard_shows_the_analytics_apis_figures(portal: Portal, context: BrowserContext) -> None:
    shop = await portal.suite.new_tenant()
    for token in ("tok_success", "tok_success", "tok_insufficient_funds"):
        await shop.checkout(await shop.customer(), token=token, request_id=uuid.uuid4().hex)
    manager = await portal.user(shop, "manager")
    page = await portal.signed_in(context, manager)
    await page.get_by_label("Storefront").select_option("us")
    await page.get_by_label("Channel").select_option("WEB")
    await page.get_by_role("button", name="Show").click()
    start = await page.locator("time[data-start]").get_attribute("datetime")
    end = await page.locator("time[data-end]").get_attribute("datetime")
    where = {"storefront_id": "us", "channel": "WEB", "start_time": start, "end_time": end}

    async def settled() -> Any:
        mrr = await shop.ok("GET", "/v1/analytics/mrr", params={**where, "granularity": "day"})
        payments = await shop.ok("GET", "/v1/analytics/payments", params=where)
        done = mrr["points"][-1]["active_subscriptions"] == "2" and payments["charge_series"] == "3"
        return (mrr, payments) if done else None

    mrr, payments = await eventually(settled, within=30)
    churn = await shop.ok(
        "GET", "/v1/analytics/churn", params={"storefront_id": "us", "channel": "WEB", "time": end, "window_days": 30}
    )
    await page.reload()
    assert await _figure(page, "mrr") == mrr["points"][-1]["mrr_minor"] != "0"
    assert await _figure(page, "active_subscriptions") == "2"
    assert await _figure(page, "payment_success_rate") == payments["success_rate"] == "0.6667"
    assert await _figure(page, "churn_rate") == churn["customer_churn_rate"]
    await expect(page.locator("[data-figure=payment_success_rate]")).to_have_text("66.67 %")
    await expect(page.locator("svg.chart")).to_have_count(2)  # no revenue chart: revenue reports are for admins
    assert await problems(page) == []

    await page.get_by_role("link", name="Analytics of this view").click()
    await expect(page.get_by_role("heading", name="Payments")).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text="INSUFFICIENT_FUNDS")).to_have_count(1)
    assert await problems(page) == []
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download declines (CSV)").click()
    download = await downloading.value
    text = (await download.path()).read_text()
    assert text.splitlines()[0] == "reason,psp,count" and ",1" in text.splitlines()[1]
