"""The promotion model without I/O: discounts in integer minor units, definitions checked field by field,
the state machine, and eligibility answering every failed rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_promotions.domain import codes
from azotte_promotions.domain.eligibility import Checkout, CustomerFacts, Reason, Usage, evaluate
from azotte_promotions.domain.promotion import (
    Definition,
    Discount,
    DiscountDuration,
    DiscountKind,
    Eligibility,
    Limits,
    Promotion,
    PromotionState,
    Targets,
)
from azotte_promotions.errors import IllegalPromotionTransition, PromotionVersionMismatch
from tests.unit.promotions.conftest import T0, definition


@pytest.mark.parametrize(
    ("discount", "amount", "currency", "off"),
    [
        (Discount(DiscountKind.PERCENT_OFF, percent_basis_points=5_000), 999, "USD", 500),  # 499.5 rounds half up
        (Discount(DiscountKind.PERCENT_OFF, percent_basis_points=3_333), 1_000, "USD", 333),
        (Discount(DiscountKind.PERCENT_OFF, percent_basis_points=10_000), 1_000, "USD", 1_000),
        (Discount(DiscountKind.AMOUNT_OFF, amounts={"USD": 300}), 1_000, "USD", 300),
        (Discount(DiscountKind.AMOUNT_OFF, amounts={"USD": 3_000}), 1_000, "USD", 1_000),  # never below zero
        (Discount(DiscountKind.AMOUNT_OFF, amounts={"USD": 300}), 1_000, "EUR", None),
        (Discount(DiscountKind.FIXED_PRICE, amounts={"EUR": 99}), 999, "EUR", 900),
        (Discount(DiscountKind.FIXED_PRICE, amounts={"EUR": 1_500}), 999, "EUR", 0),
        (Discount(DiscountKind.EXTRA_TRIAL_DAYS, trial_days=14), 999, "EUR", 0),
    ],
)
def test_the_discount_off_a_price_is_whole_minor_units(discount: Discount, amount: int, currency: str, off: int | None):
    discount.check()
    assert discount.off(amount, currency) == off


@pytest.mark.parametrize(
    ("discount", "field"),
    [
        (Discount(DiscountKind.PERCENT_OFF), "discount.percent_basis_points"),
        (Discount(DiscountKind.PERCENT_OFF, percent_basis_points=10_001), "discount.percent_basis_points"),
        (Discount(DiscountKind.AMOUNT_OFF), "discount.amounts"),
        (Discount(DiscountKind.AMOUNT_OFF, amounts={"USD": 0}), "discount.amounts"),
        (Discount(DiscountKind.EXTRA_TRIAL_DAYS), "discount.trial_days"),
        (
            Discount(DiscountKind.PERCENT_OFF, percent_basis_points=10, duration=DiscountDuration.REPEATING),
            "discount.duration_periods",
        ),
        (
            Discount(DiscountKind.FIXED_PRICE, amounts={"USD": 1}, duration=DiscountDuration.FOREVER),
            "discount.duration",
        ),
        (Discount(DiscountKind.AMOUNT_OFF, amounts={"USD": 1}, trial_days=3), "discount.trial_days"),
    ],
)
def test_a_discount_that_makes_no_sense_names_its_field(discount: Discount, field: str):
    with pytest.raises(InvalidArgument) as raised:
        Definition("x", discount).check()
    assert raised.value.violations[0].field == field


def test_the_state_machine_allows_only_its_transitions_and_counts_versions():
    promotion = Promotion.create("t", "p", definition(), T0)
    promotion.transition(PromotionState.ACTIVE, T0)
    promotion.transition(PromotionState.PAUSED, T0)
    promotion.transition(PromotionState.PAUSED, T0)  # already there: nothing changes
    promotion.transition(PromotionState.ENDED, T0)
    assert promotion.version == 4
    with pytest.raises(IllegalPromotionTransition):
        promotion.transition(PromotionState.ACTIVE, T0)
    with pytest.raises(IllegalPromotionTransition):
        promotion.update(definition(), 4, ("display_name",), T0)
    assert [type(e).__name__ for e in promotion.pull_events()] == [
        "PromotionCreated",
        "PromotionStateChanged",
        "PromotionStateChanged",
        "PromotionStateChanged",
    ]


def test_an_update_based_on_an_old_version_is_refused():
    promotion = Promotion.create("t", "p", definition(), T0)
    promotion.update(definition(description="new"), 1, ("description",), T0)
    with pytest.raises(PromotionVersionMismatch):
        promotion.update(definition(description="newer"), 1, ("description",), T0)


def _active(**fields: Any) -> Promotion:
    promotion = Promotion.create("t", "p", definition(**fields), T0)
    promotion.transition(PromotionState.ACTIVE, T0)
    return promotion


def test_an_eligible_checkout_gets_its_discount_and_duration():
    d = Discount(DiscountKind.AMOUNT_OFF, amounts={"USD": 300}, duration=DiscountDuration.REPEATING, duration_periods=3)
    v = evaluate(_active(discount=d), Checkout(1_000, "USD"), T0, Usage())
    assert (v.eligible, v.discount_minor, v.final_minor, v.duration_periods) == (True, 300, 700, 3)


def test_every_failed_rule_is_reported_once():
    promotion = _active(
        targets=Targets(frozenset({"annual"}), frozenset({"music"}), frozenset({"de"}), frozenset({Channel.APP_STORE})),
        start_at=T0 + timedelta(days=1),
        limits=Limits(max_redemptions=1, max_per_customer=1, budgets={"USD": 100}),
        eligibility=Eligibility(
            new_customers_only=True,
            minimum_amounts={"USD": 2_000},
            country_codes=frozenset({"DE"}),
            required_plan_ids=frozenset({"basic"}),
            excluded_plan_ids=frozenset({"premium"}),
            segment_ids=frozenset({"vip"}),
        ),
    )
    checkout = Checkout(
        1_000,
        "USD",
        "cus",
        "premium",
        "video",
        "us",
        "US",
        Channel.WEB,
        CustomerFacts(True, frozenset({"premium"})),
    )
    v = evaluate(promotion, checkout, T0, Usage(confirmed_count=1, confirmed_minor={"USD": 100}), customer_uses=1)
    assert [f.reason for f in v.failures] == [
        Reason.NOT_STARTED,
        Reason.PROMOTION_EXHAUSTED,
        Reason.CUSTOMER_LIMIT_REACHED,
        Reason.PLAN_NOT_ELIGIBLE,
        Reason.PRODUCT_LINE_NOT_ELIGIBLE,
        Reason.STOREFRONT_NOT_ELIGIBLE,
        Reason.CHANNEL_NOT_ELIGIBLE,
        Reason.COUNTRY_NOT_ELIGIBLE,
        Reason.NOT_NEW_CUSTOMER,
        Reason.BELOW_MINIMUM_AMOUNT,
        Reason.REQUIRED_PLAN_NOT_HELD,
        Reason.EXCLUDED_PLAN_HELD,
        Reason.NOT_IN_SEGMENT,
        Reason.BUDGET_EXHAUSTED,
    ]
    assert v.discount_minor == 0


def test_an_ended_schedule_and_a_paused_promotion_are_reasons():
    promotion = Promotion.create("t", "p", definition(end_at=T0), T0)
    v = evaluate(promotion, Checkout(1_000, "USD"), T0, Usage())
    assert [f.reason for f in v.failures] == [Reason.PROMOTION_NOT_ACTIVE, Reason.ENDED]


def test_codes_are_normalized_and_generated_from_an_unambiguous_alphabet():
    assert codes.normalize(" premiere-50 ") == "PREMIERE50"
    assert not set("01ILO") & set(codes.ALPHABET)
    generated = codes.generate(1_000, "TV")
    assert len(set(generated)) == 1_000
    assert all(c.startswith("TV") and set(c[2:]) <= set(codes.ALPHABET) for c in generated)
    with pytest.raises(InvalidArgument):
        codes.shared_code("no!")
