"""Collects a recorded charge through its PSPs, one driver per charge, and reconciles by key."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from azotte_payments.domain.charge import Attempt, Charge, ChargeRecord, ChargeStatus, ReconcileAction
from azotte_payments.domain.declines import DeclineReason, PspChargeResult
from azotte_payments.ports import (
    ChargeLocks,
    PaymentServiceProviders,
    PaymentsUnitOfWork,
    PspChargeRequest,
    TenantPsps,
)
from azotte_payments.service_layer.effects import save_charge, save_charges
from azotte_platform.clock import Clock, tenant_times
from azotte_platform.context import tenant_scope

log = logging.getLogger(__name__)

FaultHook = Callable[[str, str], Awaitable[None]]
"""Called at named points of a charge (point, charge id); tests use it to simulate crashes."""

AFTER_PSP_CHARGE = "after_psp_charge"
FINAL = (ChargeStatus.SUCCEEDED, ChargeStatus.FAILED, ChargeStatus.VOIDED)


async def _no_fault(point: str, charge_id: str) -> None:
    return None


class ChargeProcessor:
    """Drives pending charges; a lock per charge (`ports.ChargeLocks`) keeps a single driver at a time."""

    def __init__(
        self,
        uow_factory: Callable[[], PaymentsUnitOfWork],
        psps: PaymentServiceProviders,
        locks: ChargeLocks,
        clock: Clock,
        max_drivers: int,
        fault: FaultHook | None = None,
    ):
        self._clock = clock
        self._uow = uow_factory
        self.psps = psps
        self._locks = locks
        self._drivers = asyncio.Semaphore(max_drivers)
        self._fault = fault or _no_fault

    async def advance(self, tenant_id: str, charge_id: str) -> Charge | None:
        """Move the charge towards an outcome and return it; None if another driver holds it right now."""
        async with self._drivers, self._locks.try_hold(tenant_id, charge_id) as held:
            return await self._drive(tenant_id, charge_id) if held else None

    def holding(self, tenant_id: str, charge_ids: Sequence[str]) -> AbstractAsyncContextManager[None]:
        """Be the driver of new charges nobody else knows yet: lock them all, release on exit."""
        return self._locks.hold_all(tenant_id, charge_ids)

    async def collect(self, tenant_id: str, records: Sequence[ChargeRecord]) -> None:
        """Send the charges' in-flight attempts to their PSPs together and store the answers.

        The caller holds the charges (`holding`) and has committed the attempts. A charge a PSP left
        retryable stays pending for `advance` to fail over; a timeout leaves it unknown until reconciled.
        """
        attempts = [record.charge.attempts[-1] for record in records]
        psps = await self.psps.for_tenant(tenant_id)
        results = await asyncio.gather(
            *(psps.charge(a.psp, self._psp_request(r, a)) for r, a in zip(records, attempts, strict=True))
        )
        for record, result in zip(records, results, strict=True):
            await self._fault(AFTER_PSP_CHARGE, record.charge.charge_id)
            record.charge.complete_attempt(result, self._clock.now())
            if result.unsettled:
                # NOTE: a timeout may have captured (a carrier may still): no failover; the reconciler looks it up.
                record.charge.exhaust(self._clock.now())
        async with self._uow() as uow:
            await save_charges(uow, tenant_id, records)
            await uow.commit()

    async def reconcile_open_charges(self, untouched_for: timedelta, limit: int = 100) -> int:
        """Resume pending and unknown charges nobody is driving (after a crash or a timeout).

        Only charges unchanged for `untouched_for` are tried, so charges a live driver is collecting
        right now are left to it without a lock attempt each.
        """
        async with self._uow() as uow:
            touched_before = tenant_times(self._clock).shifted(-untouched_for)  # each tenant's own time
            open_charges = await uow.open_charges().untouched_since(touched_before, limit)
        resumed = 0
        for tenant_id, charge_id in open_charges:
            try:
                # NOTE: background work, outside any call: it acts for the charge's tenant.
                with tenant_scope(tenant_id):
                    resumed += await self.advance(tenant_id, charge_id) is not None
            except Exception:
                log.exception("reconciling charge %s failed", charge_id)
        return resumed

    async def _load(self, tenant_id: str, charge_id: str) -> ChargeRecord:
        async with self._uow() as uow:
            return await uow.charges(tenant_id).get(charge_id)

    async def _save(self, tenant_id: str, record: ChargeRecord) -> None:
        async with self._uow() as uow:
            await save_charge(uow, tenant_id, record)
            await uow.commit()

    async def _drive(self, tenant_id: str, charge_id: str) -> Charge:
        record = await self._load(tenant_id, charge_id)
        psps = await self.psps.for_tenant(tenant_id)
        while True:
            charge = record.charge
            now = self._clock.now()
            if charge.status in FINAL:
                return charge
            if charge.status is ChargeStatus.UNKNOWN:
                await self._reconcile_unknown(tenant_id, psps, record)
                return charge
            in_flight = charge.attempts[-1] if charge.attempts and charge.attempts[-1].pending else None
            if in_flight is not None:
                # NOTE: an attempt left in flight by a crash: ask the PSP by its key, never charge again.
                known, found = await self._lookup(psps, in_flight)
                if not known:
                    return charge
                charge.settle_orphaned_attempt(found, now)
                await self._save(tenant_id, record)
                continue
            psp = psps.next_candidate(record.candidates, charge.attempts)
            if psp is None:
                charge.exhaust(now)
                await self._save(tenant_id, record)
                return charge
            attempt = charge.begin_attempt(psp, now)
            # NOTE: the attempt is committed before the PSP is called.
            await self._save(tenant_id, record)
            result = await psps.charge(psp, self._psp_request(record, attempt))
            await self._fault(AFTER_PSP_CHARGE, charge_id)
            if result.reason is DeclineReason.TIMEOUT:
                known, found = await self._lookup(psps, attempt)
                if known and found is not None:
                    result = found
            if result.unsettled:
                # NOTE: a timeout may have captured (a carrier may still): no failover, the charge stays unknown.
                charge.complete_attempt(result, self._clock.now())
                charge.exhaust(self._clock.now())
                await self._save(tenant_id, record)
                return charge
            charge.complete_attempt(result, self._clock.now())
            await self._save(tenant_id, record)

    async def _reconcile_unknown(self, tenant_id: str, psps: TenantPsps, record: ChargeRecord) -> None:
        charge = record.charge
        for attempt in charge.unreconciled_attempts():
            known, found = await self._lookup(psps, attempt)
            if not known:
                return
            action = charge.reconcile_attempt(attempt.number, found, self._clock.now())
            if action is ReconcileAction.VOID_DUPLICATE and attempt.psp_reference:
                await psps.provider(attempt.psp).void(attempt.psp_reference, f"void:{attempt.psp_idempotency_key}")
        await self._save(tenant_id, record)

    @staticmethod
    async def _lookup(psps: TenantPsps, attempt: Attempt) -> tuple[bool, PspChargeResult | None]:
        """(whether the PSP answered, what it recorded under the attempt's key)."""
        try:
            return True, await psps.provider(attempt.psp).lookup(attempt.psp_idempotency_key)
        except Exception as error:
            log.warning("lookup of %s on %s failed: %s", attempt.psp_idempotency_key, attempt.psp, error)
            return False, None

    @staticmethod
    def _psp_request(record: ChargeRecord, attempt: Attempt) -> PspChargeRequest:
        charge = record.charge
        return PspChargeRequest(
            idempotency_key=attempt.psp_idempotency_key,
            amount_minor=charge.psp_amount_minor,
            currency=charge.currency,
            payment_token=record.payment_token,
            reference=charge.charge_id,
            description=charge.request.description,
            customer_id=charge.request.customer_id,
            # NOTE: a charge for a period (renewal, plan change) is made by Azotte, without the customer.
            off_session=bool(charge.request.period_key),
        )
