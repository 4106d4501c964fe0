"""The payments service over gRPC, as `ports.Payments`: renewal charges in batches, plan-change charges and
credits under their keys, whether a method is on file, and the refunds of an immediate cancel."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc

from azotte.payments.v1 import invoices_pb2, invoices_pb2_grpc, payments_pb2, payments_pb2_grpc
from azotte_lifecycle.adapters.proto import channel_to_pb
from azotte_lifecycle.domain.contracts import InvoiceLine, InvoiceLineKind
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.refunds import PaidCharge, RefundLeg
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.ports import PeriodInvoice, RenewalChargeRequest, UsageBill
from azotte_platform.convert import from_timestamp, money
from azotte_platform.errors import AzotteError, NotFound

log = logging.getLogger(__name__)

Status = payments_pb2.ChargeStatus
Outcome = payments_pb2.DeclineOutcome
SUCCEEDED = payments_pb2.CHARGE_STATUS_SUCCEEDED
MAX_CHARGES_PER_CALL = 500
CHARGES_PAGE_SIZE = 100
MAX_INVOICES_PER_CALL = 200
_LINE_KINDS = {
    InvoiceLineKind.RECURRING: invoices_pb2.INVOICE_LINE_KIND_RECURRING,
    InvoiceLineKind.USAGE: invoices_pb2.INVOICE_LINE_KIND_USAGE,
    InvoiceLineKind.TRUE_UP: invoices_pb2.INVOICE_LINE_KIND_TRUE_UP,
    InvoiceLineKind.CREDIT: invoices_pb2.INVOICE_LINE_KIND_CREDIT,
}


def normalize(charge: payments_pb2.Charge) -> ChargeOutcome | None:
    """Map a payments charge to the lifecycle's outcome."""
    if charge.status == Status.CHARGE_STATUS_SUCCEEDED:
        return ChargeOutcome.SUCCEEDED
    if charge.status != Status.CHARGE_STATUS_FAILED:
        # NOTE: pending or unknown (money may have moved): the same key is asked again later.
        return None
    if charge.outcome == Outcome.DECLINE_OUTCOME_HARD_DECLINE:
        return ChargeOutcome.HARD_DECLINE
    if charge.decline.reason == "AUTHENTICATION_REQUIRED":
        # NOTE: the issuer wants the customer (SCA): dunning, with the cause saying why.
        return ChargeOutcome.AUTHENTICATION_REQUIRED
    # NOTE: soft declines and retryable failures (every PSP errored, nothing captured) follow dunning.
    return ChargeOutcome.SOFT_DECLINE


