"""Roles in the portal: a viewer finds no write control, and a write it forges is refused by the use case."""

from __future__ import annotations

import uuid

from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import Portal
from tests.stack import TenantApi


async def test_a_viewer_finds_no_write_control_and_a_forged_write_is_refused(
    portal: Portal, tenant: TenantApi, context: BrowserContext
) -> None:
    viewer = await portal.user(tenant, "viewer")
    page = await portal.signed_in(context, viewer)

    await expect(page.get_by_role("link", name="Create an API key")).to_have_count(0)
    await expect(page.get_by_role("link", name="Schedule a price change")).to_have_count(0)
    await page.goto(f"{portal.url}/tenant/webhooks")
    await expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    await expect(page.get_by_role("button", name="Add endpoint")).to_have_count(0)
    await expect(page.get_by_role("button", name="Replay")).to_have_count(0)
    await expect(page.locator("main form[method=post]")).to_have_count(0)
    await page.goto(f"{portal.url}/tenant/environment")
    await expect(page.get_by_role("button", name="Advance the clock")).to_have_count(0)

    # A hand-made post with the viewer's own session and CSRF token: the use case refuses it.
    csrf = await page.locator("header input[name=csrf_token]").get_attribute("value")
    name = f"forged-{uuid.uuid4().hex[:6]}"
    for path, form in (
        ("/tenant/api-keys", {"display_name": name, "role": "admin"}),
        ("/tenant/portal-users", {"email": f"{name}@example.com", "role": "admin"}),
        ("/tenant/webhooks", {"url": "http://127.0.0.1:9/forged"}),
        ("/tenant/environment/advance", {"days": "30"}),
    ):
        answer = await page.request.post(
            f"{portal.url}{path}", form={"csrf_token": csrf or "", "request_id": uuid.uuid4().hex, **form}
        )
        assert answer.status == 403, path
        assert "Not allowed" in await answer.text()

    keys = await tenant.ok("GET", "/v1/api-keys", params={"show_revoked": "true"})
    assert all(k["display_name"] != name for k in keys["api_keys"])
    users = await tenant.ok("GET", "/v1/portal-users")
    assert all(not u["email"].startswith(name) for u in users["portal_users"])
    endpoints = await tenant.ok("GET", "/v1/webhook-endpoints")
    assert all(not e["url"].endswith("/forged") for e in endpoints["endpoints"])

    # Without its CSRF token, even an admin's post is refused before anything runs.
    admin = await portal.user(tenant, "admin")
    admin_page = await portal.signed_in(context, admin)
    refused = await admin_page.request.post(
        f"{portal.url}/tenant/api-keys", form={"request_id": uuid.uuid4().hex, "display_name": name, "role": "admin"}
    )
    assert refused.status == 403
