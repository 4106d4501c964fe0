"""What lifecycle asks payments: charge renewals (in batches) or a plan change under their idempotency
keys, credit a customer, whether a method is on file, and the refunds of an immediate cancel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc

from azotte.payments.v1 import payments_pb2, payments_pb2_grpc
from azotte_lifecycle.adapters import refunds
from azotte_lifecycle.adapters.protobuf import channel_to_pb, money
from azotte_lifecycle.domain.dunning import ChargeOutcome, RenewalCharge
from azotte_lifecycle.domain.refunds import PaidCharge, RefundLeg
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.context import TENANT_HEADER
from azotte_platform.errors import AzotteError

log = logging.getLogger(__name__)

Status = payments_pb2.ChargeStatus
Outcome = payments_pb2.DeclineOutcome
MAX_CHARGES_PER_CALL = 500


@dataclass(frozen=True, slots=True)
class RenewalChargeRequest:
    """A renewal charge and the subscription it pays for (customer, storefront, channel, plan)."""

    subscription: Subscription
    charge: RenewalCharge


class Payments(Protocol):
    """The payments service as lifecycle uses it."""

    async def charge_renewals(self, requests: Sequence[RenewalChargeRequest]) -> list[ChargeOutcome | None]:
        """Charge every renewal once per idempotency key, together; None where the outcome is not known
        yet (PSP timeout, payments unreachable, charge refused): the same key is asked again later."""
        ...

    async def charge_plan_change(
        self, subscription: Subscription, new_plan_id: str, amount_minor: int, idempotency_key: str
    ) -> ChargeOutcome | None:
        """Collect what an immediate plan change costs, once per key; None while the outcome is not known."""
        ...

    async def credit(self, subscription: Subscription, amount_minor: int, request_id: str, reason: str) -> None:
        """Add to the customer's credit balance (spent before their next charges), once per request id."""
        ...

    async def has_payment_method(self, tenant_id: str, customer_id: str) -> bool: ...

    async def paid_charges(self, subscription: Subscription, also: Sequence[str], reason: str) -> list[PaidCharge]:
        """The succeeded charges of the current period and `also`; refunds given for `reason` are the cancel's."""
        ...

    async def refund(self, subscription: Subscription, leg: RefundLeg, request_id: str, reason: str) -> None:
        """Pay `leg` back from its charge, once per request id."""
        ...


def normalize(charge: payments_pb2.Charge) -> ChargeOutcome | None:
    """Map a payments charge to the lifecycle's outcome."""
    if charge.status == Status.CHARGE_STATUS_SUCCEEDED:
        return ChargeOutcome.SUCCEEDED
    if charge.status != Status.CHARGE_STATUS_FAILED:
        # NOTE: pending or unknown (money may have moved): the same key is asked again later.
        return None
    if charge.outcome == Outcome.DECLINE_OUTCOME_HARD_DECLINE:
        return ChargeOutcome.HARD_DECLINE
    # NOTE: soft declines and retryable failures (every PSP errored, nothing captured) follow dunning.
    return ChargeOutcome.SOFT_DECLINE


class GrpcPayments:
    """Payments over gRPC (`connect(settings.payments_addr)`)."""

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = payments_pb2_grpc.PaymentsServiceStub(channel)

    async def charge_renewals(self, requests: Sequence[RenewalChargeRequest]) -> list[ChargeOutcome | None]:
        """One CreateCharges call per tenant and 500 renewals, the tenants' calls concurrent."""
        by_tenant: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            by_tenant.setdefault(request.subscription.tenant_id, []).append(index)
        outcomes: list[ChargeOutcome | None] = [None] * len(requests)

        async def charge_tenant(tenant_id: str, indexes: list[int]) -> None:
            for start in range(0, len(indexes), MAX_CHARGES_PER_CALL):
                chunk = indexes[start : start + MAX_CHARGES_PER_CALL]
                messages = [_renewal_message(requests[index]) for index in chunk]
                try:
                    response = await self._stub.CreateCharges(
                        payments_pb2.CreateChargesRequest(charges=messages), metadata=((TENANT_HEADER, tenant_id),)
                    )
                except (grpc.aio.AioRpcError, AzotteError) as error:
                    log.warning("renewal charges of tenant %s failed: %s", tenant_id, error)
                    continue
                for index, message, result in zip(chunk, messages, response.results, strict=True):
                    if result.HasField("error"):
                        log.warning("renewal charge %s refused: %s", message.idempotency_key, result.error.message)
                    else:
                        outcomes[index] = normalize(result.charge)

        await asyncio.gather(*(charge_tenant(tenant_id, indexes) for tenant_id, indexes in by_tenant.items()))
        return outcomes

    async def charge_plan_change(
        self, subscription: Subscription, new_plan_id: str, amount_minor: int, idempotency_key: str
    ) -> ChargeOutcome | None:
        message = _charge_message(
            subscription,
            new_plan_id,
            amount_minor,
            idempotency_key,
            description=f"Change of {subscription.id} to {new_plan_id}, prorated",
            period_key=str(subscription.period_index),
        )
        response = await self._stub.CreateCharge(message, metadata=((TENANT_HEADER, subscription.tenant_id),))
        return normalize(response.charge)

    async def credit(self, subscription: Subscription, amount_minor: int, request_id: str, reason: str) -> None:
        await self._stub.GrantCredit(
            payments_pb2.GrantCreditRequest(
                request_id=request_id,
                customer_id=subscription.customer_id,
                amount=money(amount_minor, subscription.currency_code),
                reason=reason,
                storefront_id=subscription.storefront_id,
                channel=channel_to_pb(subscription.channel),
                plan_id=subscription.plan_id,
            ),
            metadata=((TENANT_HEADER, subscription.tenant_id),),
        )

    async def has_payment_method(self, tenant_id: str, customer_id: str) -> bool:
        response = await self._stub.ListPaymentMethods(
            payments_pb2.ListPaymentMethodsRequest(customer_id=customer_id, page_size=1),
            metadata=((TENANT_HEADER, tenant_id),),
        )
        return len(response.payment_methods) > 0

    async def paid_charges(self, subscription: Subscription, also: Sequence[str], reason: str) -> list[PaidCharge]:
        return await refunds.paid_charges(self._stub, subscription, also, reason)

    async def refund(self, subscription: Subscription, leg: RefundLeg, request_id: str, reason: str) -> None:
        await refunds.refund(self._stub, subscription, leg, request_id, reason)


def _renewal_message(request: RenewalChargeRequest) -> payments_pb2.CreateChargeRequest:
    charge, sub = request.charge, request.subscription
    return _charge_message(
        sub,
        sub.plan_id,
        charge.amount_minor,
        charge.idempotency_key,
        description=f"Renewal of {charge.subscription_id}, period {charge.period_index}",
        period_key=str(charge.period_index),
    )


def _charge_message(
    sub: Subscription, plan_id: str, amount_minor: int, key: str, *, description: str, period_key: str
) -> payments_pb2.CreateChargeRequest:
    return payments_pb2.CreateChargeRequest(
        request_id=key,
        idempotency_key=key,
        customer_id=sub.customer_id,
        storefront_id=sub.storefront_id,
        channel=channel_to_pb(sub.channel),
        plan_id=plan_id,
        amount=money(amount_minor, sub.currency_code),
        use_storefront_tax=True,
        description=description,
        subscription_id=sub.id,
        period_key=period_key,
    )