class GrpcPayments:
    """Payments over gRPC (`connect(settings.payments_addr)`), in the tenant of the request context."""

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = payments_pb2_grpc.PaymentsServiceStub(channel)
        self._invoices = invoices_pb2_grpc.InvoicesServiceStub(channel)

    async def issue_invoices(self, invoices: Sequence[PeriodInvoice]) -> list[bool]:
        """One CreateInvoices call (issued together) per `MAX_INVOICES_PER_CALL` invoices."""
        issued: list[bool] = []
        for start in range(0, len(invoices), MAX_INVOICES_PER_CALL):
            chunk = invoices[start : start + MAX_INVOICES_PER_CALL]
            request = invoices_pb2.CreateInvoicesRequest(invoices=[_invoice_message(invoice) for invoice in chunk])
            try:
                results = (await self._invoices.CreateInvoices(request)).results
            except (grpc.aio.AioRpcError, AzotteError) as error:
                log.warning("%d invoices not issued: %s", len(chunk), error)
                issued += [False] * len(chunk)
                continue
            for invoice, result in zip(chunk, results, strict=True):
                if result.HasField("error"):
                    log.warning("invoice %s not issued: %s", invoice.idempotency_key, result.error.message)
                issued.append(result.HasField("invoice"))
        return issued

    async def has_overdue_invoices(self, subscription_id: str) -> bool:
        """ListInvoices of the subscription, overdue ones, one is enough."""
        request = invoices_pb2.ListInvoicesRequest(
            subscription_id=subscription_id, statuses=[invoices_pb2.INVOICE_STATUS_OVERDUE], page_size=1
        )
        return bool((await self._invoices.ListInvoices(request)).invoices)

    async def charge_renewals(self, requests: Sequence[RenewalChargeRequest]) -> list[ChargeOutcome | None]:
        """One CreateCharges call per 500 renewals."""
        outcomes: list[ChargeOutcome | None] = [None] * len(requests)
        for start in range(0, len(requests), MAX_CHARGES_PER_CALL):
            messages = [_renewal_message(request) for request in requests[start : start + MAX_CHARGES_PER_CALL]]
            try:
                response = await self._stub.CreateCharges(payments_pb2.CreateChargesRequest(charges=messages))
            except (grpc.aio.AioRpcError, AzotteError) as error:
                log.warning("%d renewal charges failed: %s", len(messages), error)
                continue
            for index, (message, result) in enumerate(zip(messages, response.results, strict=True), start):
                if result.HasField("error"):
                    log.warning("renewal charge %s refused: %s", message.idempotency_key, result.error.message)
                else:
                    outcomes[index] = normalize(result.charge)
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
        response = await self._stub.CreateCharge(message)
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
            )
        )

    async def has_payment_method(self, customer_id: str) -> bool:
        response = await self._stub.ListPaymentMethods(
            payments_pb2.ListPaymentMethodsRequest(customer_id=customer_id, page_size=1)
        )
        return len(response.payment_methods) > 0

    async def paid_charges(self, subscription: Subscription, also: Sequence[str], reason: str) -> list[PaidCharge]:
        """Unknown ids in `also` are skipped."""
        found = []
        for charge_id in [*await self._period_charge_ids(subscription), *also]:
            try:
                answer = await self._stub.GetCharge(payments_pb2.GetChargeRequest(charge_id=charge_id))
            except NotFound:
                continue
            paid = _paid_charge(answer, subscription, reason)
            if paid is not None:
                found.append(paid)
        return found

    async def refund(self, subscription: Subscription, leg: RefundLeg, request_id: str, reason: str) -> None:
        await self._stub.RefundCharge(
            payments_pb2.RefundChargeRequest(
                request_id=request_id,
                charge_id=leg.charge_id,
                amount=money(leg.amount_minor, subscription.currency_code),
                to_credit=leg.to_credit,
                reason=reason,
            )
        )

    async def _period_charge_ids(self, sub: Subscription) -> list[str]:
        """Ids of the succeeded charges lifecycle made for the current period (their period key is its index)."""
        period, ids, token = str(sub.period_index), [], ""
        while True:
            page = await self._stub.ListCharges(
                payments_pb2.ListChargesRequest(
                    customer_id=sub.customer_id, subscription_id=sub.id, page_size=CHARGES_PAGE_SIZE, page_token=token
                )
            )
            ids += [c.id for c in page.charges if c.period_key == period and c.status == SUCCEEDED]
            # NOTE: charges come newest first and periods only move forward: past an older period, none is left.
            older = any(c.period_key.isdigit() and int(c.period_key) < sub.period_index for c in page.charges)
            token = page.next_page_token
            if older or not token:
                return ids


def _renewal_message(request: RenewalChargeRequest) -> payments_pb2.CreateChargeRequest:
    charge, sub, usage = request.charge, request.subscription, request.usage
    message = _charge_message(
        sub,
        sub.plan_id,
        charge.amount_minor + (usage.due_minor if usage is not None else 0),
        charge.idempotency_key,
        description=f"Renewal of {charge.subscription_id}, period {charge.period_index}",
        period_key=str(charge.period_index),
    )
    if charge.discount_minor:
        # NOTE: the ledger's discount line: payments records what the promotion took off the price.
        message.discount.CopyFrom(money(charge.discount_minor, sub.currency_code))
    if usage is not None:
        message.lines.extend(_renewal_lines(request, usage))
    return message


