"""Renewal discounts counted against a promotion's budget on real PostgreSQL and NATS: each renewal's discount
counts once per request id, the budget pays for what it can and no more, promotion.budget_exhausted is published
once, and a request that cannot be counted is refused naming its field."""

from __future__ import annotations

import uuid

import grpc
import pytest

from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import events_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.events.envelope import stream_name
from tests.helpers import eventually
from tests.integration.promotions.conftest import Service
from tests.integration.promotions.promotions_support import checkout, percent_off, rid

RENEWAL_DISCOUNT = 200  # 20 % of 1,000


async def redeemed(service: Service, metadata: tuple[tuple[str, str], ...], promotion: pb.Promotion) -> str:
    """A confirmed redemption of a new active `promotion` by a 1,000 USD checkout; its id."""
    created = await service.stub.CreatePromotion(
        pb.CreatePromotionRequest(request_id=rid(), promotion=promotion), metadata=metadata
    )
    promotion_id = created.promotion.id
    await service.stub.ActivatePromotion(
        pb.ActivatePromotionRequest(request_id=rid(), promotion_id=promotion_id), metadata=metadata
    )
    reserved = await service.stub.ReserveRedemption(
        pb.ReserveRedemptionRequest(request_id=rid(), promotion_id=promotion_id, checkout=checkout("ana", 1_000)),
        metadata=metadata,
    )
    await service.stub.ConfirmRedemption(
        pb.ConfirmRedemptionRequest(request_id=rid(), redemption_id=reserved.redemption.id, charge_id="ch-1"),
        metadata=metadata,
    )
    return reserved.redemption.id


def count(redemption_id: str, request_id: str, amount: int = RENEWAL_DISCOUNT) -> pb.CountRenewalDiscountRequest:
    return pb.CountRenewalDiscountRequest(
        request_id=request_id,
        redemption_id=redemption_id,
        discount=Money(currency_code="USD", amount_minor=amount),
    )


def repeating(periods: int, budget: int) -> pb.Promotion:
    promotion = percent_off(2_000, limits=pb.Limits(budgets=[Money(currency_code="USD", amount_minor=budget)]))
    promotion.discount.duration = pb.DISCOUNT_DURATION_REPEATING
    promotion.discount.duration_periods = periods
    return promotion


async def test_the_budget_pays_for_two_renewals_once_each_and_is_exhausted_once(service: Service) -> None:
    tenant = f"br{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    # The checkout's 200 and two renewals' 200 each: the third renewal finds nothing left.
    redemption_id = await redeemed(service, metadata, repeating(4, 600))

    first, second, third = rid(), rid(), rid()
    answers = [
        (await service.stub.CountRenewalDiscount(count(redemption_id, request_id), metadata=metadata)).granted
        for request_id in (first, first, second, second, third, third)
    ]
    assert answers == [True, True, True, True, False, False]

    js = service.runtime.js

    async def exhausted() -> list[events_pb2.PromotionBudgetExhausted]:
        subject = f"azotte.{tenant}.promotions.promotion.budget_exhausted"
        info = await js.stream_info(stream_name("promotions"), subjects_filter=subject)
        if not info.state.messages:
            return []
        consumer = await js.pull_subscribe(subject, stream=stream_name("promotions"))
        try:
            messages = await consumer.fetch(info.state.messages, timeout=2)
        finally:
            await consumer.unsubscribe()
        return [events_pb2.PromotionBudgetExhausted.FromString(m.data) for m in messages]

    events = await eventually(exhausted)
    assert len(events) == 1
    assert (events[0].budget.amount_minor, events[0].confirmed_discount.amount_minor) == (600, 600)


async def test_a_smaller_discount_still_fits_what_is_left(service: Service) -> None:
    tenant = f"br{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    redemption_id = await redeemed(service, metadata, repeating(6, 500))  # 200 at checkout, 300 left

    answers = [
        (await service.stub.CountRenewalDiscount(count(redemption_id, rid(), amount), metadata=metadata)).granted
        for amount in (200, 200, 100, 1)
    ]
    assert answers == [True, False, True, False]


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [(0, "USD", "discount.amount_minor"), (-5, "USD", "discount.amount_minor"), (100, "EUR", "discount.currency_code")],
)
async def test_a_discount_that_cannot_be_counted_names_its_field(
    service: Service, amount: int, currency: str, field: str
) -> None:
    tenant = f"br{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    redemption_id = await redeemed(service, metadata, repeating(3, 10_000))
    request = count(redemption_id, rid(), amount)
    request.discount.currency_code = currency
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await service.stub.CountRenewalDiscount(request, metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in str(refused.value.details())


async def test_a_once_only_redemption_has_no_renewal_discount_to_count(service: Service) -> None:
    tenant = f"br{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    redemption_id = await redeemed(service, metadata, percent_off(2_000))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await service.stub.CountRenewalDiscount(count(redemption_id, rid()), metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "NO_RENEWAL_DISCOUNT" in str(refused.value.trailing_metadata())
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await service.stub.CountRenewalDiscount(count("rdm_unknown", rid()), metadata=metadata)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
