"""Customers in the portal: finding a customer by email or channel identity, and refunds within and above an
operator's limit."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import BrowserContext, expect

from tests.browser.accessibility import problems
from tests.browser.conftest import Portal
from tests.stack import TenantApi


async def paid_annual_plan(tenant: TenantApi, customer_id: str) -> str:
    """The id of a 179.00 USD charge: the annual plan bought without its trial (above the 100.00 refund limit)."""
    body = {
        "request_id": uuid.uuid4().hex,
        "customer_id": customer_id,
        "storefront_id": "us",
        "plan_id": "premium_annual",
        "channel": "web",
        "payment_method_token": "tok_success",
        "skip_trial": True,
    }
    bought = await tenant.ok("POST", "/v1/checkout", json=body)
    assert int(bought["charge"]["gross"]["amount_minor"]) == 17900
    return str(bought["charge"]["id"])


async def test_a_customer_is_found_by_email_and_by_channel_identity(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    customer_id = await tenant.customer()
    email = (await tenant.ok("GET", f"/v1/customers/{customer_id}"))["customer"]["email"]
    page = await portal.signed_in(context, await portal.user(tenant, "viewer"))

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    await page.get_by_label("Customer id, email, external id or channel identity").fill(email)
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("1 customer found")).to_be_visible()
    await page.get_by_role("link", name=customer_id).click()

    await expect(page.get_by_role("heading", name=f"Customer {email}")).to_be_visible()
    assert await problems(page) == []
    await page.goto(f"{portal.url}/customers?q=nobody-{uuid.uuid4().hex[:6]}@example.com")
    await expect(page.get_by_text("No customer matches")).to_be_visible()

    token = f"gp-token-{uuid.uuid4().hex[:8]}"
    identity = {"kind": "GOOGLE_PLAY_PURCHASE_TOKEN", "value": token}
    link = {"request_id": uuid.uuid4().hex, "identity": identity}
    await tenant.ok("POST", f"/v1/customers/{customer_id}:linkChannelIdentity", json=link)
    await page.get_by_label("Customer id, email, external id or channel identity").fill(token)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("link", name=customer_id)).to_be_visible()


async def test_an_operator_refunds_within_the_limit_and_is_refused_above_it(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    customer_id = await tenant.customer()
    charge_id = await paid_annual_plan(tenant, customer_id)
    page = await portal.signed_in(context, await portal.user(tenant, "operator"))
    await page.goto(f"{portal.url}/customers/{customer_id}")
    charge = page.get_by_role("row").filter(has_text=charge_id)

    await charge.get_by_label("Amount").fill("5.00")
    await charge.get_by_label("Reason").fill("late delivery")
    await charge.get_by_role("button", name="Refund").click()
    await expect(page.get_by_role("status")).to_have_text("The refund was made.")
    await expect(page.get_by_role("row").filter(has_text=charge_id)).to_contain_text("Partially refunded")

    above = page.get_by_role("row").filter(has_text=charge_id)
    await above.get_by_label("Amount").fill("150.00")
    await above.get_by_role("button", name="Refund").click()
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("above the operator refund limit of $100.00")
    assert re.search(r"/charges/.+/refund$", page.url)

    charges = await tenant.ok("GET", f"/v1/customers/{customer_id}/charges")
    refunded = [int(c["refunded"]["amount_minor"]) for c in charges["charges"] if c["id"] == charge_id]
    assert refunded == [500]  # the refund within the limit only
