"""Bad input is rejected as InvalidArgument naming the offending field."""

from __future__ import annotations

from typing import Any

import pytest

from azotte_catalog.domain.currency import lookup_currency
from azotte_catalog.domain.document import DocumentFormat, load_document_text, parse_document
from azotte_catalog.domain.storefront import RoutingContext
from azotte_platform.errors import InvalidArgument


def violations(data: Any) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        parse_document(data)
    return {v.field: v.description for v in caught.value.violations}


def test_valid_document_parses(doc: dict[str, Any]) -> None:
    parsed = parse_document(doc)
    assert [p.id for p in parsed.plans] == ["basic", "premium"]


@pytest.mark.parametrize(("code", "exponent"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)])
def test_currency_table_knows_minor_unit_exponents(code: str, exponent: int) -> None:
    currency = lookup_currency(code)
    assert currency is not None and currency.exponent == exponent


@pytest.mark.parametrize("code", ["XXX", "usd", "HRK", "XAU", ""])
def test_unknown_or_withdrawn_currency_is_not_found(code: str) -> None:
    assert lookup_currency(code) is None


def test_unknown_currency_names_the_field(doc: dict[str, Any]) -> None:
    doc["storefronts"][1]["currency"] = "EUX"
    assert "storefronts[1].currency" in violations(doc)


@pytest.mark.parametrize("amount", [-1, 9.5, 10.0, "699", True])
def test_negative_or_fractional_amounts_are_rejected(doc: dict[str, Any], amount: object) -> None:
    doc["prices"][0]["amount_minor"] = amount
    assert "prices[0].amount_minor" in violations(doc)


def test_unknown_feature_in_plan_is_named_by_path(doc: dict[str, Any]) -> None:
    doc["plans"][1]["features"].append({"key": "teleport"})
    assert violations(doc) == {"plans[1].features[2].key": "unknown feature 'teleport'"}


def test_price_for_missing_storefront_or_plan(doc: dict[str, Any]) -> None:
    doc["prices"][0]["storefront"] = "fr"
    doc["prices"][1]["plan"] = "gold"
    found = violations(doc)
    assert "prices[0].storefront" in found and "prices[1].plan" in found


def test_duplicate_ids_are_rejected(doc: dict[str, Any]) -> None:
    doc["plans"].append(dict(doc["plans"][0]))
    doc["features"].append(dict(doc["features"][0]))
    found = violations(doc)
    assert "plans[2].id" in found and "features[2].key" in found


def test_channel_price_needs_channel_enabled_in_storefront(doc: dict[str, Any]) -> None:
    doc["prices"][3]["channel"] = "google_play"
    assert "not enabled" in violations(doc)["prices[3].channel"]


@pytest.mark.parametrize("rate", ["1.5", "-0.1", "abc", 0.19, "NaN", "0.1234567"])
def test_invalid_tax_rate_is_rejected(doc: dict[str, Any], rate: object) -> None:
    doc["storefronts"][1]["tax"]["rate"] = rate
    assert "storefronts[1].tax.rate" in violations(doc)


def test_every_error_is_collected_at_once(doc: dict[str, Any]) -> None:
    doc["storefronts"][0]["country"] = "usa"
    doc["features"][1].pop("unit")
    doc["plans"][0]["rank"] = -1
    doc["prices"][2]["currency"] = "EUR"
    doc["channel_mappings"][0]["channel"] = "fax"
    assert set(violations(doc)) == {
        "storefronts[0].country",
        "features[1].unit",
        "plans[0].rank",
        "prices[2].currency",
        "channel_mappings[0].channel",
    }


def test_limits_follow_feature_kind(doc: dict[str, Any]) -> None:
    doc["plans"][0]["features"][0]["limit"] = 3
    doc["plans"][1]["features"][1].pop("limit")
    found = violations(doc)
    assert "boolean" in found["plans[0].features[0].limit"]
    assert "required" in found["plans[1].features[1].limit"]


def test_unknown_fields_are_reported(doc: dict[str, Any]) -> None:
    doc["plans"][0]["prise"] = 5
    assert violations(doc) == {"plans[0].prise": "unknown field"}


def test_add_on_must_be_marked_as_add_on(doc: dict[str, Any]) -> None:
    doc["plans"][1]["add_ons"] = ["basic", "nope"]
    found = violations(doc)
    assert "not marked as an add-on" in found["plans[1].add_ons[0]"]
    assert "unknown plan" in found["plans[1].add_ons[1]"]


@pytest.mark.parametrize(
    ("channel", "product", "field"),
    [
        ("google_play", "premium", "channel_mappings[0].external_product_id"),
        ("telecom", "SKU-1", "channel_mappings[0].storefront"),
        ("web", "x", "channel_mappings[0].channel"),
    ],
)
def test_bad_channel_mappings(doc: dict[str, Any], channel: str, product: str, field: str) -> None:
    doc["channel_mappings"][0].update(channel=channel, external_product_id=product)
    assert field in violations(doc)


def test_web_storefront_needs_a_fallback_psp(doc: dict[str, Any]) -> None:
    doc["storefronts"][0]["payment_routing"] = {"rules": [{"psps": ["paypal"], "when": {"currencies": ["USD"]}}]}
    assert "storefronts[0].payment_routing.fallback" in violations(doc)


def test_unreadable_text_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument) as caught:
        load_document_text("plans: [", DocumentFormat.YAML)
    assert caught.value.violations[0].field == "document"


def test_payment_routing_takes_first_matching_rule_else_fallback(doc: dict[str, Any]) -> None:
    doc["storefronts"][0]["payment_routing"] = {
        "rules": [
            {"psps": ["paypal"], "when": {"payment_method_types": ["paypal"]}},
            {"psps": ["adyen", "stripe"], "when": {"min_amount_minor": 10000, "countries": ["US"]}},
        ],
        "fallback": ["stripe"],
    }
    routing = parse_document(doc).storefronts[0].routing
    assert routing.choose(RoutingContext("USD", "US", 20000, "card")) == ("adyen", "stripe")
    assert routing.choose(RoutingContext("USD", "US", 20000, "paypal")) == ("paypal",)
    assert routing.choose(RoutingContext("USD", "US", 9999, "card")) == ("stripe",)
