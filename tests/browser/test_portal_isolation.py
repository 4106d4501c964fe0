"""Tenant isolation in the portal: a user of tenant B never sees tenant A's data, not even by its URL."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import Portal
from tests.stack import TenantApi


async def test_a_user_of_another_tenant_never_sees_this_tenants_data(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    theirs = await portal.suite.new_tenant(with_catalog=False)
    a_user = await portal.user(tenant, "viewer")
    a_customer = await tenant.customer()
    await tenant.new_key("operator")
    b_admin = await portal.user(theirs, "admin")
    page = await portal.signed_in(context, b_admin)

    for path in (f"/customers/{a_customer}", f"/customers/{a_customer}/subscriptions/x/plan-change"):
        answer = await page.goto(f"{portal.url}{path}")
        assert answer is not None and answer.status == 404, path
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()

    csrf = await page.locator("header input[name=csrf_token]").get_attribute("value")
    disable = await page.request.post(
        f"{portal.url}/tenant/portal-users/{a_user.id}/disable", form={"csrf_token": csrf or "", "request_id": "r1"}
    )
    assert disable.status == 404

    await page.goto(f"{portal.url}/tenant/portal-users")
    await expect(page.get_by_text(a_user.email)).to_have_count(0)
    await page.goto(f"{portal.url}/tenant/api-keys")
    await expect(page.get_by_role("row").filter(has_text="operator")).to_have_count(0)

    users = await tenant.ok("GET", "/v1/portal-users")
    [still] = [u for u in users["portal_users"] if u["id"] == a_user.id]
    assert "disable_time" not in still
