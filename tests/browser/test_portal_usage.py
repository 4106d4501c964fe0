"""Usage in the portal: a manager creates a meter, the meters list the quota features they measure, a customer's
metered usage shows on its page, an operator grants prepaid usage credit and a manager sets a limit with its
alerts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from playwright.async_api import BrowserContext, expect

from tests.browser.accessibility import problems
from tests.browser.conftest import Portal
from tests.stack import RunningSuite

HD_DOWNLOADS = {
    "key": "hd-downloads",
    "display_name": "HD downloads",
    "event_type": "video.downloaded",
    "aggregation": "AGGREGATION_COUNT",
    "dimensions": ["quality"],
    "quota_features": [{"feature_key": "downloads", "dimensions": {"quality": "hd"}}],
}


def tokens_used(customer_id: str, tokens: int) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": uuid.uuid4().hex,
        "source": "chat-backend",
        "type": "ai.tokens",
        "subject": customer_id,
        "time": datetime.now(UTC).isoformat(),
        "data": {"tokens": tokens},
    }


async def test_a_customers_usage_wallet_and_limits(
    portal: Portal, suite: RunningSuite, context: BrowserContext
) -> None:
    tenant = await suite.new_tenant()
    customer_id = await tenant.customer()
    manager = await portal.signed_in(context, await portal.user(tenant, "manager"))
    await manager.goto(f"{portal.url}/usage")
    await manager.get_by_label("Key", exact=True).fill("tokens")
    await manager.get_by_label("Name").fill("AI tokens")
    await manager.get_by_label("Event type").fill("ai.tokens")
    await manager.get_by_label("Value path").fill("$.tokens")
    await manager.get_by_label("Aggregation").select_option("sum")
    await manager.get_by_role("button", name="Create meter").click()
    await expect(manager.get_by_role("status")).to_have_text("The meter is created.")
    await tenant.ok("POST", "/v1/meters", json={"request_id": uuid.uuid4().hex, "meter": HD_DOWNLOADS})
    await manager.reload()
    await expect(manager.get_by_role("row").filter(has_text="video.downloaded")).to_contain_text("downloads quality=hd")
    await tenant.ok("POST", "/v1/events", json=[tokens_used(customer_id, n) for n in (100, 25)])

    await manager.get_by_label("Customer id").fill(customer_id)
    await manager.get_by_role("button", name="Show usage, wallet and limits").click()
    await expect(manager.get_by_role("heading", name="AI tokens: 125")).to_be_visible()
    assert await problems(manager) == []
    await manager.get_by_label("Feature key").fill("downloads")
    await manager.get_by_label("Limit on", exact=True).select_option("units")
    await manager.get_by_label("Limit (units").fill("1000")
    await manager.get_by_label("Meter (for a limit on units)").fill("tokens")
    await manager.get_by_label("Alert at").fill("50, 80")
    await manager.get_by_role("button", name="Save limit").click()
    await expect(manager.get_by_role("status")).to_have_text("The limit is saved.")
    await expect(manager.get_by_role("row").filter(has_text="downloads")).to_contain_text("50%, 80%")

    operator = await portal.signed_in(context, await portal.user(tenant, "operator"))
    await operator.goto(f"{portal.url}/usage/customers/{customer_id}?currency=USD")
    await expect(operator.get_by_role("button", name="Save limit")).to_have_count(0)
    await operator.get_by_label("Credit (USD)").fill("10.00")
    await operator.get_by_role("button", name="Grant usage credit").click()
    await expect(operator.get_by_role("status")).to_have_text("The usage credit is granted.")
    await expect(operator.get_by_text("Balance: $10.00")).to_be_visible()
    wallet = await tenant.ok("GET", f"/v1/customers/{customer_id}/wallets/USD")
    assert int(wallet["wallet"]["balance"]["amount_minor"]) == 1000
