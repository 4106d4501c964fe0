"""A reservation of a repeating or forever promotion records what each renewal takes off, so the subscription
it pays for applies the same discount later; a once promotion records nothing for renewals."""

from __future__ import annotations

from datetime import timedelta

from azotte_promotions.adapters.proto import redemption_to_pb
from azotte_promotions.domain.eligibility import Checkout
from azotte_promotions.domain.promotion import Discount, DiscountDuration, DiscountKind
from azotte_promotions.domain.redemption import Redemption
from azotte_promotions.service_layer import redemptions
from tests.unit.promotions.conftest import TENANT, UseCases

TTL = timedelta(minutes=15)


async def reserve(use_cases: UseCases, discount: Discount) -> Redemption:
    promotion_id = await use_cases.active(discount=discount)
    request = redemptions.ReserveRequest("r-1", Checkout(1_000, "EUR", "cus"), promotion_id=promotion_id)
    return await use_cases.run(lambda uow: redemptions.reserve(uow, TENANT, request, TTL))


async def test_a_repeating_percent_off_records_its_percent_for_the_renewals(use_cases: UseCases) -> None:
    discount = Discount(
        DiscountKind.PERCENT_OFF, percent_basis_points=2_500, duration=DiscountDuration.REPEATING, duration_periods=3
    )
    reserved = redemption_to_pb(await reserve(use_cases, discount))
    assert (reserved.discount.amount_minor, reserved.renewal_percent_basis_points) == (250, 2_500)
    assert (reserved.duration_periods, reserved.HasField("renewal_amount_off")) == (3, False)


async def test_a_forever_amount_off_records_the_amount_in_the_checkouts_currency(use_cases: UseCases) -> None:
    discount = Discount(DiscountKind.AMOUNT_OFF, amounts={"EUR": 300, "USD": 350}, duration=DiscountDuration.FOREVER)
    reserved = redemption_to_pb(await reserve(use_cases, discount))
    assert (reserved.renewal_amount_off.currency_code, reserved.renewal_amount_off.amount_minor) == ("EUR", 300)
    assert reserved.renewal_percent_basis_points == 0


async def test_a_once_discount_records_nothing_for_renewals(use_cases: UseCases) -> None:
    reserved = await reserve(use_cases, Discount(DiscountKind.PERCENT_OFF, percent_basis_points=5_000))
    assert (reserved.discount_minor, reserved.renewal_percent_basis_points, reserved.renewal_amount_off_minor) == (
        500,
        0,
        0,
    )
