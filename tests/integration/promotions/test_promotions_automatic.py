"""Automatic promotions on real PostgreSQL: the lookup reserves the best active automatic promotion a checkout is
eligible for (the next when the best has no room, none NOT_FOUND), validating without a code answers the same pick
and reserves nothing, a refused take is undone in its savepoint, and the flag goes through create, update, the list
filter and the stored row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_promotions.adapters.repositories.promotions import PostgresPromotionRepository
from azotte_promotions.domain.eligibility import Checkout, Usage
from azotte_promotions.service_layer import redemptions
from tests.integration.promotions.conftest import TENANT, Service
from tests.integration.promotions.promotions_support import active_promotion, checkout, failure, percent_off, rid


async def _automatic(service: Service, bp: int, **fields: Any) -> str:
    """An active automatic promotion of `bp` basis points off, created a second after the previous one."""
    service.clock.advance(timedelta(seconds=1))
    return (await active_promotion(service, percent_off(bp, automatic=True, **fields))).id


def _request(request_id: str = "", **fields: Any) -> pb.ReserveRedemptionRequest:
    return pb.ReserveRedemptionRequest(request_id=request_id or rid(), automatic=True, checkout=checkout(**fields))


async def _reserve(service: Service, request_id: str = "", **fields: Any) -> pb.Redemption:
    return (await service.stub.ReserveRedemption(_request(request_id, **fields), metadata=service.metadata)).redemption


async def _held(service: Service, promotion_id: str) -> int:
    got = await service.stub.GetPromotion(pb.GetPromotionRequest(promotion_id=promotion_id), metadata=service.metadata)
    return got.promotion.usage.reserved_count


async def test_the_lookup_reserves_the_best_active_automatic_promotion_the_checkout_suits(service: Service) -> None:
    none = await failure(service.stub.ReserveRedemption(_request(), metadata=service.metadata))
    assert isinstance(none, NotFound) and none.reason == "NO_AUTOMATIC_PROMOTION"

    best = await _automatic(service, 3_000, limits=pb.Limits(max_redemptions=1))
    next_best = await _automatic(service, 2_000, limits=pb.Limits(max_per_customer=1))
    await _automatic(service, 9_000, targets=pb.Targets(storefront_ids=["de"]))
    await _automatic(service, 8_000, eligibility=pb.Eligibility(new_customers_only=True))
    await _automatic(
        service, 7_000, eligibility=pb.Eligibility(minimum_amounts=[Money(currency_code="USD", amount_minor=5_000)])
    )
    await active_promotion(service, percent_off(9_500))  # not automatic
    paused = await _automatic(service, 9_900)
    await service.stub.PausePromotion(
        pb.PausePromotionRequest(request_id=rid(), promotion_id=paused), metadata=service.metadata
    )
    await service.stub.CreatePromotion(
        pb.CreatePromotionRequest(request_id=rid(), promotion=percent_off(9_900, automatic=True)),
        metadata=service.metadata,
    )  # a draft

    paid = pb.CustomerFacts(has_paid_subscription=True)
    first = await _reserve(service, "checkout-1", customer="a", facts=paid)
    assert (first.promotion_id, first.discount.amount_minor, first.code) == (best, 300, "")
    assert await _reserve(service, "checkout-1", customer="a", facts=paid) == first  # a retry: the same redemption
    second = await _reserve(service, customer="b", facts=paid)  # the best one's only unit is taken
    assert (second.promotion_id, second.discount.amount_minor) == (next_best, 200)

    again = await failure(
        service.stub.ReserveRedemption(_request(customer="b", facts=paid), metadata=service.metadata)
    )  # eligible for none: the best one is taken and b used the next one
    assert isinstance(again, NotFound) and again.reason == "NO_AUTOMATIC_PROMOTION"
    assert (await _held(service, best), await _held(service, next_best)) == (1, 1)  # nothing more reserved


async def _validate(service: Service, **fields: Any) -> pb.Validation:
    request = pb.ValidatePromotionRequest(automatic=True, checkout=checkout(**fields))
    return (await service.stub.ValidatePromotion(request, metadata=service.metadata)).validation


async def test_validating_without_a_code_answers_what_the_checkout_would_reserve_and_reserves_nothing(
    service: Service,
) -> None:
    none = await failure(
        service.stub.ValidatePromotion(
            pb.ValidatePromotionRequest(automatic=True, checkout=checkout()), metadata=service.metadata
        )
    )
    assert isinstance(none, NotFound) and none.reason == "NO_AUTOMATIC_PROMOTION"
    await _automatic(service, 1_000)
    equal = await _automatic(service, 2_000)
    await _automatic(service, 2_000)  # as much off, created later
    await _automatic(service, 9_000, eligibility=pb.Eligibility(new_customers_only=True))
    await active_promotion(service, percent_off(9_500))  # not automatic

    paid = pb.CustomerFacts(has_paid_subscription=True)
    best = await _validate(service, customer="a", amount=2_000, facts=paid)
    assert (best.eligible, best.promotion_id, best.code) == (True, equal, "")
    assert (best.discount.amount_minor, best.final_amount.amount_minor) == (400, 1_600)
    assert (await _validate(service, customer="", amount=2_000)).discount.amount_minor == 1_800  # a new customer
    assert await _held(service, equal) == 0  # a question reserves nothing
    reserved = await _reserve(service, customer="a", amount=2_000, facts=paid)
    assert (reserved.promotion_id, reserved.discount.amount_minor) == (best.promotion_id, 400)

    for request, field in (
        (pb.ValidatePromotionRequest(checkout=checkout()), "promotion_id"),
        (pb.ValidatePromotionRequest(promotion_id=equal, automatic=True, checkout=checkout()), "promotion_id"),
        (
            pb.ValidatePromotionRequest(automatic=True, checkout=checkout(currency="US")),
            "checkout.amount.currency_code",
        ),
    ):
        refused = await failure(service.stub.ValidatePromotion(request, metadata=service.metadata))
        assert isinstance(refused, InvalidArgument) and refused.violations[0].field == field


async def test_a_limit_used_up_since_it_was_judged_is_undone_and_the_next_is_reserved(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    best = await _automatic(service, 5_000, limits=pb.Limits(budgets=[Money(currency_code="USD", amount_minor=500)]))
    next_best = await _automatic(service, 3_000)
    await _reserve(service, customer="other")  # spends the budget of the best one

    async def judged_before(self: PostgresPromotionRepository, tenant_id: str, ids: Sequence[str]) -> dict[str, Usage]:
        return {}  # the counts as read before the other checkout committed

    monkeypatch.setattr(PostgresPromotionRepository, "usage", judged_before)
    request = redemptions.ReserveRequest(rid(), Checkout(1_000, "USD", "cus"), automatic=True)
    with tenant_scope(TENANT):
        async with service.promotions.servicer.units.factory() as uow:
            reserved = await redemptions.reserve(uow, TENANT, request, timedelta(minutes=15))
            await uow.commit()
    monkeypatch.undo()
    assert reserved.promotion_id == next_best
    assert await _held(service, best) == 1  # the customer use and the count the refused take moved are undone


async def test_automatic_goes_through_create_update_and_the_list_filter(service: Service) -> None:
    created = await active_promotion(service, percent_off(automatic=True, display_name="auto"))
    await active_promotion(service, percent_off(display_name="coded"))
    listed = await service.stub.ListPromotions(
        pb.ListPromotionsRequest(filter="automatic = true"), metadata=service.metadata
    )
    assert [p.display_name for p in listed.promotions] == ["auto"]
    update = pb.UpdatePromotionRequest(
        request_id=rid(),
        promotion=pb.Promotion(id=created.id, version=created.version),
        update_mask=FieldMask(paths=["automatic"]),
    )
    assert not (await service.stub.UpdatePromotion(update, metadata=service.metadata)).promotion.automatic
    got = await service.stub.GetPromotion(pb.GetPromotionRequest(promotion_id=created.id), metadata=service.metadata)
    assert not got.promotion.automatic
    trial_days = pb.Promotion(
        display_name="Trial", discount=pb.Discount(kind=pb.DISCOUNT_KIND_EXTRA_TRIAL_DAYS, trial_days=7), automatic=True
    )
    refused = await failure(
        service.stub.CreatePromotion(
            pb.CreatePromotionRequest(request_id=rid(), promotion=trial_days), metadata=service.metadata
        )
    )
    assert isinstance(refused, InvalidArgument) and refused.violations[0].field == "promotion.automatic"
    both = pb.ReserveRedemptionRequest(request_id=rid(), code="SPRING", automatic=True, checkout=checkout())
    named = await failure(service.stub.ReserveRedemption(both, metadata=service.metadata))
    assert isinstance(named, InvalidArgument) and named.violations[0].field == "code"
