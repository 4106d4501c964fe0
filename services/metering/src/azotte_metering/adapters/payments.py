"""The payments service over gRPC, as `billing_ports.Payments`: one charge per idempotency key."""

from __future__ import annotations

import grpc

from azotte.common.v1 import channel_pb2
from azotte.payments.v1 import payments_pb2, payments_pb2_grpc
from azotte_metering.billing_ports import ChargeAnswer
from azotte_platform.convert import money


class GrpcPayments:
    """Payments over gRPC (`connect(settings.payments_addr)`), in the tenant of the request context."""

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = payments_pb2_grpc.PaymentsServiceStub(channel)

    async def charge(
        self,
        *,
        idempotency_key: str,
        customer_id: str,
        storefront_id: str,
        currency_code: str,
        amount_minor: int,
        description: str,
        payment_method_id: str = "",
    ) -> ChargeAnswer:
        response = await self._stub.CreateCharge(
            payments_pb2.CreateChargeRequest(
                request_id=idempotency_key,
                idempotency_key=idempotency_key,
                customer_id=customer_id,
                storefront_id=storefront_id,
                channel=channel_pb2.CHANNEL_WEB,
                amount=money(amount_minor, currency_code),
                use_storefront_tax=True,
                payment_method_id=payment_method_id,
                description=description,
            )
        )
        charge = response.charge
        failure = charge.decline.reason if charge.HasField("decline") else ""
        return ChargeAnswer(
            charge.id,
            succeeded=charge.status == payments_pb2.CHARGE_STATUS_SUCCEEDED,
            failed=charge.status == payments_pb2.CHARGE_STATUS_FAILED,
            failure=failure,
        )
