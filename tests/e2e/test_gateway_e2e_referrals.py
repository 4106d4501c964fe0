"""Two-sided referrals through the real suite: a referred checkout converts and rewards both sides once with
credit, self-referrals are refused naming what matched, and the role matrix and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually, fresh_card_token

PROGRAM = {
    "enabled": True,
    "conversion": "REFERRAL_CONVERSION_FIRST_PAID_PERIOD",
    "max_rewards_per_referrer": "10",
    "rules": [
        {
            "storefront_ids": ["us"],
            "referrer": {"kind": "REWARD_KIND_CREDIT", "amounts": [{"currency_code": "USD", "amount_minor": "500"}]},
            "referred": {"kind": "REWARD_KIND_CREDIT", "amounts": [{"currency_code": "USD", "amount_minor": "300"}]},
        }
    ],
    "version": "0",
}


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite) -> TenantApi:
    """A tenant with the OTT catalog and a referral program: 5 USD to the referrer, 3 USD to the referred."""
    tenant = await suite.new_tenant()
    stored = await tenant.ok("PUT", "/v1/referral-program", json={"request_id": rid(), "program": PROGRAM})
    assert stored["program"]["version"] == "1" and stored["program"]["enabled"] is True
    return tenant


async def referral_code(shop: TenantApi, customer: str, key: str | None = None) -> Any:
    return await shop.call("POST", f"/v1/customers/{customer}/referral-code", json={"request_id": rid()}, key=key)


async def checkout(shop: TenantApi, customer: str, code: str, card: str = "", plan: str = "basic_monthly") -> Any:
    body = {
        "request_id": rid(),
        "customer_id": customer,
        "storefront_id": "us",
        "plan_id": plan,
        "channel": "web",
        "payment_method_token": card or fresh_card_token(),
        "referral_code": code,
    }
    return await shop.call("POST", "/v1/checkout", json=body)


def refusal(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    details = answer.json()["error"]["details"]
    assert details[1]["field_violations"][0]["field"] == "referral_code"
    info: dict[str, Any] = details[0]
    return info


async def credit(shop: TenantApi, customer: str) -> int:
    balances = (await shop.ok("GET", f"/v1/customers/{customer}/credits"))["balances"]
    return sum(int(b["balance"]["amount_minor"]) for b in balances if b["balance"]["currency_code"] == "USD")


async def test_a_referred_checkout_converts_and_rewards_both_sides_once(shop: TenantApi):
    ana, bob = await shop.customer(), await shop.customer()
    issued = (await referral_code(shop, ana)).json()["referral_code"]
    assert (await referral_code(shop, ana)).json()["referral_code"]["code"] == issued["code"]

    answer = await checkout(shop, bob, issued["code"].lower())
    assert answer.status_code == 200, answer.text

    async def rewarded() -> dict[str, Any]:
        listed = await shop.ok("GET", f'/v1/referrals?filter=referred_customer_id = "{bob}"')
        assert len(listed.get("referrals", [])) == 1
        referral = listed["referrals"][0]
        assert referral["state"] == "REFERRAL_STATE_REWARDED"
        return dict(referral)

    referral = await eventually(rewarded)
    assert referral["referrer_customer_id"] == ana
    assert referral["subscription_id"] == answer.json()["subscription"]["id"]
    assert referral["referrer_reward"]["amount"] == {"currency_code": "USD", "amount_minor": "500"}
    assert referral["referred_reward"]["amount"] == {"currency_code": "USD", "amount_minor": "300"}
    assert (await credit(shop, ana), await credit(shop, bob)) == (500, 300)
    assert (await shop.ok("GET", f"/v1/referrals/{referral['id']}"))["referral"] == referral
    assert (await referral_code(shop, ana)).json()["referral_code"]["rewarded_count"] == "1"


async def test_self_referrals_and_unknown_codes_are_refused_before_anything_is_charged(shop: TenantApi):
    ana, eve = await shop.customer(), await shop.customer()
    code = (await referral_code(shop, ana)).json()["referral_code"]["code"]
    card = fresh_card_token()

    own = refusal(await checkout(shop, ana, code, card))
    assert own["reason"] == "REFERRAL_CODE_NOT_ELIGIBLE"
    assert own["metadata"]["reason"] == "SELF_REFERRAL" and own["metadata"]["match"] == "customer"
    # ana's card is on file since her checkout stored it; eve paying with it is ana again.
    shared_card = refusal(await checkout(shop, eve, code, card))
    assert shared_card["metadata"]["match"] == "payment_method"
    unknown = refusal(await checkout(shop, eve, "REFNOSUCHCODE"))
    assert unknown["reason"] == "REFERRAL_CODE_UNKNOWN"
    assert (await shop.ok("GET", f"/v1/customers/{eve}/charges"))["charges"] == []


async def test_who_may_configure_issue_and_read_and_another_tenant_sees_nothing(suite: RunningSuite, shop: TenantApi):
    customer = await shop.customer()
    viewer, operator = await shop.new_key("viewer"), await shop.new_key("operator")
    publishable = await shop.new_key("publishable")
    assert (await shop.call("GET", "/v1/referral-program", key=viewer)).status_code == 200
    assert (await shop.call("GET", "/v1/referrals", key=viewer)).status_code == 200
    change = {"request_id": rid(), "program": {**PROGRAM, "version": "1"}}
    assert (await shop.call("PUT", "/v1/referral-program", json=change, key=operator)).status_code == 403
    assert (await referral_code(shop, customer, key=viewer)).status_code == 403
    assert (await referral_code(shop, customer, key=operator)).status_code == 200
    assert (await referral_code(shop, customer, key=publishable)).status_code == 403
    stale = await shop.call("PUT", "/v1/referral-program", json={"request_id": rid(), "program": PROGRAM})
    assert stale.status_code == 409, stale.text
    bad = {**PROGRAM, "version": "1", "rules": [{"referrer": {"kind": "REWARD_KIND_CREDIT"}}]}
    invalid = await shop.call("PUT", "/v1/referral-program", json={"request_id": rid(), "program": bad})
    assert invalid.status_code == 400, invalid.text
    assert invalid.json()["error"]["details"][1]["field_violations"][0]["field"] == "program.rules[0].referrer.amounts"
    other = await suite.new_tenant(with_catalog=False)
    assert (await referral_code(other, customer)).status_code == 404
    assert (await other.ok("GET", "/v1/referrals"))["referrals"] == []
    assert (await other.ok("GET", "/v1/referral-program"))["program"].get("enabled", False) is False
