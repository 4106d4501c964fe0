"""Each pricing model against published worked examples (amounts in cents, as the models price them)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from azotte_metering.domain.pricing import (
    Percentage,
    PriceModel,
    PricingModel,
    Tier,
    UsagePrice,
    matching,
    parse_decimal,
    to_minor,
)
from azotte_platform.errors import InvalidArgument

D = Decimal

# Stripe's Typographic tiers: fonts 1-5 at 7 USD, 6-10 at 6.50 USD, 11+ at 6 USD.
STRIPE_TIERS = (Tier(D(5), D(700)), Tier(D(10), D(650)), Tier(None, D(600)))


@pytest.mark.parametrize(("fonts", "total_cents"), [(1, 700), (5, 3500), (6, 3900), (20, 12000), (25, 15000)])
def test_volume_prices_every_unit_at_the_tier_the_total_reaches(fonts: int, total_cents: int) -> None:
    """Stripe, "Set up tiered pricing", volume-based pricing table
    (https://docs.stripe.com/subscriptions/pricing-models/tiered-pricing): 6 fonts cost 39 USD, 25 cost 150 USD."""
    price = PriceModel(PricingModel.VOLUME, tiers=STRIPE_TIERS)
    assert price.amount(D(fonts)) == total_cents


@pytest.mark.parametrize(("fonts", "total_cents"), [(1, 700), (5, 3500), (6, 4150), (20, 12750), (25, 15750)])
def test_graduated_prices_the_units_of_each_tier_at_that_tier(fonts: int, total_cents: int) -> None:
    """Stripe, "Set up tiered pricing", graduated pricing table
    (https://docs.stripe.com/subscriptions/pricing-models/tiered-pricing): 6 fonts cost 41.50 USD
    (5 x 7 + 1 x 6.50), 25 cost 157.50 USD."""
    price = PriceModel(PricingModel.GRADUATED, tiers=STRIPE_TIERS)
    assert price.amount(D(fonts)) == total_cents


def test_volume_with_a_flat_fee_per_tier() -> None:
    """Lago, "Volume" charge model (https://getlago.com/docs/guide/plans/charges/charge-models/volume):
    tiers 0-10,000 at $0.0010, -50,000 at $0.0008, -100,000 at $0.0006, beyond at $0.0004, each with a $10
    fee; 65,000 API calls cost 65,000 x $0.0006 + $10 = $49."""
    tiers = tuple(
        Tier(up_to, unit, D(1000))
        for up_to, unit in ((D(10_000), D("0.10")), (D(50_000), D("0.08")), (D(100_000), D("0.06")), (None, D("0.04")))
    )
    price = PriceModel(PricingModel.VOLUME, tiers=tiers)
    assert price.amount(D(65_000)) == 4900
    assert price.amount(D(0)) == 0


def test_graduated_flat_fee_is_charged_once_a_tier_is_reached() -> None:
    """Stripe's tier `flat_amount` is "the flat billing amount for an entire tier, regardless of the number of
    units in the tier" (https://docs.stripe.com/api/prices/object#price_object-tiers-flat_amount): with a
    5 USD fee on each Typographic tier, 6 fonts cost 41.50 + 5 + 5 USD."""
    tiers = tuple(Tier(t.up_to, t.unit_price, D(500)) for t in STRIPE_TIERS)
    price = PriceModel(PricingModel.GRADUATED, tiers=tiers)
    assert price.amount(D(5)) == 3500 + 500
    assert price.amount(D(6)) == 4150 + 1000


@pytest.mark.parametrize(("units", "total_cents"), [(100, 0), (101, 500), (200, 500), (201, 1000)])
def test_package_rounds_up_started_packages_after_the_free_units(units: int, total_cents: int) -> None:
    """Lago, "Package" charge model (https://getlago.com/docs/guide/plans/charges/charge-models/package):
    $5 per 100 units with the first 100 free; 201 units cost $0 + $5 + $5 = $10."""
    price = PriceModel(PricingModel.PACKAGE, unit_price=D(500), package_size=100, included_units=D(100))
    assert price.amount(D(units)) == total_cents


def test_per_unit_beyond_the_included_units_is_overage() -> None:
    """Zuora, "Overage pricing" (https://docs.zuora.com/en/zuora-billing/set-up-zuora-billing/build-product-and-
    prices/charge-models---configure-any-pricing/overage-pricing): 500 minutes included, $0.50 per minute
    beyond; Lago "Standard": 1,000 API calls at $0.05 cost $50."""
    overage = PriceModel(PricingModel.PER_UNIT, unit_price=D(50), included_units=D(500))
    assert overage.amount(D(500)) == 0
    assert overage.amount(D(520)) == 1000
    assert PriceModel(PricingModel.PER_UNIT, unit_price=D(5)).amount(D(1000)) == 5000


def test_percentage_with_a_fixed_fee_per_transaction() -> None:
    """Lago's Stripe template (https://getlago.com/docs/templates/per-transaction/stripe): online card payments
    at 2.9% + $0.30 per transaction; two payments of $100 and $10 cost $3.20 + $0.59."""
    price = PriceModel(PricingModel.PERCENTAGE, percentage=Percentage(D("2.9"), fixed_fee=D(30)))
    assert price.amount_of_transactions([D(10_000), D(1000)]) == D(320) + D(59)


def test_percentage_is_clamped_to_the_per_transaction_minimum_and_maximum() -> None:
    """Upvest, "Designing your transaction fee model"
    (https://docs.upvest.co/products/byol/guides/fees/fees_transaction_fees_designing): 1% per order, not less
    than 1 EUR and not more than 100 EUR; orders of 50, 500 and 20,000 EUR pay 1, 5 and 100 EUR."""
    percentage = Percentage(D(1), min_per_transaction=D(100), max_per_transaction=D(10_000))
    price = PriceModel(PricingModel.PERCENTAGE, percentage=percentage)
    assert [price.amount_of_transactions([D(amount)]) for amount in (5000, 50_000, 2_000_000)] == [100, 500, 10_000]
    assert price.amount_of_transactions([D(5000), D(50_000), D(2_000_000)]) == 10_600


def test_fractions_of_a_cent_round_once_per_line() -> None:
    """Token prices are fractions of a cent: 12,345 tokens at 0.0015 cents cost 18.5175 cents, 19 on the line."""
    price = PriceModel(PricingModel.PER_UNIT, unit_price=D("0.0015"))
    amount = price.amount(D(12_345))
    assert amount == D("18.5175")
    assert to_minor(amount) == 19
    assert isinstance(amount, Decimal)


def test_the_most_specific_price_of_a_dimension_wins() -> None:
    per_token = PriceModel(PricingModel.PER_UNIT, unit_price=D("0.1"))
    default = UsagePrice("sf", "plan", "tokens", "USD", per_token)
    large = UsagePrice("sf", "plan", "tokens", "USD", per_token, {"model": "large"})
    assert matching([default, large], {"model": "large", "region": "eu"}) is large
    assert matching([large, default], {"model": "small"}) is default
    assert matching([large], {"model": "small"}) is None


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        ((), "tiers"),
        ((Tier(D(5), D(1)),), "tiers[0].up_to"),
        ((Tier(None, D(1)), Tier(None, D(1))), "tiers[0].up_to"),
        ((Tier(D(5), D(1)), Tier(D(5), D(1)), Tier(None, D(1))), "tiers[1].up_to"),
    ],
)
def test_tiers_must_rise_and_end_open(tiers: tuple[Tier, ...], field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        PriceModel(PricingModel.GRADUATED, tiers=tiers)
    assert raised.value.violations[0].field == field


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("abc", "not a decimal"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("-1", "negative"),
        ("1" * 40, "digits"),
        ("1E-100000", "decimals"),
        ("1E+100000", "below"),
    ],
)
def test_decimal_strings_are_checked_and_name_their_field(text: str, problem: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_decimal(text, "price.unit_price")
    assert raised.value.violations[0].field == "price.unit_price"
    assert problem in raised.value.violations[0].description


def test_bad_model_parameters_name_their_field() -> None:
    with pytest.raises(InvalidArgument, match="package_size"):
        PriceModel(PricingModel.PACKAGE, unit_price=D(1), package_size=0)
    with pytest.raises(InvalidArgument, match="percentage"):
        PriceModel(PricingModel.PERCENTAGE)
    with pytest.raises(InvalidArgument, match="max_per_transaction"):
        PriceModel(
            PricingModel.PERCENTAGE, percentage=Percentage(D(1), min_per_transaction=D(5), max_per_transaction=D(1))
        )
