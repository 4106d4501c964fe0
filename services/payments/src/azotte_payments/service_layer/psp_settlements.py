"""A charge a PSP left undecided (a carrier processing it, or waiting for the subscriber) is settled when the PSP
says it moved: read back from the PSP under the charge's own lock, as the reconciler would, only sooner."""

from __future__ import annotations

from collections.abc import Callable

from azotte_payments.domain.charge import ChargeStatus
from azotte_payments.ports import PaymentsUnitOfWork
from azotte_payments.service_layer.charge_processor import ChargeProcessor


async def settle_awaited_charge(
    uow_factory: Callable[[], PaymentsUnitOfWork],
    processor: ChargeProcessor,
    tenant_id: str,
    account_id: str,
    psp_reference: str,
) -> None:
    """Drive the charge the PSP answered with `psp_reference` if it still waits; nothing otherwise."""
    async with uow_factory() as uow:
        record = await uow.charges(tenant_id).by_psp_reference(account_id, psp_reference)
    if record is not None and record.charge.status is ChargeStatus.UNKNOWN:
        # NOTE: a driver already holding the charge settles it itself; otherwise the reconciler does later.
        await processor.advance(tenant_id, record.charge.charge_id)
