"""`azotte referrals|campaigns|experiments`: each command is one REST call, its answer printed."""

from __future__ import annotations

import json

import pytest

from tests.unit.promotions.conftest import FakeGatewayRest

REFERRAL = {
    "id": "ref_1",
    "referrer_customer_id": "ana",
    "referred_customer_id": "bob",
    "plan_id": "basic",
    "state": "REFERRAL_STATE_REWARDED",
    "referrer_reward": {"amount": {"currency_code": "USD", "amount_minor": "500"}},
    "referred_reward": {"skipped": "cap_reached"},
}
RESULTS = {
    "results": [
        {"variant_id": "control", "exposed": "10", "converted": "1", "conversion_rate": 0.1, "p_value": 0},
        {
            "variant_id": "week",
            "exposed": "10",
            "converted": "6",
            "conversion_rate": 0.6,
            "p_value": 0.02,
            "significant": True,
            "z_score": 2.4,
            "revenue_per_customer": {"currency_code": "USD", "amount_minor": "480"},
        },
    ]
}
ANSWERS = {
    ("POST", "/v1/customers/ana/referral-code"): {"referral_code": {"code": "REFABC"}},
    ("GET", "/v1/referrals"): {"referrals": [REFERRAL]},
    ("POST", "/v1/campaigns/camp_1:pause"): {"campaign": {"state": "CAMPAIGN_STATE_PAUSED"}},
    ("GET", "/v1/campaign-offers"): {
        "offers": [
            {"issue_time": "t", "campaign_id": "camp_1", "customer_id": "ana", "code": "K7Q", "expire_time": "e"}
        ]
    },
    ("GET", "/v1/experiments/exp_1/results"): RESULTS,
    ("POST", "/v1/experiments/exp_1:end"): {"experiment": {"state": "EXPERIMENT_STATE_SHIPPED"}},
}


@pytest.fixture
def rest() -> FakeGatewayRest:
    return FakeGatewayRest(ANSWERS)


def test_a_customers_referral_code_and_the_referrals_with_their_rewards(rest: FakeGatewayRest, monkeypatch):
    assert "REFABC" in rest.run(monkeypatch, "referrals", "code", "ana")
    assert json.loads(rest.sent[0].content)["request_id"]
    printed = rest.run(monkeypatch, "referrals", "list", "--filter", "referrer_customer_id = ana")
    assert dict(rest.sent[1].url.params) == {"filter": "referrer_customer_id = ana"}
    assert "5.00 USD" in printed and "cap_reached" in printed


def test_campaign_offers_of_a_customer_and_a_pause(rest: FakeGatewayRest, monkeypatch):
    assert "K7Q" in rest.run(monkeypatch, "campaigns", "offers", "--customer", "ana")
    assert dict(rest.sent[0].url.params) == {"filter": 'customer_id = "ana"'}
    assert "paused" in rest.run(monkeypatch, "campaigns", "pause", "camp_1")


def test_experiment_results_with_significance_and_shipping_a_variant(rest: FakeGatewayRest, monkeypatch):
    printed = rest.run(monkeypatch, "experiments", "results", "exp_1")
    assert "60.0%" in printed and "0.0200 *" in printed and "4.80 USD" in printed
    assert "shipped" in rest.run(monkeypatch, "experiments", "ship", "exp_1", "week")
    assert json.loads(rest.sent[-1].content)["ship_variant_id"] == "week"
