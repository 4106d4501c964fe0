"""The PostgreSQL unit of work of payments (implements `ports.PaymentsUnitOfWork`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_payments.adapters.repositories.charges import ChargeRepository, OpenChargeRepository
from azotte_payments.adapters.repositories.credits import CreditRepository
from azotte_payments.adapters.repositories.ledger import LedgerRepository
from azotte_payments.adapters.repositories.payment_methods import PaymentMethodRepository
from azotte_payments.adapters.repositories.refunds import RefundRepository
from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import ToEvent, UnitOfWork


class PostgresPaymentsUnitOfWork(UnitOfWork):
    """One transaction; repositories of one tenant over its connection; `to_event` is `adapters.proto.to_event`."""

    def __init__(self, engine: AsyncEngine, clock: Clock, to_event: ToEvent):
        super().__init__(engine, "payments", clock, to_event)

    def charges(self, tenant_id: str) -> ChargeRepository:
        return ChargeRepository(self.connection, tenant_id)

    def open_charges(self) -> OpenChargeRepository:
        return OpenChargeRepository(self.connection)

    def payment_methods(self, tenant_id: str) -> PaymentMethodRepository:
        return PaymentMethodRepository(self.connection, tenant_id)

    def refunds(self, tenant_id: str) -> RefundRepository:
        return RefundRepository(self.connection, tenant_id)

    def credits(self, tenant_id: str) -> CreditRepository:
        return CreditRepository(self.connection, tenant_id)

    def ledger(self, tenant_id: str) -> LedgerRepository:
        return LedgerRepository(self.connection, tenant_id)
