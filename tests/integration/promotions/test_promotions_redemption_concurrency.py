"""Limits and budgets hold exactly under concurrency and crashes, on real PostgreSQL: 200 checkouts race for
a code limited to 50; a budget is never passed by a cent; a reservation whose holder never came back is
released after its TTL and taken by another; replays of a request id change nothing."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import grpc
import pytest

from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.errors import Aborted, FailedPrecondition, ResourceExhausted
from tests.integration.promotions.conftest import RESERVATION_TTL_S, Service
from tests.integration.promotions.promotions_support import (
    active_promotion,
    amount_off,
    checkout,
    failure,
    percent_off,
    rid,
    shared_code,
)

CHECKOUTS = 200
LIMIT = 50


async def _checkout(
    service: Service, customer: str, amount: int = 1_000, *, code: str = "", promotion_id: str = ""
) -> str:
    """Reserve then confirm, as a checkout whose charge succeeded does; the outcome's name."""
    try:
        reserved = await service.stub.ReserveRedemption(
            pb.ReserveRedemptionRequest(
                request_id=rid(), checkout=checkout(customer, amount), code=code, promotion_id=promotion_id
            ),
            metadata=service.metadata,
        )
    except grpc.aio.AioRpcError as error:
        return str(error.code().name)
    confirmed = await service.stub.ConfirmRedemption(
        pb.ConfirmRedemptionRequest(request_id=rid(), redemption_id=reserved.redemption.id, charge_id=f"ch-{customer}"),
        metadata=service.metadata,
    )
    assert confirmed.redemption.state == pb.REDEMPTION_STATE_CONFIRMED
    return "CONFIRMED"


@pytest.mark.parametrize("limited", ["code", "promotion"])
async def test_200_concurrent_checkouts_confirm_exactly_50_of_a_code_limited_to_50(service: Service, limited: str):
    limits = pb.Limits(max_redemptions=LIMIT) if limited == "promotion" else pb.Limits()
    promotion = await active_promotion(service, percent_off(limits=limits))
    code_limits = {"max_redemptions": LIMIT} if limited == "code" else {}
    await shared_code(service, promotion.id, "PREMIERE50", **code_limits)

    outcomes = await asyncio.gather(*(_checkout(service, f"cus-{n}", code="premiere50") for n in range(CHECKOUTS)))

    assert outcomes.count("CONFIRMED") == LIMIT
    assert outcomes.count("RESOURCE_EXHAUSTED") == CHECKOUTS - LIMIT
    code = (
        await service.stub.GetPromotionCode(pb.GetPromotionCodeRequest(code="PREMIERE50"), metadata=service.metadata)
    ).code
    got = await service.stub.GetPromotion(pb.GetPromotionRequest(promotion_id=promotion.id), metadata=service.metadata)
    usage = got.promotion.usage
    assert (code.confirmed_count, code.reserved_count) == (LIMIT, 0)
    assert (usage.confirmed_count, usage.reserved_count) == (LIMIT, 0)
    assert [m.amount_minor for m in usage.confirmed_discount] == [LIMIT * 500]
    # the 51st asks again, one by one: still refused, with the limit named
    error = await failure(
        service.stub.ReserveRedemption(
            pb.ReserveRedemptionRequest(request_id=rid(), code="PREMIERE50", checkout=checkout("late")),
            metadata=service.metadata,
        )
    )
    assert isinstance(error, ResourceExhausted)
    assert error.reason == ("PROMOTION_CODE_EXHAUSTED" if limited == "code" else "PROMOTION_EXHAUSTED")


