"""Every main page of the portal renders for an admin, passes the accessibility checks and fits a tablet.

The server's time per page (its `Server-Timing`) is printed (`pytest -s`); with AZOTTE_PORTAL_SCREENSHOTS=<dir>,
a screenshot of each page is written there (docs/portal/*.png are made this way).
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from playwright.async_api import BrowserContext, ViewportSize

from tests.browser.accessibility import problems
from tests.browser.conftest import Portal

PAGES = {
    "dashboard": "/dashboard",
    "analytics": "/analytics",
    "customers": "/customers",
    "catalog": "/catalog",
    "campaigns": "/campaigns",
    "usage": "/usage",
    "tenant": "/tenant",
    "api-keys": "/tenant/api-keys",
    "portal-users": "/tenant/portal-users",
    "webhooks": "/tenant/webhooks",
    "environment": "/tenant/environment",
}
TABLET: ViewportSize = {"width": 820, "height": 1180}
LAPTOP: ViewportSize = {"width": 1280, "height": 800}


def _server_ms(header: str | None) -> float:
    found = re.search(r"dur=([0-9.]+)", header or "")
    assert found is not None, header
    return float(found.group(1))


async def test_the_main_pages_render_accessibly_on_a_laptop_and_a_tablet(
    portal: Portal, context: BrowserContext
) -> None:
    shots = os.environ.get("AZOTTE_PORTAL_SCREENSHOTS")
    shop = await portal.suite.new_tenant()
    for token in ("tok_success", "tok_success", "tok_success", "tok_insufficient_funds"):
        await shop.checkout(await shop.customer(), token=token)
    await shop.ok("POST", "/v1/webhook-endpoints", json={"request_id": uuid.uuid4().hex, "url": "http://127.0.0.1:9/h"})
    await shop.new_key("operator")
    await portal.user(shop, "viewer")
    admin = await portal.user(shop, "admin")
    page = await portal.signed_in(context, admin)
    timings: dict[str, float] = {}
    for name, path in PAGES.items():
        answer = await page.goto(f"{portal.url}{path}")
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        assert await problems(page) == [], path
        timings[name] = _server_ms(await answer.header_value("server-timing"))
        if shots:
            await page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)

        await page.set_viewport_size(TABLET)
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= TABLET["width"], f"{path} scrolls sideways on a tablet ({width}px)"
        await page.set_viewport_size(LAPTOP)
    if shots:
        await page.goto(f"{portal.url}/sign-in")
        await page.screenshot(path=str(Path(shots) / "sign-in.png"))
    print("\nserver time per page (ms): " + ", ".join(f"{n} {ms:.1f}" for n, ms in timings.items()))
