"""The periodic drift reconciliation of every tenant."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.ports import EntitlementUnitOfWork, PlanCatalog
from azotte_entitlement.service_layer.drift_repair import reconcile_drift
from azotte_platform import context

log = logging.getLogger(__name__)


class DriftSchedule:
    """Reconciles every tenant every `interval_seconds`."""

    def __init__(
        self,
        uow_factory: Callable[[], EntitlementUnitOfWork],
        projection: AccessProjection,
        plans: PlanCatalog,
        interval_seconds: float,
    ):
        self._uow = uow_factory
        self._projection = projection
        self._plans = plans
        self._interval = interval_seconds

    async def run(self) -> None:
        """Run forever: wait an interval, reconcile every tenant."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.reconcile_all()
            except Exception:
                log.warning("drift reconciliation failed; next run in %.0fs", self._interval, exc_info=True)

    async def reconcile_all(self) -> None:
        """One pass over every tenant that has subscriptions or grants."""
        async with self._uow() as uow:
            tenants = sorted(set(await uow.subscriptions.tenants()) | set(await uow.grants.tenants()))
        for tenant_id in tenants:
            # NOTE: no call is being served here, so each tenant is entered explicitly; calls to the
            # catalog carry it in the request context.
            with context.tenant_scope(tenant_id):
                async with self._uow() as uow:
                    outcome = await reconcile_drift(uow, self._projection, self._plans, tenant_id)
                    await uow.commit()
            if outcome.report.total:
                log.warning("tenant %s: corrected drift %s", tenant_id, outcome.report)
