"""The payments unit of work: one transaction over every payments repository."""

from __future__ import annotations

from azotte_payments.adapters.repositories import (
    ChargeRepository,
    CreditRepository,
    LedgerRepository,
    PaymentMethodRepository,
    RefundRepository,
)
from azotte_platform.db.unit_of_work import UnitOfWork


class PaymentsUnitOfWork(UnitOfWork):
    """Repositories of one tenant over the unit of work's connection."""

    def charges(self, tenant_id: str) -> ChargeRepository:
        return ChargeRepository(self.connection, tenant_id)

    def payment_methods(self, tenant_id: str) -> PaymentMethodRepository:
        return PaymentMethodRepository(self.connection, tenant_id)

    def refunds(self, tenant_id: str) -> RefundRepository:
        return RefundRepository(self.connection, tenant_id)

    def credits(self, tenant_id: str) -> CreditRepository:
        return CreditRepository(self.connection, tenant_id)

    def ledger(self, tenant_id: str) -> LedgerRepository:
        return LedgerRepository(self.connection, tenant_id)
