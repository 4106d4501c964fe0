"""The promotions service over gRPC, as `ports.PromotionBudgets`: renewal discounts counted against budgets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc

from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import promotions_pb2, promotions_pb2_grpc
from azotte_lifecycle.domain.dunning import RenewalCharge
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.request_ids import derive_request_id

log = logging.getLogger(__name__)


class GrpcPromotionBudgets:
    """Promotions over gRPC (`connect(settings.promotions_addr)`), in the tenant of the request context."""

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = promotions_pb2_grpc.PromotionsServiceStub(channel)

    async def count_renewal_discounts(
        self, renewals: Sequence[tuple[Subscription, RenewalCharge]]
    ) -> list[bool | None]:
        return list(await asyncio.gather(*(self._count(sub, charge) for sub, charge in renewals)))

    async def _count(self, sub: Subscription, charge: RenewalCharge) -> bool | None:
        assert sub.discount is not None, "only a discounted renewal is counted"
        redemption_id = sub.discount.redemption_id
        # NOTE: one request id per redemption and period: every attempt and retry of the period's charge counts once.
        request = promotions_pb2.CountRenewalDiscountRequest(
            request_id=derive_request_id("lifecycle", "renewal-discount", redemption_id, str(charge.period_index)),
            redemption_id=redemption_id,
            discount=Money(currency_code=charge.currency_code, amount_minor=charge.discount_minor),
        )
        try:
            return bool((await self._stub.CountRenewalDiscount(request)).granted)
        except Exception:
            log.exception("renewal discount of subscription %s not counted; its renewal waits", sub.id)
            return None
