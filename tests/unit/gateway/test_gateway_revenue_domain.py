"""How subscription events move MRR, and the rates and conversions analytics reports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from azotte_gateway.domain.revenue import (
    ExchangeRate,
    IntervalUnit,
    MissingExchangeRate,
    Movement,
    MovementTotals,
    Rates,
    Standing,
    SubscriptionStanding,
    gross_mrr_churn,
    monthly_minor,
    move,
    net_mrr_churn,
    ratio,
)


@pytest.mark.parametrize(
    ("amount", "unit", "count", "monthly"),
    [
        (999, IntervalUnit.MONTH, 1, 999),
        (9999, IntervalUnit.YEAR, 1, 833),  # 833.25
        (1999, IntervalUnit.MONTH, 2, 1000),  # 999.5 rounds half up
        (1000, IntervalUnit.WEEK, 1, 4333),  # 52 weeks / 12 months
        (100, IntervalUnit.DAY, 1, 3042),  # 365 days / 12 months
        (2997, IntervalUnit.MONTH, 3, 999),  # a quarterly plan
    ],
)
def test_a_price_is_normalized_to_a_month(amount: int, unit: IntervalUnit, count: int, monthly: int) -> None:
    assert monthly_minor(amount, unit, count) == monthly


def test_a_subscription_walks_through_every_movement() -> None:
    unseen = SubscriptionStanding.unseen()

    trial = move(unseen, "TRIALING", 0)
    assert (trial.movement, trial.mrr_delta_minor, trial.trial_delta, trial.paying_delta) == (Movement.NONE, 0, 1, 0)

    converted = move(trial.after, "ACTIVE", 999)
    assert (converted.movement, converted.mrr_delta_minor) == (Movement.NEW, 999)
    assert (converted.trial_delta, converted.paying_delta) == (-1, 1)

    upgraded = move(converted.after, "ACTIVE", 1499)
    assert (upgraded.movement, upgraded.mrr_delta_minor, upgraded.paying_delta) == (Movement.EXPANSION, 500, 0)

    downgraded = move(upgraded.after, "ACTIVE", 1299)
    assert (downgraded.movement, downgraded.mrr_delta_minor) == (Movement.CONTRACTION, -200)

    failed = move(downgraded.after, "PAST_DUE", 1299)
    assert (failed.movement, failed.mrr_delta_minor, failed.dunning_started) == (Movement.NONE, 0, True)

    grace_over = move(failed.after, "ON_HOLD", 1299)
    assert (grace_over.movement, grace_over.mrr_delta_minor, grace_over.paying_delta) == (Movement.CHURN, -1299, -1)
    assert not grace_over.dunning_started  # the same dunning, not a second one

    recovered = move(grace_over.after, "ACTIVE", 1299)
    assert (recovered.movement, recovered.mrr_delta_minor) == (Movement.REACTIVATION, 1299)
    assert recovered.after == SubscriptionStanding(Standing.PAYING, 1299, True, False)

    expired = move(recovered.after, "EXPIRED", 0)
    assert (expired.movement, expired.mrr_delta_minor, expired.paying_delta) == (Movement.CHURN, -1299, -1)


def test_a_renewal_at_the_same_price_moves_nothing_and_a_trial_that_expires_never_counted() -> None:
    active = move(SubscriptionStanding.unseen(), "ACTIVE", 999).after
    renewed = move(active, "ACTIVE", 999)
    assert (renewed.movement, renewed.mrr_delta_minor, renewed.paying_delta) == (Movement.NONE, 0, 0)

    trial = move(SubscriptionStanding.unseen(), "TRIALING", 0).after
    lapsed = move(trial, "EXPIRED", 0)
    assert (lapsed.movement, lapsed.mrr_delta_minor, lapsed.trial_delta) == (Movement.NONE, 0, -1)


def test_churn_rates_follow_the_analysts_formulas() -> None:
    moved = MovementTotals(new=5000, expansion=1000, contraction=-500, churn=-2000, reactivation=500)
    assert gross_mrr_churn(moved, 40000) == Decimal("0.0500")  # 2000 / 40000
    assert net_mrr_churn(moved, 40000) == Decimal("0.0250")  # (2000 + 500 - 1000 - 500) / 40000
    assert net_mrr_churn(MovementTotals(expansion=3000, churn=-1000), 40000) == Decimal("-0.0500")
    assert ratio(1, 3) == Decimal("0.3333")
    assert ratio(5, 0) is None


def test_amounts_convert_at_the_rate_of_their_day_with_each_currencys_minor_units() -> None:
    rates = Rates(
        "USD",
        (
            ExchangeRate("EUR", "USD", Decimal("1.10"), date(2026, 1, 1)),
            ExchangeRate("EUR", "USD", Decimal("1.20"), date(2026, 2, 1)),
            ExchangeRate("JPY", "USD", Decimal("0.0067"), date(2026, 1, 1)),
        ),
    )
    assert rates.convert(1000, "EUR", date(2026, 1, 31)) == 1100  # 10.00 EUR -> 11.00 USD
    assert rates.convert(1000, "EUR", date(2026, 2, 1)) == 1200
    assert rates.convert(1500, "JPY", date(2026, 3, 1)) == 1005  # 1,500 yen (no minor unit) -> 10.05 USD
    assert rates.convert(777, "USD", date(2020, 1, 1)) == 777
    with pytest.raises(MissingExchangeRate, match="EUR to USD on 2025-12-31"):
        rates.convert(1000, "EUR", date(2025, 12, 31))
