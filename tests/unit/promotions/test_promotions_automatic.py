"""Automatic promotions over fakes: a checkout without a code reserves the best active automatic promotion it is
eligible for (of equal ones the earliest created, the next one when a limit has no room), none is NOT_FOUND, and
the flag goes through the API, the filter and the stored definition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument
from azotte_platform.service_kit import Units
from azotte_promotions.adapters.repositories.promotions import definition_from_json, definition_to_json
from azotte_promotions.domain.eligibility import Checkout, CustomerFacts, Usage
from azotte_promotions.domain.promotion import Discount, DiscountKind, Eligibility, Limits, PromotionState, Targets
from azotte_promotions.domain.redemption import Redemption
from azotte_promotions.entrypoints.servicer import PromotionsServicer
from azotte_promotions.errors import NoAutomaticPromotion
from azotte_promotions.service_layer import promotions, queries, redemptions
from tests.unit.promotions.conftest import TENANT, UseCases, definition
from tests.unit.promotions.fakes import FakePeople, FakePromotionRepository

TTL = timedelta(minutes=15)
CHECKOUT = Checkout(1_000, "USD", "cus", plan_id="premium", storefront_id="us", customer=CustomerFacts(True))


def percent(bp: int) -> Discount:
    return Discount(DiscountKind.PERCENT_OFF, percent_basis_points=bp)


async def _promotion(use_cases: UseCases, promotion_id: str, bp: int, *states: PromotionState, **fields: Any) -> str:
    """A promotion of `bp` basis points off, automatic unless told, moved through `states`; a second later."""
    fields.setdefault("automatic", True)
    d = definition(discount=percent(bp), **fields)
    await use_cases.run(lambda uow: promotions.create_promotion(uow, TENANT, d, promotion_id))
    for state in states:
        await use_cases.run(partial(promotions.change_state, tenant=TENANT, promotion_id=promotion_id, to=state))
    use_cases.clock.advance(timedelta(seconds=1))
    return promotion_id


async def _reserve(use_cases: UseCases, checkout: Checkout = CHECKOUT) -> Redemption:
    request = redemptions.ReserveRequest(f"r-{checkout.customer_id}", checkout, automatic=True)
    return await use_cases.run(lambda uow: redemptions.reserve(uow, TENANT, request, TTL))


ACTIVE = PromotionState.ACTIVE


async def test_the_best_eligible_automatic_promotion_is_reserved_without_a_code(use_cases: UseCases) -> None:
    await _promotion(use_cases, "twenty", 2_000, ACTIVE)
    await _promotion(use_cases, "thirty", 3_000, ACTIVE)
    await _promotion(use_cases, "germany", 9_000, ACTIVE, targets=Targets(storefront_ids=frozenset({"de"})))
    await _promotion(use_cases, "annual", 8_000, ACTIVE, targets=Targets(plan_ids=frozenset({"annual"})))
    await _promotion(use_cases, "big", 7_000, ACTIVE, eligibility=Eligibility(minimum_amounts={"USD": 5_000}))
    await _promotion(use_cases, "new", 6_000, ACTIVE, eligibility=Eligibility(new_customers_only=True))
    await _promotion(use_cases, "coded", 9_500, ACTIVE, automatic=False)
    await _promotion(use_cases, "draft", 9_900)
    await _promotion(use_cases, "paused", 9_900, ACTIVE, PromotionState.PAUSED)
    await _promotion(use_cases, "ended", 9_900, ACTIVE, PromotionState.ENDED)

    reserved = await _reserve(use_cases)
    assert (reserved.promotion_id, reserved.discount_minor, reserved.code) == ("thirty", 300, "")


async def test_of_equal_discounts_the_earliest_created_is_reserved(use_cases: UseCases) -> None:
    await _promotion(use_cases, "z-early", 3_000, ACTIVE)
    await _promotion(use_cases, "a-late", 3_000, ACTIVE)
    assert (await _reserve(use_cases)).promotion_id == "z-early"


async def test_no_eligible_automatic_promotion_is_not_found_and_reserves_nothing(use_cases: UseCases) -> None:
    await _promotion(use_cases, "germany", 3_000, ACTIVE, targets=Targets(storefront_ids=frozenset({"de"})))
    await _promotion(use_cases, "coded", 3_000, ACTIVE, automatic=False)
    with pytest.raises(NoAutomaticPromotion) as raised:
        await _reserve(use_cases)
    assert raised.value.reason == "NO_AUTOMATIC_PROMOTION"
    assert use_cases.uow.data.redemptions == {}
    assert all(counts == [0, 0, 0] for counts in use_cases.uow.data.counts.values())


async def test_when_the_best_ones_limit_is_reached_the_next_is_reserved(use_cases: UseCases) -> None:
    await _promotion(use_cases, "best", 5_000, ACTIVE, limits=Limits(max_redemptions=1))
    await _promotion(use_cases, "next", 3_000, ACTIVE)
    assert (await _reserve(use_cases, Checkout(1_000, "USD", "other"))).promotion_id == "best"
    assert (await _reserve(use_cases)).promotion_id == "next"


async def test_a_limit_used_up_since_it_was_judged_is_undone_and_the_next_is_reserved(
    use_cases: UseCases, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _promotion(use_cases, "best", 5_000, ACTIVE, limits=Limits(budgets={"USD": 500}))
    await _promotion(use_cases, "next", 3_000, ACTIVE)
    await _reserve(use_cases, Checkout(1_000, "USD", "other"))  # the budget of "best" is spent

    async def judged_before(self: FakePromotionRepository, tenant_id: str, ids: Sequence[str]) -> dict[str, Usage]:
        return {}  # the counts as read before the other checkout committed

    monkeypatch.setattr(FakePromotionRepository, "usage", judged_before)
    assert (await _reserve(use_cases)).promotion_id == "next"
    data = use_cases.uow.data
    assert data.counts[(TENANT, "best")] == [1, 0, 0]  # the refused take counted nothing
    assert (TENANT, "best", "", "cus") not in data.uses


@pytest.mark.parametrize("named", [{"code": "SPRING"}, {"promotion_id": "best"}])
async def test_automatic_and_a_code_or_promotion_is_invalid_naming_code(
    use_cases: UseCases, named: dict[str, str]
) -> None:
    request = redemptions.ReserveRequest("r", CHECKOUT, automatic=True, **named)
    with pytest.raises(InvalidArgument) as refused:
        await use_cases.run(lambda uow: redemptions.reserve(uow, TENANT, request, TTL))
    assert refused.value.violations[0].field == "code"


async def test_automatic_goes_through_the_api_and_a_reservation_is_replayed(use_cases: UseCases) -> None:
    servicer = PromotionsServicer(Units(lambda: use_cases.uow), TTL, FakePeople())
    promotion = pb.Promotion(
        id="spring",
        display_name="Spring",
        discount=pb.Discount(kind=pb.DISCOUNT_KIND_PERCENT_OFF, percent_basis_points=2_000),
        automatic=True,
    )
    trial_days = pb.Promotion(
        display_name="Trial", discount=pb.Discount(kind=pb.DISCOUNT_KIND_EXTRA_TRIAL_DAYS, trial_days=7), automatic=True
    )
    reserve = pb.ReserveRedemptionRequest(
        request_id="checkout-1",
        automatic=True,
        checkout=pb.Checkout(customer_id="cus", amount=Money(currency_code="USD", amount_minor=1_000)),
    )
    with tenant_scope(TENANT):
        created = await servicer.CreatePromotion(pb.CreatePromotionRequest(request_id="c", promotion=promotion), None)
        assert created.promotion.automatic
        with pytest.raises(InvalidArgument) as refused:
            await servicer.CreatePromotion(pb.CreatePromotionRequest(request_id="t", promotion=trial_days), None)
        assert refused.value.violations[0].field == "promotion.automatic"
        await servicer.ActivatePromotion(pb.ActivatePromotionRequest(request_id="a", promotion_id="spring"), None)
        first = await servicer.ReserveRedemption(reserve, None)
        again = await servicer.ReserveRedemption(reserve, None)
        assert (first.redemption.promotion_id, first.redemption.code) == ("spring", "")
        assert again == first and len(use_cases.uow.data.redemptions) == 1
        update = pb.UpdatePromotionRequest(
            request_id="u", promotion=pb.Promotion(id="spring", version=2), update_mask=FieldMask(paths=["automatic"])
        )
        assert not (await servicer.UpdatePromotion(update, None)).promotion.automatic
        got = await servicer.GetPromotion(pb.GetPromotionRequest(promotion_id="spring"), None)
        assert (got.promotion.automatic, got.promotion.version) == (False, 3)


def test_the_list_filter_and_the_stored_definition_carry_automatic() -> None:
    assert queries.promotion_query("automatic = true", "").automatic is True
    assert queries.promotion_query("automatic = false", "").automatic is False
    with pytest.raises(InvalidArgument) as refused:
        queries.promotion_query("automatic = yes", "")
    assert refused.value.violations[0].field == "filter"
    stored = definition_to_json(definition(automatic=True))
    assert definition_from_json(stored).automatic
    del stored["automatic"]  # a definition stored before automatic promotions
    assert not definition_from_json(stored).automatic
