"""`ports.Credits` over payments' gRPC `GrantCredit`, in the tenant of the request context."""

from __future__ import annotations

import grpc

from azotte.common.v1.money_pb2 import Money
from azotte.payments.v1 import payments_pb2, payments_pb2_grpc
from azotte_platform.enums import Channel
from azotte_promotions.adapters.proto import channel_to_pb


class GrpcCredits:
    """Account credit granted by payments, once per request id."""

    def __init__(self, payments: grpc.aio.Channel):
        self._stub = payments_pb2_grpc.PaymentsServiceStub(payments)

    async def grant(
        self,
        request_id: str,
        customer_id: str,
        amount_minor: int,
        currency_code: str,
        reason: str,
        *,
        storefront_id: str,
        channel: str,
        plan_id: str,
    ) -> None:
        await self._stub.GrantCredit(
            payments_pb2.GrantCreditRequest(
                request_id=request_id,
                customer_id=customer_id,
                amount=Money(currency_code=currency_code, amount_minor=amount_minor),
                reason=reason,
                storefront_id=storefront_id,
                channel=channel_to_pb(Channel(channel)),
                plan_id=plan_id,
            )
        )
