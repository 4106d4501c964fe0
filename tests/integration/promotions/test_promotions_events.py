"""The events of promotions reach the AZOTTE_PROMOTIONS stream through the outbox, with what revenue
analytics needs on promotion.redeemed."""

from __future__ import annotations

import uuid

from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import events_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.events.envelope import stream_name
from tests.helpers import eventually
from tests.integration.promotions.conftest import Service
from tests.integration.promotions.promotions_support import amount_off, checkout, rid


async def test_a_redemption_to_its_limit_publishes_redeemed_exhausted_and_budget_exhausted(service: Service):
    tenant = f"ev{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    limits = pb.Limits(max_redemptions=1, budgets=[Money(currency_code="USD", amount_minor=300)])
    created = await service.stub.CreatePromotion(
        pb.CreatePromotionRequest(request_id=rid(), promotion=amount_off("USD", 300, limits=limits)), metadata=metadata
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
        pb.ConfirmRedemptionRequest(request_id=rid(), redemption_id=reserved.redemption.id, charge_id="ch-9"),
        metadata=metadata,
    )
    expected = [
        "promotion.created",
        "promotion.state_changed",
        "promotion.redeemed",
        "promotion.exhausted",
        "promotion.budget_exhausted",
    ]
    js = service.runtime.js

    async def published() -> list[tuple[str, str, bytes]]:
        info = await js.stream_info(stream_name("promotions"), subjects_filter=f"azotte.{tenant}.promotions.>")
        assert info.state.messages >= len(expected)
        consumer = await js.pull_subscribe(f"azotte.{tenant}.promotions.>", stream=stream_name("promotions"))
        try:
            messages = await consumer.fetch(len(expected), timeout=2)
        finally:
            await consumer.unsubscribe()
        found = [(m.headers["ce-type"], m.headers.get("ce-subject", ""), m.data) for m in messages if m.headers]
        assert [t for t, _, _ in found] == expected
        return found

    found = await eventually(published)
    _, about, data = found[2]
    redeemed = events_pb2.PromotionRedeemed.FromString(data)
    assert about == "ana"
    assert (redeemed.promotion_id, redeemed.customer_id, redeemed.charge_id) == (promotion_id, "ana", "ch-9")
    assert (redeemed.gross.amount_minor, redeemed.discount.amount_minor, redeemed.net.amount_minor) == (1_000, 300, 700)
    budget = events_pb2.PromotionBudgetExhausted.FromString(found[4][2])
    assert (budget.budget.amount_minor, budget.confirmed_discount.amount_minor) == (300, 300)