def _renewal_lines(request: RenewalChargeRequest, usage: UsageBill) -> list[payments_pb2.ChargeLine]:
    """One charge with its lines: the recurring price of the period paid (and its discount), then the usage of the
    period that ended, charged in arrears."""
    charge, currency = request.charge, request.subscription.currency_code
    lines = [
        payments_pb2.ChargeLine(
            kind=payments_pb2.CHARGE_LINE_KIND_RECURRING,
            description=f"{request.subscription.plan_id}, period {charge.period_index}",
            amount=money(charge.amount_minor + charge.discount_minor, currency),
        )
    ]
    if charge.discount_minor:
        lines.append(
            payments_pb2.ChargeLine(
                kind=payments_pb2.CHARGE_LINE_KIND_DISCOUNT,
                description="Discount",
                amount=money(-charge.discount_minor, currency),
            )
        )
    lines += [
        payments_pb2.ChargeLine(
            kind=_USAGE_LINE_KINDS[line.kind],
            description=line.description,
            meter_key=line.meter_key,
            dimensions=dict(line.dimensions),
            quantity=line.quantity,
            amount=money(line.amount_minor, currency),
        )
        for line in usage.lines
    ]
    return lines


_USAGE_LINE_KINDS = {
    "usage": payments_pb2.CHARGE_LINE_KIND_USAGE,
    "usage_adjustment": payments_pb2.CHARGE_LINE_KIND_USAGE_ADJUSTMENT,
    "usage_credit": payments_pb2.CHARGE_LINE_KIND_USAGE_CREDIT,
}


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
        charge.id, from_timestamp(charge.create_time), method, remaining - method, cancels[False], cancels[True]
    )


def _refunded(refunds: Sequence[payments_pb2.Refund], reason: str) -> tuple[dict[bool, int], dict[bool, int]]:
    """Succeeded refunds by destination (True: as credit): those given for `reason`, and the others."""
    cancels, others = {False: 0, True: 0}, {False: 0, True: 0}
    for refund in refunds:
        if refund.status == payments_pb2.REFUND_STATUS_SUCCEEDED:
            to_credit = refund.destination == payments_pb2.REFUND_DESTINATION_CUSTOMER_CREDIT
            (cancels if refund.reason == reason else others)[to_credit] += refund.amount.amount_minor
    return cancels, others


def _invoice_message(invoice: PeriodInvoice) -> invoices_pb2.CreateInvoiceRequest:
    sub, terms = invoice.subscription, invoice.contract.terms
    contact = terms.billing_contact
    return invoices_pb2.CreateInvoiceRequest(
        request_id=invoice.idempotency_key,
        idempotency_key=invoice.idempotency_key,
        customer_id=sub.customer_id,
        storefront_id=sub.storefront_id,
        currency_code=sub.currency_code,
        lines=[_invoice_line(line, sub) for line in invoice.lines],
        bill_to=invoices_pb2.BillTo(
            name=contact.name,
            email=contact.email,
            address=contact.address,
            country_code=contact.country_code,
            tax_id=contact.tax_id,
        ),
        due_in_days=terms.payment_terms_days,
        subscription_id=sub.id,
        period_key=invoice.period_key,
        memo=f"Contract {invoice.contract.id}, version {invoice.contract.version}",
        issue=True,
        reminder_days=invoice.reminder_days,
    )


def _invoice_line(line: InvoiceLine, sub: Subscription) -> invoices_pb2.InvoiceLine:
    return invoices_pb2.InvoiceLine(
        kind=_LINE_KINDS[line.kind],
        description=line.description,
        amount=money(line.amount_minor, sub.currency_code),
        quantity=line.quantity,
        unit_price_minor=line.unit_price_minor,
        plan_id=sub.plan_id if line.kind is InvoiceLineKind.RECURRING else "",
        meter_id=line.meter_key,
        dimension=line.dimension,
    )