async def test_a_budget_is_never_exceeded_by_a_cent_under_concurrency(service: Service):
    budget = 10_000
    promotion = await active_promotion(
        service, percent_off(3_300, limits=pb.Limits(budgets=[Money(currency_code="USD", amount_minor=budget)]))
    )
    rng = random.Random(7)
    amounts = [rng.randrange(100, 3_000) for _ in range(CHECKOUTS)]

    outcomes = await asyncio.gather(
        *(_checkout(service, f"cus-{n}", amount, promotion_id=promotion.id) for n, amount in enumerate(amounts))
    )

    confirmed = [amount for amount, outcome in zip(amounts, outcomes, strict=True) if outcome == "CONFIRMED"]
    discounts = [(amount * 3_300 + 5_000) // 10_000 for amount in confirmed]
    assert set(outcomes) == {"CONFIRMED", "RESOURCE_EXHAUSTED"}
    assert sum(discounts) <= budget
    got = await service.stub.GetPromotion(pb.GetPromotionRequest(promotion_id=promotion.id), metadata=service.metadata)
    usage = got.promotion.usage
    assert usage.confirmed_count == len(confirmed)
    assert [(m.currency_code, m.amount_minor) for m in usage.confirmed_discount] == [("USD", sum(discounts))]
    assert [m.amount_minor for m in usage.reserved_discount] == [0]
    # every refusal was for want of budget: none of the refused discounts fits in what is left
    refused = [amount for amount, outcome in zip(amounts, outcomes, strict=True) if outcome != "CONFIRMED"]
    assert budget - sum(discounts) < max((a * 3_300 + 5_000) // 10_000 for a in refused)


async def test_a_reservation_whose_holder_crashed_is_released_after_its_ttl_and_taken_by_another(service: Service):
    promotion = await active_promotion(service, amount_off("USD", 300))
    await shared_code(service, promotion.id, "ONLYONE", max_redemptions=1)
    held = await service.stub.ReserveRedemption(
        pb.ReserveRedemptionRequest(request_id=rid(), code="ONLYONE", checkout=checkout("crashed")),
        metadata=service.metadata,
    )  # NOTE: its holder never confirms nor releases: it crashed after the reservation
    refused = await failure(
        service.stub.ReserveRedemption(
            pb.ReserveRedemptionRequest(request_id=rid(), code="ONLYONE", checkout=checkout("second")),
            metadata=service.metadata,
        )
    )
    assert refused.reason == "PROMOTION_CODE_EXHAUSTED"
    assert await service.promotions.sweeper.sweep() == 0  # not yet timed out

    service.clock.advance(timedelta(seconds=RESERVATION_TTL_S + 1))
    assert await service.promotions.sweeper.sweep() == 1

    released = await service.stub.GetRedemption(
        pb.GetRedemptionRequest(redemption_id=held.redemption.id), metadata=service.metadata
    )
    assert (released.redemption.state, released.redemption.release_reason) == (pb.REDEMPTION_STATE_RELEASED, "expired")
    assert await _checkout(service, "second", code="ONLYONE") == "CONFIRMED"
    # the crashed holder comes back late: its unit is taken, so it is refused rather than counted twice
    late = await failure(
        service.stub.ConfirmRedemption(
            pb.ConfirmRedemptionRequest(request_id=rid(), redemption_id=held.redemption.id, charge_id="late"),
            metadata=service.metadata,
        )
    )
    assert isinstance(late, FailedPrecondition) and late.reason == "REDEMPTION_EXPIRED"
    code = (
        await service.stub.GetPromotionCode(pb.GetPromotionCodeRequest(code="onlyone"), metadata=service.metadata)
    ).code
    assert (code.confirmed_count, code.reserved_count) == (1, 0)


async def test_a_late_confirmation_takes_its_unit_again_when_there_is_room(service: Service):
    promotion = await active_promotion(service, amount_off("USD", 300, limits=pb.Limits(max_redemptions=5)))
    held = await service.stub.ReserveRedemption(
        pb.ReserveRedemptionRequest(request_id=rid(), promotion_id=promotion.id, checkout=checkout("slow")),
        metadata=service.metadata,
    )
    service.clock.advance(timedelta(seconds=RESERVATION_TTL_S + 1))
    assert await service.promotions.sweeper.sweep() == 1
    confirmed = await service.stub.ConfirmRedemption(
        pb.ConfirmRedemptionRequest(request_id=rid(), redemption_id=held.redemption.id, charge_id="ch"),
        metadata=service.metadata,
    )
    assert confirmed.redemption.state == pb.REDEMPTION_STATE_CONFIRMED
    got = await service.stub.GetPromotion(pb.GetPromotionRequest(promotion_id=promotion.id), metadata=service.metadata)
    assert (got.promotion.usage.confirmed_count, got.promotion.usage.reserved_count) == (1, 0)


async def test_replays_of_a_request_id_count_once(service: Service):
    promotion = await active_promotion(service, amount_off("USD", 300, limits=pb.Limits(max_redemptions=10)))
    request = pb.ReserveRedemptionRequest(request_id="checkout-1", promotion_id=promotion.id, checkout=checkout("ana"))

    answers = await asyncio.gather(
        *(service.stub.ReserveRedemption(request, metadata=service.metadata) for _ in range(20))
    )

    assert len({answer.redemption.id for answer in answers}) == 1
    redemption_id = answers[0].redemption.id
    got = await service.stub.GetPromotion(pb.GetPromotionRequest(promotion_id=promotion.id), metadata=service.metadata)
    assert got.promotion.usage.reserved_count == 1
    other = pb.ReserveRedemptionRequest(request_id="checkout-1", promotion_id=promotion.id, checkout=checkout("bob"))
    reused = await failure(service.stub.ReserveRedemption(other, metadata=service.metadata))
    assert isinstance(reused, Aborted) and reused.reason == "REQUEST_ID_REUSED"

    confirm = pb.ConfirmRedemptionRequest(request_id="confirm-1", redemption_id=redemption_id, charge_id="ch-1")
    first = await service.stub.ConfirmRedemption(confirm, metadata=service.metadata)
    again = await service.stub.ConfirmRedemption(confirm, metadata=service.metadata)
    other_id = await service.stub.ConfirmRedemption(
        pb.ConfirmRedemptionRequest(request_id="confirm-2", redemption_id=redemption_id, charge_id="ch-1"),
        metadata=service.metadata,
    )
    assert first == again and other_id.redemption.state == pb.REDEMPTION_STATE_CONFIRMED
    got = await service.stub.GetPromotion(pb.GetPromotionRequest(promotion_id=promotion.id), metadata=service.metadata)
    assert (got.promotion.usage.confirmed_count, got.promotion.usage.reserved_count) == (1, 0)
    refused = await failure(
        service.stub.ReleaseRedemption(
            pb.ReleaseRedemptionRequest(request_id=rid(), redemption_id=redemption_id), metadata=service.metadata
        )
    )
    assert refused.reason == "REDEMPTION_CONFIRMED"


async def test_a_released_reservation_gives_its_unit_and_budget_back(service: Service):
    promotion = await active_promotion(
        service,
        amount_off(
            "USD",
            300,
            limits=pb.Limits(max_redemptions=1, budgets=[Money(currency_code="USD", amount_minor=300)]),
        ),
    )
    held = await service.stub.ReserveRedemption(
        pb.ReserveRedemptionRequest(request_id=rid(), promotion_id=promotion.id, checkout=checkout("a")),
        metadata=service.metadata,
    )
    release = pb.ReleaseRedemptionRequest(request_id=rid(), redemption_id=held.redemption.id)
    for _ in range(2):  # a repeat changes nothing
        answer = await service.stub.ReleaseRedemption(release, metadata=service.metadata)
        assert answer.redemption.release_reason == "charge_failed"
    assert await _checkout(service, "b", promotion_id=promotion.id) == "CONFIRMED"
    got = await service.stub.GetPromotion(pb.GetPromotionRequest(promotion_id=promotion.id), metadata=service.metadata)
    usage = got.promotion.usage
    assert (usage.confirmed_count, usage.reserved_count) == (1, 0)
    assert [m.amount_minor for m in usage.confirmed_discount] == [300]
