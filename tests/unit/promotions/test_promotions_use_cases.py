"""Promotions use cases over fakes: the events each change publishes, reserve/confirm/release and the sweep,
limits per customer, exhaustion and budget events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from azotte.promotions.v1 import events_pb2
from azotte_promotions.domain.eligibility import Checkout
from azotte_promotions.domain.promotion import Discount, DiscountKind, Limits, PromotionState
from azotte_promotions.domain.redemption import RedemptionState
from azotte_promotions.errors import (
    BudgetExhausted,
    CustomerLimitReached,
    PromotionExhausted,
    PromotionNotEligible,
    RedemptionReleased,
)
from azotte_promotions.service_layer import codes, promotions, redemptions
from tests.unit.promotions.conftest import TENANT, UseCases, definition

TTL = timedelta(minutes=15)


async def _reserve(use_cases: UseCases, promotion_id: str, customer: str = "cus", amount: int = 1_000, code: str = ""):
    request = redemptions.ReserveRequest(
        f"r-{customer}-{amount}-{code}", Checkout(amount, "USD", customer), code, "" if code else promotion_id
    )
    return await use_cases.run(lambda uow: redemptions.reserve(uow, TENANT, request, TTL))


async def _confirm(use_cases: UseCases, redemption_id: str):
    return await use_cases.run(lambda uow: redemptions.confirm(uow, TENANT, redemption_id, "ch-1"))


async def test_changes_publish_created_updated_and_state_changed(use_cases: UseCases):
    view = await use_cases.run(lambda uow: promotions.create_promotion(uow, TENANT, definition(), "spring"))
    await use_cases.run(
        lambda uow: promotions.update_promotion(
            uow, TENANT, "spring", 1, lambda d: definition(description="now"), ("description",)
        )
    )
    await use_cases.run(lambda uow: promotions.change_state(uow, TENANT, "spring", PromotionState.ACTIVE))
    assert view.promotion.version == 1
    assert use_cases.uow.published_types() == ["promotion.created", "promotion.updated", "promotion.state_changed"]
    changed = use_cases.uow.published[2].payload
    assert isinstance(changed, events_pb2.PromotionStateChanged)
    assert (changed.promotion.version, changed.previous_state) == (3, 1)


async def test_a_confirmed_redemption_publishes_what_revenue_analytics_needs(use_cases: UseCases):
    promotion_id = await use_cases.active()
    reserved = await _reserve(use_cases, promotion_id)
    assert reserved.state is RedemptionState.RESERVED
    assert use_cases.uow.published_types()[-1] == "promotion.state_changed"  # a reservation publishes nothing
    confirmed = await _confirm(use_cases, reserved.id)
    again = await _confirm(use_cases, reserved.id)
    assert confirmed.state is again.state is RedemptionState.CONFIRMED
    redeemed = [e for e in use_cases.uow.published if e.type == "promotion.redeemed"]
    assert len(redeemed) == 1
    payload = redeemed[0].payload
    assert isinstance(payload, events_pb2.PromotionRedeemed)
    assert (payload.gross.amount_minor, payload.discount.amount_minor, payload.net.amount_minor) == (1_000, 500, 500)
    assert (payload.promotion_id, payload.customer_id, payload.charge_id) == (promotion_id, "cus", "ch-1")
    assert redeemed[0].about == "cus"


async def test_the_last_redemption_and_the_spent_budget_are_published_once(use_cases: UseCases):
    promotion_id = await use_cases.active(Limits(max_redemptions=2, budgets={"USD": 1_000}))
    for customer in ("a", "b"):
        await _confirm(use_cases, (await _reserve(use_cases, promotion_id, customer)).id)
    assert use_cases.uow.published_types()[-4:] == [
        "promotion.redeemed",
        "promotion.redeemed",
        "promotion.exhausted",
        "promotion.budget_exhausted",
    ]
    with pytest.raises(PromotionExhausted):
        await _reserve(use_cases, promotion_id, "c")


async def test_a_budget_refuses_a_discount_that_does_not_fit(use_cases: UseCases):
    promotion_id = await use_cases.active(Limits(budgets={"USD": 800}))
    await _reserve(use_cases, promotion_id, "a", 1_000)  # 500 of 800
    with pytest.raises(BudgetExhausted):
        await _reserve(use_cases, promotion_id, "b", 1_000)  # 500 more does not fit
    fits = await _reserve(use_cases, promotion_id, "c", 600)  # 300 does
    assert fits.discount_minor == 300


async def test_a_customer_limit_counts_reservations_and_a_release_gives_one_back(use_cases: UseCases):
    promotion_id = await use_cases.active(Limits(max_per_customer=1))
    held = await _reserve(use_cases, promotion_id, "ana", 1_000)
    with pytest.raises(CustomerLimitReached):
        await _reserve(use_cases, promotion_id, "ana", 2_000)
    await use_cases.run(lambda uow: redemptions.release(uow, TENANT, held.id))
    await _reserve(use_cases, promotion_id, "ana", 2_000)
    with pytest.raises(RedemptionReleased):
        await _confirm(use_cases, held.id)


async def test_the_sweep_releases_only_reservations_past_their_ttl(use_cases: UseCases):
    promotion_id = await use_cases.active(Limits(max_redemptions=1))
    held = await _reserve(use_cases, promotion_id)
    assert await redemptions.release_expired(lambda: use_cases.uow, 100) == 0
    use_cases.clock.advance(TTL)
    assert await redemptions.release_expired(lambda: use_cases.uow, 100) == 1
    released = await use_cases.run(lambda uow: redemptions.get_redemption(uow, TENANT, held.id))
    assert (released.state, released.release_reason) == (RedemptionState.RELEASED, "expired")
    assert (await _reserve(use_cases, promotion_id, "other")).state is RedemptionState.RESERVED


async def test_an_ineligible_checkout_is_refused_with_every_reason_and_counts_nothing(use_cases: UseCases):
    promotion_id = await use_cases.active(
        Limits(max_redemptions=5), discount=Discount(DiscountKind.AMOUNT_OFF, amounts={"EUR": 100})
    )
    with pytest.raises(PromotionNotEligible) as raised:
        await _reserve(use_cases, promotion_id)
    assert raised.value.metadata["reasons"] == "currency_not_supported"
    usage = await use_cases.run(lambda uow: uow.promotions.usage(TENANT, [promotion_id]))
    assert usage[promotion_id].held == 0


async def test_a_batch_code_is_single_use(use_cases: UseCases):
    promotion_id = await use_cases.active()
    batch = await use_cases.run(lambda uow: codes.create_batch(uow, TENANT, promotion_id, 10))
    page = await use_cases.run(lambda uow: codes.export_batch(uow, TENANT, batch.id, 4, ""))
    assert len(page.items) == 4 and page.next_page_token
    code = page.items[0]
    await _reserve(use_cases, promotion_id, "a", code=code.lower())
    with pytest.raises(Exception) as raised:
        await _reserve(use_cases, promotion_id, "b", code=code)
    assert type(raised.value).__name__ == "CodeExhausted"
