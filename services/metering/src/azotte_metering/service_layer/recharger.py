"""The auto-recharge worker: charges each pending recharge through payments, then settles it.

A recharge is written in the transaction that burned the wallet below its threshold; this worker charges
it with the recharge's id as the idempotency key (so a crash or a second replica gets the same charge
back) and settles it in a new transaction (`wallets.complete_recharge`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from azotte_metering.billing_ports import BillingUnitOfWork, ChargeAnswer, Payments, Recharge
from azotte_metering.service_layer.wallets import complete_recharge
from azotte_platform import context
from azotte_platform.errors import AzotteError, FailedPrecondition, InvalidArgument, NotFound

log = logging.getLogger(__name__)


class Recharger:
    """Charges pending auto-recharges: woken after a commit that started one, and every `interval_s`."""

    def __init__(self, uow: Callable[[], BillingUnitOfWork], payments: Payments, interval_s: float = 5.0):
        self._uow = uow
        self._payments = payments
        self._interval_s = interval_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.warning("auto-recharges could not run; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)
            self._wake.clear()

    async def run_once(self, limit: int = 100) -> int:
        """Charge and settle up to `limit` pending recharges; how many were settled."""
        async with self._uow() as uow:
            pending = await uow.wallets.pending_recharges(limit)
        settled = 0
        for recharge in pending:
            with context.tenant_scope(recharge.tenant_id):
                settled += await self._settle(recharge)
        return settled

    async def _settle(self, recharge: Recharge) -> int:
        try:
            answer = await self._payments.charge(
                idempotency_key=recharge.recharge_id,
                customer_id=recharge.customer_id,
                storefront_id=recharge.storefront_id,
                currency_code=recharge.currency_code,
                amount_minor=recharge.amount_minor,
                description=f"Automatic credit recharge, {recharge.currency_code}",
            )
        except (InvalidArgument, NotFound, FailedPrecondition) as error:
            # NOTE: payments refused the charge itself (no payment method, unknown storefront): asking again
            # would get the same answer, so the recharge fails.
            answer = ChargeAnswer("", succeeded=False, failed=True, failure=error.reason)
        except AzotteError as error:
            log.warning("recharge %s not charged yet: %s", recharge.recharge_id, error)
            return 0
        async with self._uow() as uow:
            done = await complete_recharge(uow, recharge, answer)
            await uow.commit()
        return int(done.state != recharge.state)
