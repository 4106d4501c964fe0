"""What a verified PSP notice changes: a dispute recorded (ledger, events), a charge the customer authenticated."""

from __future__ import annotations

from azotte_payments.domain.dispute import Dispute
from azotte_payments.domain.ledger import postings_for_dispute, postings_for_dispute_won
from azotte_payments.domain.psp_notice import DisputeNotice, PaymentAuthenticated, PaymentStatusChanged, PspNotice
from azotte_payments.errors import DisputedPaymentNotFound, PspUnavailable
from azotte_payments.ports import PaymentsUnitOfWork, TenantPsps
from azotte_payments.service_layer.effects import new_id, post_entry, save_charge


async def apply_notice(
    uow: PaymentsUnitOfWork, psps: TenantPsps, tenant_id: str, account_id: str, notice: PspNotice
) -> None:
    """Apply a notice of the tenant's PSP account; the caller commits."""
    match notice:
        case DisputeNotice():
            await record_dispute(uow, tenant_id, account_id, notice)
        case PaymentAuthenticated():
            await complete_authentication(uow, psps, tenant_id, account_id, notice)
        case PaymentStatusChanged():
            # NOTE: settled after the commit, under the charge's own lock (`psp_settlements`).
            return


async def record_dispute(uow: PaymentsUnitOfWork, tenant_id: str, account_id: str, notice: DisputeNotice) -> None:
    """Open the dispute (amount and fee withdrawn) and close it when the bank decided (won: amount back)."""
    disputes, charges, now = uow.disputes(tenant_id), uow.charges(tenant_id), uow.clock.now()
    record = await charges.by_psp_reference(account_id, notice.psp_reference)
    if record is None:
        # NOTE: a webhook may outrun the charge's own answer: refused, the PSP redelivers it later.
        raise DisputedPaymentNotFound(f"dispute {notice.psp_dispute_id} names an unknown payment")
    charge = record.charge
    dispute = await disputes.by_psp_id(account_id, notice.psp_dispute_id)
    if dispute is None:
        about = (charge.charge_id, charge.request.customer_id, charge.request.subscription_id)
        dispute = Dispute.open(
            new_id("dp"),
            account_id,
            notice.psp_dispute_id,
            about,
            notice.currency,
            notice.amount_minor,
            notice.fee_minor,
            notice.reason,
            now,
            # NOTE: decided once, when it opens: a later change of policy does not touch an open dispute.
            access=(await disputes.policy()).on_dispute_opened,
        )
        await disputes.add(dispute)
        await post_entry(uow, tenant_id, postings_for_dispute(dispute, charge, tenant_id, new_id("je"), now))
    # NOTE: a close may arrive first (webhooks are not ordered): the dispute is opened, then closed.
    if notice.closed and dispute.close(notice.won, now):
        await disputes.save(dispute)
        if notice.won:
            await post_entry(uow, tenant_id, postings_for_dispute_won(dispute, charge, tenant_id, new_id("je"), now))
    uow.emit(tenant_id, *dispute.events)
    dispute.events.clear()


async def complete_authentication(
    uow: PaymentsUnitOfWork, psps: TenantPsps, tenant_id: str, account_id: str, notice: PaymentAuthenticated
) -> None:
    """A charge that failed waiting for the customer's authentication succeeds once they authenticated."""
    record = await uow.charges(tenant_id).by_psp_reference(account_id, notice.psp_reference)
    if record is None:
        return
    charge, reference = record.charge, notice.psp_reference
    if charge.complete_authentication(reference, uow.clock.now()):
        await save_charge(uow, tenant_id, record)
    elif charge.abandoned_capture(reference):
        # NOTE: no money without its charge: what the PSP captured for a charge that cannot revive goes back.
        key = f"refund:abandoned:{reference}"
        result = await psps.provider(account_id).refund(reference, charge.psp_amount_minor, charge.currency, key)
        if not result.succeeded:
            raise PspUnavailable(f"refunding the abandoned capture {reference} failed: {result.error_code}")
