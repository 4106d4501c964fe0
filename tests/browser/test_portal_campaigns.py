"""Campaigns in the portal: a manager creates a promotion and generates its codes (exported as CSV, valid through
the API); a viewer finds no write control on the customers, catalog, campaigns and usage pages, and what it forges
is refused."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from playwright.async_api import BrowserContext, expect

from tests.browser.accessibility import problems
from tests.browser.conftest import Portal
from tests.stack import TenantApi


async def test_a_manager_creates_a_promotion_and_generates_codes(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    page = await portal.signed_in(context, await portal.user(tenant, "manager"))
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    name = f"Spring {uuid.uuid4().hex[:6]}"

    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Discount").select_option("percent_off")
    await page.get_by_label("Value").fill("20")
    await page.get_by_label("Applies").select_option("once")
    await page.get_by_role("button", name="Create promotion").click()
    await expect(page.get_by_role("heading", name=f"Promotion {name}")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("The promotion is created")
    assert await problems(page) == []
    await page.get_by_role("button", name="Activate", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("The promotion is active.")

    await page.get_by_label("How many").fill("3")
    await page.get_by_label("Prefix").fill("SPR")
    await page.get_by_role("button", name="Generate codes").click()
    await expect(page.get_by_role("status")).to_have_text("The codes are generated.")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Export the codes as CSV").click()
    download = await downloading.value
    lines = (await asyncio.to_thread(Path(await download.path()).read_text)).split()
    assert lines[0] == "code" and len(lines) == 4 and all(code.startswith("SPR") for code in lines[1:])

    body = {"storefront_id": "us", "plan_id": "basic_monthly", "channel": "web"}
    answer = await tenant.ok("POST", f"/v1/promotion-codes/{lines[1]}:validate", json=body)
    assert answer["validation"]["eligible"] is True
    assert int(answer["validation"]["discount"]["amount_minor"]) == 140  # 20 % of 6.99


async def test_a_manager_creates_an_automatic_promotion_and_the_list_says_how_it_applies(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    page = await portal.signed_in(context, await portal.user(tenant, "manager"))
    await page.goto(f"{portal.url}/campaigns")
    name = f"Sale {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Value").fill("15")
    await page.get_by_label("Applied automatically").check()
    await page.get_by_role("button", name="Create promotion").click()  # a draft: it applies to nothing yet
    await expect(page.get_by_role("heading", name=f"Promotion {name}")).to_be_visible()
    await expect(page.get_by_text("automatically, without a code")).to_be_visible()
    listed = await tenant.ok("GET", "/v1/promotions", params={"filter": "automatic = true"})
    assert name in [p["display_name"] for p in listed["promotions"]]
    await page.goto(f"{portal.url}/campaigns")
    await expect(page.get_by_role("row", name=name)).to_contain_text("automatically")


async def test_a_viewer_finds_no_write_control_and_its_forged_writes_are_refused(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    customer_id = await tenant.customer()
    assert (await tenant.checkout(customer_id)).status_code == 200
    discount = {"kind": "DISCOUNT_KIND_PERCENT_OFF", "percent_basis_points": 1000, "duration": "DISCOUNT_DURATION_ONCE"}
    promotion = {"display_name": "Seen by a viewer", "discount": discount}
    created = await tenant.ok("POST", "/v1/promotions", json={"request_id": uuid.uuid4().hex, "promotion": promotion})
    page = await portal.signed_in(context, await portal.user(tenant, "viewer"))

    for path in (
        f"/customers/{customer_id}",
        "/catalog",
        "/catalog/storefronts/us",
        "/catalog/prices",
        "/catalog/document",
        "/campaigns",
        f"/campaigns/promotions/{created['promotion']['id']}",
        "/campaigns/lifecycle",
        "/campaigns/experiments",
        "/usage",
        f"/usage/customers/{customer_id}",
    ):
        answer = await page.goto(f"{portal.url}{path}")
        assert answer is not None and answer.status == 200, path
        await expect(page.locator("main form[method=post]")).to_have_count(0)
        assert await problems(page) == [], path
    await page.goto(f"{portal.url}/campaigns")
    await expect(page.get_by_role("heading", name="Promotions")).to_be_visible()
    await expect(page.get_by_role("button", name="Create promotion")).to_have_count(0)

    # Writes the viewer forges with its own session and CSRF token are refused by the use cases.
    csrf = await page.locator("header input[name=csrf_token]").get_attribute("value")
    forged = f"forged-{uuid.uuid4().hex[:6]}"
    for path, form in (
        ("/campaigns/promotions", {"display_name": forged, "kind": "percent_off", "value": "50", "duration": "once"}),
        ("/catalog/storefronts/us/branding", {"name": forged}),
        (f"/customers/{customer_id}/credit", {"amount": "50", "currency_code": "USD"}),
        ("/usage/meters", {"key": forged, "event_type": "x", "aggregation": "count"}),
    ):
        refused = await page.request.post(
            f"{portal.url}{path}", form={"csrf_token": csrf or "", "request_id": uuid.uuid4().hex, **form}
        )
        assert refused.status == 403, path
    promotions = await tenant.ok("GET", "/v1/promotions", params={"page_size": 500})
    assert all(p["display_name"] != forged for p in promotions["promotions"])
    assert (await tenant.ok("GET", "/v1/storefronts/us"))["storefront"].get("branding", {}).get("name") != forged
    assert (await tenant.ok("GET", f"/v1/customers/{customer_id}/credits")).get("balances", []) == []
