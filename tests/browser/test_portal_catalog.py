"""The catalog in the portal: a manager dry-runs and schedules a price change, and edits a storefront's branding
(each seen through the catalog API); the document's diff is previewed before it is applied."""

from __future__ import annotations

import uuid

from playwright.async_api import BrowserContext, expect

from tests.browser.accessibility import problems
from tests.browser.conftest import Portal
from tests.stack import RunningSuite


async def test_a_manager_dry_runs_then_schedules_a_price_change(
    portal: Portal, suite: RunningSuite, context: BrowserContext
) -> None:
    tenant = await suite.new_tenant()
    subscriber = await tenant.customer()
    assert (await tenant.checkout(subscriber)).status_code == 200  # basic_monthly, 6.99 USD, no trial
    page = await portal.signed_in(context, await portal.user(tenant, "manager"))
    await page.goto(f"{portal.url}/catalog/prices")
    assert await problems(page) == []

    dry_run = page.get_by_role("region", name="Try a new price on existing subscribers")
    await dry_run.get_by_label("Plan", exact=True).select_option("basic_monthly")
    await dry_run.get_by_label("Storefront", exact=True).select_option("us")
    await dry_run.get_by_label("New price").fill("7.99")
    await dry_run.get_by_label("Effective from").fill("2031-01-01T00:00")
    await dry_run.get_by_role("button", name="Dry run").click()
    result = page.get_by_label("Dry run result")
    await expect(result).to_contain_text("Subscriptions affected 1", use_inner_text=True)
    await expect(result).to_contain_text("$6.99")  # the recurring revenue before
    await expect(result).to_contain_text("$7.99")  # and after

    schedule = page.get_by_role("region", name="Schedule a price change")
    await schedule.get_by_label("Plan", exact=True).select_option("basic_monthly")
    await schedule.get_by_label("Storefront", exact=True).select_option("us")
    await schedule.get_by_label("New price").fill("7.99")
    await schedule.get_by_label("Effective from").fill("2031-01-01T00:00")
    await schedule.get_by_label("Existing subscribers").select_option("at_next_renewal")
    await schedule.get_by_role("button", name="Schedule price").click()
    await expect(page.get_by_role("status")).to_have_text("The price is scheduled.")

    prices = await tenant.ok("GET", "/v1/prices", params={"plan_id": "basic_monthly", "storefront_id": "us"})
    scheduled = [p for p in prices["prices"] if p["effective_time"].startswith("2031-01-01")]
    assert [(int(p["amount"]["amount_minor"]), p["existing_subscribers"]) for p in scheduled] == [
        (799, "EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL")
    ]


async def test_a_manager_edits_a_storefronts_branding_and_the_catalog_api_answers_it(
    portal: Portal, suite: RunningSuite, context: BrowserContext
) -> None:
    tenant = await suite.new_tenant()
    page = await portal.signed_in(context, await portal.user(tenant, "manager"))
    await page.goto(f"{portal.url}/catalog")
    await page.get_by_role("link", name="us", exact=True).click()
    logo = f"https://cdn.example.com/{uuid.uuid4().hex[:8]}/logo.svg"

    await page.get_by_label("Logo url").fill(logo)
    await page.get_by_label("Primary color").fill("#0a3d62")
    await page.get_by_label("Terms url").fill("https://example.com/terms")
    await page.get_by_role("button", name="Save branding").click()
    await expect(page.get_by_role("status")).to_have_text("The storefront's branding is saved.")
    await expect(page.get_by_label("Logo url")).to_have_value(logo)

    branding = (await tenant.ok("GET", "/v1/storefronts/us"))["storefront"]["branding"]
    assert (branding["logo_url"], branding["primary_color"], branding["terms_url"]) == (
        logo,
        "#0a3d62",
        "https://example.com/terms",
    )

    await page.get_by_label("Logo url").fill("http://insecure.example.com/logo.svg")
    await page.get_by_role("button", name="Save branding").click()
    await expect(page.get_by_role("alert")).to_contain_text("logo_url")
    assert (await tenant.ok("GET", "/v1/storefronts/us"))["storefront"]["branding"]["logo_url"] == logo


async def test_the_catalog_documents_diff_is_previewed_before_it_is_applied(
    portal: Portal, suite: RunningSuite, context: BrowserContext
) -> None:
    tenant = await suite.new_tenant()
    page = await portal.signed_in(context, await portal.user(tenant, "manager"))
    await page.goto(f"{portal.url}/catalog/document")
    document = page.get_by_label("Document (YAML or JSON)")
    await expect(page.get_by_role("button", name="Apply")).to_have_count(0)

    text = await document.input_value()
    await document.fill(text.replace("name: Basic", "name: Basic Plus", 1))
    await page.get_by_role("button", name="Preview changes").click()
    diff = page.get_by_role("region", name="What applying it changes")
    await expect(diff.get_by_role("row").filter(has_text="basic_monthly")).to_contain_text("Updated")
    assert "Basic Plus" not in str(await tenant.ok("GET", "/v1/plans/basic_monthly"))

    await page.get_by_role("button", name="Apply").click()
    await expect(page.get_by_role("status")).to_have_text("The catalog document is applied.")
    assert (await tenant.ok("GET", "/v1/plans/basic_monthly"))["plan"]["display_name"] == "Basic Plus"
