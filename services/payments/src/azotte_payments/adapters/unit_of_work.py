"""The PostgreSQL unit of work of payments (implements `ports.PaymentsUnitOfWork`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_payments.adapters.repositories.bank_payments import PostgresBankPaymentRepository
from azotte_payments.adapters.repositories.charges import PostgresChargeRepository, PostgresOpenChargeRepository
from azotte_payments.adapters.repositories.credits import PostgresCreditRepository
from azotte_payments.adapters.repositories.disputes import PostgresDisputeRepository
from azotte_payments.adapters.repositories.invoices import PostgresDueInvoiceRepository, PostgresInvoiceRepository
from azotte_payments.adapters.repositories.ledger import PostgresLedgerRepository
from azotte_payments.adapters.repositories.payment_methods import PostgresPaymentMethodRepository
from azotte_payments.adapters.repositories.psp_accounts import PostgresPspAccountRepository
from azotte_payments.adapters.repositories.refunds import PostgresRefundRepository
from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import ToEvent, UnitOfWork


class PostgresPaymentsUnitOfWork(UnitOfWork):
    """One transaction; repositories of one tenant over its connection; `to_event` is `adapters.proto.to_event`."""

    def __init__(self, engine: AsyncEngine, clock: Clock, to_event: ToEvent):
        super().__init__(engine, "payments", clock, to_event)

    def charges(self, tenant_id: str) -> PostgresChargeRepository:
        return PostgresChargeRepository(self.connection, tenant_id)

    def open_charges(self) -> PostgresOpenChargeRepository:
        return PostgresOpenChargeRepository(self.connection)

    def payment_methods(self, tenant_id: str) -> PostgresPaymentMethodRepository:
        return PostgresPaymentMethodRepository(self.connection, tenant_id)

    def refunds(self, tenant_id: str) -> PostgresRefundRepository:
        return PostgresRefundRepository(self.connection, tenant_id)

    def credits(self, tenant_id: str) -> PostgresCreditRepository:
        return PostgresCreditRepository(self.connection, tenant_id)

    def ledger(self, tenant_id: str) -> PostgresLedgerRepository:
        return PostgresLedgerRepository(self.connection, tenant_id)

    def psp_accounts(self, tenant_id: str) -> PostgresPspAccountRepository:
        return PostgresPspAccountRepository(self.connection, tenant_id)

    def disputes(self, tenant_id: str) -> PostgresDisputeRepository:
        return PostgresDisputeRepository(self.connection, tenant_id)

    def invoices(self, tenant_id: str) -> PostgresInvoiceRepository:
        return PostgresInvoiceRepository(self.connection, tenant_id)

    def due_invoices(self) -> PostgresDueInvoiceRepository:
        return PostgresDueInvoiceRepository(self.connection)

    def bank_payments(self, tenant_id: str) -> PostgresBankPaymentRepository:
        return PostgresBankPaymentRepository(self.connection, tenant_id)
