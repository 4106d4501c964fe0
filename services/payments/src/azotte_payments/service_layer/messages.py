"""Domain objects as payments protobuf messages (API resources and event payloads)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from azotte.common.v1 import channel_pb2, money_pb2
from azotte.payments.v1 import events_pb2, payments_pb2
from azotte_payments.domain.charge import Attempt, Charge
from azotte_payments.domain.credit import CreditBalance
from azotte_payments.domain.declines import Decline, Outcome
from azotte_payments.domain.ledger import JournalEntry, revenue_recorded
from azotte_payments.domain.payment_method import PaymentMethod
from azotte_payments.domain.refund import Refund
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.grpc.status import status_code

_OUTCOMES = {
    Outcome.APPROVED: payments_pb2.DECLINE_OUTCOME_APPROVED,
    Outcome.SOFT_DECLINE: payments_pb2.DECLINE_OUTCOME_SOFT_DECLINE,
    Outcome.HARD_DECLINE: payments_pb2.DECLINE_OUTCOME_HARD_DECLINE,
    Outcome.RETRYABLE: payments_pb2.DECLINE_OUTCOME_RETRYABLE,
}


def money(currency: str, amount_minor: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, amount_minor=amount_minor)


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def channel_value(name: str) -> channel_pb2.Channel.ValueType:
    """The Channel enum value stored under its name ('' is unspecified)."""
    return channel_pb2.Channel.Value(name) if name else channel_pb2.CHANNEL_UNSPECIFIED


def outcome_value(outcome: Outcome | None) -> payments_pb2.DeclineOutcome.ValueType:
    return _OUTCOMES[outcome] if outcome else payments_pb2.DECLINE_OUTCOME_UNSPECIFIED


def decline_message(decline: Decline | None) -> payments_pb2.Decline | None:
    if decline is None:
        return None
    return payments_pb2.Decline(
        outcome=outcome_value(decline.outcome), reason=decline.reason.value, raw_code=decline.raw_code
    )


def attempt_message(attempt: Attempt) -> payments_pb2.ChargeAttempt:
    return payments_pb2.ChargeAttempt(
        number=attempt.number,
        psp=attempt.psp,
        outcome=outcome_value(attempt.outcome),
        decline=decline_message(attempt.decline),
        psp_reference=attempt.psp_reference or "",
        latency_ms=attempt.latency_ms,
        start_time=timestamp(attempt.started_at),
    )


def charge_message(charge: Charge) -> payments_pb2.Charge:
    request, currency = charge.request, charge.currency
    return payments_pb2.Charge(
        id=charge.charge_id,
        customer_id=request.customer_id,
        storefront_id=request.storefront_id,
        channel=channel_value(request.channel),
        plan_id=request.plan_id,
        status=payments_pb2.ChargeStatus.Value(f"CHARGE_STATUS_{charge.status.name}"),
        gross=money(currency, charge.amounts.gross_minor),
        tax=money(currency, charge.amounts.tax_minor),
        net=money(currency, charge.amounts.net_minor),
        discount=money(currency, request.discount_minor),
        credit_applied=money(currency, charge.credit_applied_minor),
        refunded=money(currency, charge.refunded_minor),
        payment_method_id=request.payment_method_id,
        psp=charge.psp or "",
        psp_reference=charge.psp_reference or "",
        decline=decline_message(charge.decline),
        attempts=[attempt_message(attempt) for attempt in charge.attempts],
        idempotency_key=charge.idempotency_key,
        description=request.description,
        subscription_id=request.subscription_id,
        period_key=request.period_key,
        create_time=timestamp(charge.created_at),
        outcome=outcome_value(charge.outcome),
    )


def charge_result_message(answer: Charge | AzotteError) -> payments_pb2.CreateChargeResult:
    """One CreateCharges result: the charge, or the error a single CreateCharge would have raised."""
    if isinstance(answer, Charge):
        return payments_pb2.CreateChargeResult(charge=charge_message(answer))
    violations = answer.violations if isinstance(answer, InvalidArgument) else []
    error = payments_pb2.ChargeError(
        code=status_code(answer).name,
        reason=answer.reason,
        message=answer.message,
        field=violations[0].field if violations else "",
    )
    return payments_pb2.CreateChargeResult(error=error)


def refund_message(refund: Refund, reason: str) -> payments_pb2.Refund:
    return payments_pb2.Refund(
        id=refund.refund_id,
        charge_id=refund.charge_id,
        status=payments_pb2.RefundStatus.Value(f"REFUND_STATUS_{refund.status.name}"),
        destination=payments_pb2.RefundDestination.Value(f"REFUND_DESTINATION_{refund.destination.name}"),
        amount=money(refund.currency, refund.amount_minor),
        tax=money(refund.currency, refund.amounts.tax_minor),
        psp_reference=refund.psp_reference or "",
        reason=reason,
        create_time=timestamp(refund.created_at),
    )


def payment_method_message(method: PaymentMethod) -> payments_pb2.PaymentMethod:
    return payments_pb2.PaymentMethod(
        id=method.payment_method_id,
        customer_id=method.customer_id,
        type=payments_pb2.PaymentMethodType.Value(f"PAYMENT_METHOD_TYPE_{method.method_type.name}"),
        token=method.token,
        brand=method.brand,
        last4=method.last4,
        exp_month=method.exp_month or 0,
        exp_year=method.exp_year or 0,
        is_default=method.is_default,
        create_time=timestamp(method.created_at),
    )


def credit_balance_message(balance: CreditBalance) -> payments_pb2.CreditBalance:
    return payments_pb2.CreditBalance(
        customer_id=balance.customer_id, balance=money(balance.currency, balance.balance_minor)
    )


def revenue_recorded_message(entry: JournalEntry) -> events_pb2.RevenueRecorded:
    fact = revenue_recorded(entry)
    return events_pb2.RevenueRecorded(
        entry_id=fact.entry_id,
        kind=fact.kind,
        source_id=fact.source_id,
        storefront_id=fact.storefront_id,
        channel=channel_value(fact.channel),
        plan_id=fact.plan_id,
        period=fact.period,
        net_revenue=money(fact.currency, fact.net_revenue_minor),
        tax=money(fact.currency, fact.tax_minor),
    )
