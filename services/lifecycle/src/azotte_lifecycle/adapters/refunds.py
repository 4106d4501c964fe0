"""The refunds of an immediate cancel over payments gRPC: what the period's charges can pay back, and paying it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING

from azotte.payments.v1 import payments_pb2
from azotte_lifecycle.adapters.protobuf import money
from azotte_lifecycle.domain.refunds import PaidCharge, RefundLeg
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.context import TENANT_HEADER
from azotte_platform.errors import NotFound

if TYPE_CHECKING:
    from azotte.payments.v1.payments_pb2_grpc import PaymentsServiceAsyncStub

SUCCEEDED = payments_pb2.CHARGE_STATUS_SUCCEEDED
PAGE_SIZE = 100


async def paid_charges(
    stub: PaymentsServiceAsyncStub, sub: Subscription, also: Sequence[str], reason: str
) -> list[PaidCharge]:
    """The succeeded charges of the subscription's current period and `also` (unknown ids are skipped)."""
    found = []
    for charge_id in [*await _period_charge_ids(stub, sub), *also]:
        try:
            answer = await stub.GetCharge(payments_pb2.GetChargeRequest(charge_id=charge_id), metadata=_tenant(sub))
        except NotFound:
            continue
        paid = _paid_charge(answer, sub, reason)
        if paid is not None:
            found.append(paid)
    return found


async def refund(
    stub: PaymentsServiceAsyncStub, sub: Subscription, leg: RefundLeg, request_id: str, reason: str
) -> None:
    """RefundCharge for one leg, in the subscription's currency."""
    await stub.RefundCharge(
        payments_pb2.RefundChargeRequest(
            request_id=request_id,
            charge_id=leg.charge_id,
            amount=money(leg.amount_minor, sub.currency_code),
            to_credit=leg.to_credit,
            reason=reason,
        ),
        metadata=_tenant(sub),
    )


async def _period_charge_ids(stub: PaymentsServiceAsyncStub, sub: Subscription) -> list[str]:
    """Ids of the succeeded charges lifecycle made for the current period (their period key is its index)."""
    period, ids, token = str(sub.period_index), [], ""
    while True:
        page = await stub.ListCharges(
            payments_pb2.ListChargesRequest(
                customer_id=sub.customer_id, subscription_id=sub.id, page_size=PAGE_SIZE, page_token=token
            ),
            metadata=_tenant(sub),
        )
        ids += [c.id for c in page.charges if c.period_key == period and c.status == SUCCEEDED]
        # NOTE: charges come newest first and periods only move forward: past an older period, none is left.
        older = any(c.period_key.isdigit() and int(c.period_key) < sub.period_index for c in page.charges)
        token = page.next_page_token
        if older or not token:
            return ids


def _paid_charge(answer: payments_pb2.GetChargeResponse, sub: Subscription, reason: str) -> PaidCharge | None:
    """What a charge of the subscription's customer can pay back; refunds given for `reason` are the cancel's."""
    charge = answer.charge
    if (
        charge.status != SUCCEEDED
        or charge.customer_id != sub.customer_id
        or charge.gross.currency_code != sub.currency_code
    ):
        return None
    cancels, others = _refunded(answer.refunds, reason)
    remaining = charge.gross.amount_minor - others[False] - others[True]
    # NOTE: as in payments, only what a PSP captured goes back to the card; the credit-paid part as credit.
    captured = charge.gross.amount_minor - charge.credit_applied.amount_minor if charge.psp_reference else 0
    method = max(0, min(remaining, captured - others[False]))
    return PaidCharge(
        charge.id, charge.create_time.ToDatetime(tzinfo=UTC), method, remaining - method, cancels[False], cancels[True]
    )


def _refunded(refunds: Sequence[payments_pb2.Refund], reason: str) -> tuple[dict[bool, int], dict[bool, int]]:
    """Succeeded refunds by destination (True: as credit): those given for `reason`, and the others."""
    cancels, others = {False: 0, True: 0}, {False: 0, True: 0}
    for refund in refunds:
        if refund.status == payments_pb2.REFUND_STATUS_SUCCEEDED:
            to_credit = refund.destination == payments_pb2.REFUND_DESTINATION_CUSTOMER_CREDIT
            (cancels if refund.reason == reason else others)[to_credit] += refund.amount.amount_minor
    return cancels, others


def _tenant(sub: Subscription) -> tuple[tuple[str, str], ...]:
    return ((TENANT_HEADER, sub.tenant_id),)
