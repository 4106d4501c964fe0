"""A trial-ending campaign through the real suite: three days before a trial ends on a sandbox tenant's moved
clock, the campaign has lifecycle extend the trial by a week, and the offer says so."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from tests.e2e.conftest import RunningSuite
from tests.helpers import eventually


def rid() -> str:
    return uuid.uuid4().hex


async def test_a_trial_ending_in_three_days_is_extended_by_a_week(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()  # its clock moves four days ahead
    campaign = {
        "display_name": "One more week",
        "trigger": "CAMPAIGN_TRIGGER_TRIAL_ENDING",
        "action": "CAMPAIGN_ACTION_EXTEND_TRIAL",
        "trial_extension_days": 7,
        "days_before_trial_end": 3,
    }
    made = (await tenant.ok("POST", "/v1/campaigns", json={"request_id": rid(), "campaign": campaign}))["campaign"]
    customer = await tenant.customer()
    started = await tenant.checkout(customer, plan="standard_monthly")  # a 7-day trial
    assert started.status_code == 200, started.text
    subscription = started.json()["subscription"]
    trial_end = datetime.fromisoformat(subscription["trial_end_time"])

    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_days": 4})

    async def extended() -> dict[str, Any]:
        read = (await tenant.ok("GET", f"/v1/subscriptions/{subscription['id']}"))["subscription"]
        assert datetime.fromisoformat(read["trial_end_time"]) == trial_end + timedelta(days=7)
        return dict(read)

    read = await eventually(extended, within=30)
    assert read["state"] == "SUBSCRIPTION_STATE_TRIALING"

    async def offered() -> dict[str, Any]:
        # NOTE: promotions commits the offer after lifecycle extended the trial.
        offers = (await tenant.ok("GET", f'/v1/campaign-offers?filter=customer_id = "{customer}"'))["offers"]
        assert len(offers) == 1, offers
        return dict(offers[0])

    offer = await eventually(offered, within=10)
    assert (offer["campaign_id"], offer["trial_extension_days"], offer["trigger"]) == (
        made["id"],
        7,
        "CAMPAIGN_TRIGGER_TRIAL_ENDING",
    )
