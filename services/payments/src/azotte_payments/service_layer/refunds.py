"""RefundCharge and VoidCharge: give money back through the PSP or as customer credit."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_payments.domain.charge import Charge
from azotte_payments.domain.credit import CreditReason
from azotte_payments.domain.declines import PspOperationResult
from azotte_payments.domain.events import ChargeRefunded
from azotte_payments.domain.ledger import EntryKind, postings_for_refund, postings_for_void
from azotte_payments.domain.refund import Refund, RefundDestination, apply_refund, plan_refund
from azotte_payments.errors import NoPspCapture, PspRefused, PspUnavailable
from azotte_payments.ports import PaymentServiceProviders, PaymentsUnitOfWork
from azotte_payments.service_layer.credits import record_credit_granted
from azotte_payments.service_layer.effects import new_id, post_entry
from azotte_platform.errors import InvalidArgument


@dataclass(frozen=True)
class RefundCharge:
    """Refund `amount_minor` (None: all that remains) of a charge."""

    request_id: str
    charge_id: str
    amount_minor: int | None
    currency: str
    to_credit: bool
    reason: str


def _ensure_psp_accepted(result: PspOperationResult, what: str) -> None:
    if result.succeeded:
        return
    if result.retryable:
        raise PspUnavailable(f"{result.psp} could not {what} now ({result.error_code}); retry")
    raise PspRefused(f"{result.psp} refused to {what}: {result.error_code}")


async def refund_charge(
    uow: PaymentsUnitOfWork, tenant_id: str, psps: PaymentServiceProviders, command: RefundCharge
) -> tuple[Refund, Charge]:
    """Refund within what was captured and not yet refunded; the caller commits."""
    if not command.charge_id:
        raise InvalidArgument.field("charge_id", "is required")
    record = await uow.charges(tenant_id).get(command.charge_id, lock=True)
    charge, now = record.charge, uow.clock.now()
    if command.amount_minor is not None and command.currency != charge.currency:
        raise InvalidArgument.field("amount.currency_code", f"must be the charge currency {charge.currency}")
    destination = RefundDestination.CUSTOMER_CREDIT if command.to_credit else RefundDestination.ORIGINAL_METHOD
    refund = plan_refund(charge, new_id("re"), command.amount_minor, destination, now)
    if destination is RefundDestination.ORIGINAL_METHOD:
        if not charge.psp or not charge.psp_reference:
            raise NoPspCapture(f"charge {charge.charge_id} was not captured by a PSP")
        # NOTE: the PSP key derives from the request id, so a retried refund is never paid twice.
        psp_key = f"refund:{charge.charge_id}:{command.request_id}"
        result = (
            await (await psps.for_tenant(tenant_id))
            .provider(charge.psp)
            .refund(charge.psp_reference, refund.amount_minor, charge.currency, psp_key)
        )
        _ensure_psp_accepted(result, "refund")
        refund.confirm(result.psp_reference)
    else:
        credits = uow.credits(tenant_id)
        balance = await credits.get(charge.request.customer_id, charge.currency, lock=True)
        balance.grant(refund.amount_minor, CreditReason.REFUND, now, charge_id=charge.charge_id, note=command.reason)
        await credits.save(balance)
        record_credit_granted(uow, tenant_id, balance)
    apply_refund(charge, refund, now)
    await uow.refunds(tenant_id).add(refund, command.reason)
    await uow.charges(tenant_id).save(record, now)
    await post_entry(uow, tenant_id, postings_for_refund(charge, refund, tenant_id, new_id("je"), now))
    uow.emit(tenant_id, ChargeRefunded(refund, command.reason, charge))
    return refund, charge


async def void_charge(uow: PaymentsUnitOfWork, tenant_id: str, psps: PaymentServiceProviders, charge_id: str) -> Charge:
    """Cancel a succeeded, unrefunded charge and reverse its revenue; the caller commits."""
    if not charge_id:
        raise InvalidArgument.field("charge_id", "is required")
    charges = uow.charges(tenant_id)
    record = await charges.get(charge_id, lock=True)
    charge, now = record.charge, uow.clock.now()
    charge.void()
    if charge.psp and charge.psp_reference:
        result = (
            await (await psps.for_tenant(tenant_id))
            .provider(charge.psp)
            .void(charge.psp_reference, f"void:{charge.charge_id}")
        )
        _ensure_psp_accepted(result, "void")
    if charge.credit_applied_minor:
        # NOTE: credit spent on a voided charge goes back to the customer.
        credits = uow.credits(tenant_id)
        balance = await credits.get(charge.request.customer_id, charge.currency, lock=True)
        balance.release(charge.credit_applied_minor, now, charge_id=charge.charge_id)
        await credits.save(balance)
    await charges.save(record, now)
    entry = await uow.ledger(tenant_id).entry_for(EntryKind.CHARGE, charge.charge_id)
    if entry is not None:
        await post_entry(uow, tenant_id, postings_for_void(entry, new_id("je"), now))
    return charge
