"""What a checkout's redemption leaves for the subscription's renewals: a repeating discount's later periods, a
forever discount's every renewal, nothing for a once discount."""

from __future__ import annotations

from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.service_layer.promotions import renewal_discount

EUR_300 = Money(currency_code="EUR", amount_minor=300)


def redeemed(duration: pr.DiscountDuration.ValueType, periods: int = 0, **terms: object) -> pr.Redemption:
    return pr.Redemption(
        id="rdm_1",
        promotion_id="prm_1",
        duration=duration,
        duration_periods=periods,
        **terms,  # type: ignore[arg-type]
    )


def test_a_repeating_discount_applies_to_the_renewals_after_the_period_the_checkout_paid() -> None:
    discount = renewal_discount(redeemed(pr.DISCOUNT_DURATION_REPEATING, 3, renewal_percent_basis_points=2_500))
    assert discount is not None
    assert (discount.promotion_id, discount.redemption_id, discount.percent_basis_points) == ("prm_1", "rdm_1", 2_500)
    assert (discount.renewals_left, discount.HasField("amount_off")) == (2, False)


def test_a_forever_amount_off_applies_to_every_renewal() -> None:
    discount = renewal_discount(redeemed(pr.DISCOUNT_DURATION_FOREVER, renewal_amount_off=EUR_300))
    assert discount is not None
    assert (discount.amount_off, discount.HasField("renewals_left")) == (EUR_300, False)


def test_a_once_discount_or_a_single_repeating_period_leaves_nothing_for_renewals() -> None:
    assert renewal_discount(redeemed(pr.DISCOUNT_DURATION_ONCE)) is None
    assert renewal_discount(redeemed(pr.DISCOUNT_DURATION_REPEATING, 1, renewal_percent_basis_points=2_500)) is None
