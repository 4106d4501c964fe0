"""What a charge's state change causes in the same transaction: ledger, credit and events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from azotte_payments.domain.charge import ChargeRecord
from azotte_payments.domain.events import ChargeFailed, ChargeSucceeded
from azotte_payments.domain.ledger import JournalEntry, postings_for_charge, revenue_recorded
from azotte_payments.ports import PaymentsUnitOfWork


def new_id(prefix: str) -> str:
    """A fresh resource id such as `ch_3f2a...`."""
    return f"{prefix}_{uuid.uuid4().hex}"


async def post_entry(uow: PaymentsUnitOfWork, tenant_id: str, entry: JournalEntry) -> None:
    """Persist a journal entry once and announce it as revenue.recorded."""
    if not entry.postings:
        return
    if await uow.ledger(tenant_id).post(entry):
        uow.emit(tenant_id, revenue_recorded(entry))


async def post_entries(uow: PaymentsUnitOfWork, tenant_id: str, entries: Sequence[JournalEntry]) -> None:
    """`post_entry` for many entries, in one statement per table."""
    posted = await uow.ledger(tenant_id).post_many([entry for entry in entries if entry.postings])
    uow.emit(tenant_id, *(revenue_recorded(entry) for entry in posted))


async def save_charge(uow: PaymentsUnitOfWork, tenant_id: str, record: ChargeRecord) -> None:
    """Write the charge and apply what its new state causes; the caller commits."""
    await uow.charges(tenant_id).save(record, uow.clock.now())
    await apply_charge_events(uow, tenant_id, [record])


async def save_charges(uow: PaymentsUnitOfWork, tenant_id: str, records: Sequence[ChargeRecord]) -> None:
    """`save_charge` for many charges, with one statement per table."""
    await uow.charges(tenant_id).save_many(records, uow.clock.now())
    await apply_charge_events(uow, tenant_id, records)


async def apply_charge_events(uow: PaymentsUnitOfWork, tenant_id: str, records: Sequence[ChargeRecord]) -> None:
    """Ledger, credit and events for what the charges became since they were last saved."""
    now = uow.clock.now()
    captured: list[JournalEntry] = []
    for record in records:
        charge = record.charge
        for fact in charge.events:
            match fact:
                case ChargeSucceeded():
                    # NOTE: revenue is recognized when the money is captured, in the capture's month.
                    captured.append(postings_for_charge(charge, tenant_id, new_id("je"), now))
                case ChargeFailed() if charge.credit_applied_minor:
                    # NOTE: credit reserved for a charge that failed goes back to the customer.
                    credits = uow.credits(tenant_id)
                    balance = await credits.get(charge.request.customer_id, charge.currency, lock=True)
                    balance.release(charge.credit_applied_minor, now, charge_id=charge.charge_id)
                    await credits.save(balance)
        uow.emit(tenant_id, *charge.events)
        charge.events.clear()
    await post_entries(uow, tenant_id, captured)
