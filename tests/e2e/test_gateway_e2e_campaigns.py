"""Lifecycle-triggered campaigns through the real suite: a renewal declined on a sandbox tenant's moved clock issues
a personal retention offer only its customer may use, and the role matrix and tenant isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually


def rid() -> str:
    return uuid.uuid4().hex


async def win_back(tenant: TenantApi) -> tuple[str, str]:
    """An active 50 %-off promotion and a campaign offering it when a renewal fails."""
    promotion = {
        "display_name": "Stay with us",
        "discount": {"kind": "DISCOUNT_KIND_PERCENT_OFF", "percent_basis_points": 5000},
    }
    created = await tenant.ok("POST", "/v1/promotions", json={"request_id": rid(), "promotion": promotion})
    promotion_id = created["promotion"]["id"]
    await tenant.ok("POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": rid()})
    campaign = {
        "display_name": "Renewal failed: half price",
        "trigger": "CAMPAIGN_TRIGGER_RENEWAL_FAILED",
        "conditions": {"storefront_ids": ["us"]},
        "promotion_id": promotion_id,
        "offer_valid_days": 7,
        "quiet_period_days": 30,
    }
    made = await tenant.ok("POST", "/v1/campaigns", json={"request_id": rid(), "campaign": campaign})
    assert made["campaign"]["state"] == "CAMPAIGN_STATE_ACTIVE"
    return promotion_id, made["campaign"]["id"]


async def validate(tenant: TenantApi, code: str, customer: str) -> dict[str, Any]:
    body = {"storefront_id": "us", "plan_id": "basic_monthly", "channel": "web", "customer_id": customer}
    answer: dict[str, Any] = (await tenant.ok("POST", f"/v1/promotion-codes/{code}:validate", json=body))["validation"]
    return answer


async def test_a_declined_renewal_issues_a_retention_offer_only_its_customer_may_use(suite: RunningSuite):
    tenant = await suite.new_tenant()  # its clock moves a month ahead
    promotion_id, campaign_id = await win_back(tenant)
    customer, other = await tenant.customer(), await tenant.customer()
    assert (await tenant.checkout(customer)).status_code == 200
    body = {"request_id": rid(), "payment_method_token": "tok_insufficient_funds"}
    await tenant.ok("POST", f"/v1/customers/{customer}/payment-methods", json=body)

    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_days": 31})

    async def offered() -> dict[str, Any]:
        listed = await tenant.ok("GET", f'/v1/campaign-offers?filter=customer_id = "{customer}"')
        assert len(listed.get("offers", [])) == 1
        return dict(listed["offers"][0])

    offer = await eventually(offered, within=30)
    assert (offer["campaign_id"], offer["promotion_id"]) == (campaign_id, promotion_id)
    assert offer["trigger"] == "CAMPAIGN_TRIGGER_RENEWAL_FAILED" and offer["plan_id"] == "basic_monthly"
    mine = await validate(tenant, offer["code"], customer)
    assert mine["eligible"] is True and mine["discount"]["amount_minor"] != "0"
    theirs = await validate(tenant, offer["code"], other)
    assert [i["reason"] for i in theirs["ineligibilities"]] == ["INELIGIBILITY_REASON_CODE_NOT_FOUND"]
    assert (await tenant.ok("GET", f"/v1/campaigns/{campaign_id}"))["campaign"]["offers_issued"] == "1"

    now = datetime.now(UTC)  # the offer is dated on the tenant's clock, a month ahead
    window = {"start_time": (now - timedelta(days=1)).isoformat(), "end_time": (now + timedelta(days=60)).isoformat()}

    async def converted() -> list[dict[str, Any]]:
        conversions: list[dict[str, Any]] = (await tenant.ok("GET", "/v1/analytics/campaigns", params=window)).get(
            "conversions", []
        )
        assert conversions
        return conversions

    assert await eventually(converted) == [
        {
            "campaign_id": campaign_id,
            "promotion_id": promotion_id,
            "offers_issued": "1",
            "offers_redeemed": "0",
            "conversion_rate": "0.0000",
        }
    ]
    behind = await tenant.ok("GET", "/v1/analytics/events", params={"filter": f'campaign_id = "{campaign_id}"'})
    assert [(e["type"], e["customer_id"]) for e in behind["events"]] == [("campaign.offer_issued", customer)]


async def test_who_may_configure_and_read_campaigns_and_another_tenant_sees_none(suite: RunningSuite):
    tenant = await suite.new_tenant()
    promotion_id, campaign_id = await win_back(tenant)
    viewer, operator = await tenant.new_key("viewer"), await tenant.new_key("operator")
    assert (await tenant.call("GET", f"/v1/campaigns/{campaign_id}", key=viewer)).status_code == 200
    assert (await tenant.call("GET", "/v1/campaign-offers", key=viewer)).status_code == 200
    pause = {"request_id": rid()}
    assert (
        await tenant.call("POST", f"/v1/campaigns/{campaign_id}:pause", json=pause, key=operator)
    ).status_code == 403
    paused = await tenant.ok("POST", f"/v1/campaigns/{campaign_id}:pause", json=pause)
    assert paused["campaign"]["state"] == "CAMPAIGN_STATE_PAUSED"
    campaign = {"display_name": "x", "trigger": "CAMPAIGN_TRIGGER_ON_HOLD", "promotion_id": promotion_id}
    bad = {**campaign, "quiet_period_days": -1}
    refused = await tenant.call("POST", "/v1/campaigns", json={"request_id": rid(), "campaign": bad})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["details"][1]["field_violations"][0]["field"] == "campaign.quiet_period_days"
    unknown = {**campaign, "promotion_id": "no-such-promotion"}
    assert (
        await tenant.call("POST", "/v1/campaigns", json={"request_id": rid(), "campaign": unknown})
    ).status_code == 404
    other = await suite.new_tenant(with_catalog=False)
    assert (await other.call("GET", f"/v1/campaigns/{campaign_id}")).status_code == 404
    assert (await other.ok("GET", "/v1/campaigns")).get("campaigns", []) == []
