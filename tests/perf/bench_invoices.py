"""Benchmark: invoices issued per second in a batch of contract customers, beside plain inserts of the same rows.

On an embedded PostgreSQL with payments' migrations, one storefront, each customer's monthly invoice (a recurring
line, a usage line and a true-up) created and issued in one transaction as `CreateInvoice(issue=true)` does it:
a gap-free number from the storefront's counter, tax, the journal entry, the PDF rendered and stored, the events
in the outbox. Baseline: one plain INSERT of the same invoice row per transaction over the same pool.

Run: .venv/bin/python tests/perf/bench_invoices.py [--customers N] [--concurrency N]  (the figure: --customers 10000)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from azotte_payments.adapters import proto
from azotte_payments.adapters.invoice_pdf import ReportlabInvoiceRenderer
from azotte_payments.adapters.tables import invoices
from azotte_payments.adapters.unit_of_work import PostgresPaymentsUnitOfWork
from azotte_payments.domain.invoices import BillTo, InvoiceLine, LineKind
from azotte_payments.domain.storefront import StorefrontTerms
from azotte_payments.entrypoints.main import MIGRATIONS
from azotte_payments.service_layer.invoices import CreateInvoice, InvoiceTools, create_invoice
from azotte_platform import context
from azotte_platform.clock import SystemClock
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate
from azotte_platform.tax import TaxMode, TaxPolicy
from azotte_stack.postgres import EmbeddedPostgres

TENANT = "bench"
LINES = (
    InvoiceLine(LineKind.RECURRING, "Enterprise plan, April", 250_000, plan_id="enterprise"),
    InvoiceLine(LineKind.USAGE, "Tokens (model=large)", 81_250, Decimal(3_250_000), Decimal("0.025"), "", "tokens"),
    InvoiceLine(LineKind.TRUE_UP, "Committed minimum true-up", 18_750),
)


class OneStorefront:
    """The catalog peer: storefront `de` (EUR, 19 % VAT on top)."""

    async def terms(self, tenant_id: str, storefront_id: str) -> StorefrontTerms:
        return StorefrontTerms("de", "EUR", "DE", TaxPolicy(TaxMode.EXCLUSIVE, Decimal("0.19")), ())


async def run_all(concurrency: int, jobs: list[Callable[[], Awaitable[None]]]) -> float:
    """Seconds to run every job, `concurrency` at a time."""
    queue = list(reversed(jobs))

    async def worker() -> None:
        while queue:
            await queue.pop()()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def main(customers: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "pg", fast=True)
        await postgres.start()
        try:
            url = postgres.database_url("bench_invoices")
            await migrate(MIGRATIONS, url)
            engine = create_engine(url, pool_size=concurrency)
            clock = SystemClock()
            tools = InvoiceTools(OneStorefront(), ReportlabInvoiceRenderer())

            def issue(n: int) -> Callable[[], Awaitable[None]]:
                async def job() -> None:
                    command = CreateInvoice(
                        f"contract_{n}:2026-04", f"cus_{n}", "de", "EUR", LINES, BillTo(f"Customer {n} GmbH"), 30,
                        subscription_id=f"contract_{n}", period_key="2026-04", issue=True,
                    )  # fmt: skip
                    async with PostgresPaymentsUnitOfWork(engine, clock, proto.to_event) as uow:
                        await create_invoice(uow, TENANT, tools, command)
                        await uow.commit()

                return job

            def insert(n: int) -> Callable[[], Awaitable[None]]:
                async def job() -> None:
                    async with engine.begin() as connection:
                        await connection.execute(invoices.insert().values(_row(n)))

                return job

            with context.tenant_scope(TENANT):
                baseline = await run_all(concurrency, [insert(n) for n in range(customers)])
                issued = await run_all(concurrency, [issue(n) for n in range(customers)])
            await engine.dispose()
        finally:
            postgres.stop(fast=True)
    print(f"Invoices issued in a batch of {customers} contract customers, concurrency {concurrency}")
    print(f"  issued (number, tax, ledger, PDF, events): {customers / issued:8.0f} invoices/s")
    print(f"  baseline (plain INSERT of the row):        {customers / baseline:8.0f} rows/s")
    print(f"  issuing costs {issued / baseline:.1f}x a plain insert")


def _row(n: int) -> dict[str, object]:
    now = SystemClock().now()
    return {
        "tenant_id": "baseline", "id": uuid.uuid4().hex, "idempotency_key": f"k{n}", "customer_id": f"cus_{n}",
        "storefront_id": "de", "currency": "EUR", "status": "open", "number": f"INV-DE-{n + 1:06d}",
        "payment_reference": f"REF{n}", "subscription_id": "", "period_key": "", "memo": "",
        "bill_to": {"name": f"Customer {n} GmbH"}, "lines": [], "due_in_days": 30, "reverse_charge": False,
        "tax_rate": "0.19", "charges_minor": 350_000, "reductions_minor": 0, "net_minor": 350_000,
        "tax_minor": 66_500, "total_minor": 416_500, "paid_minor": 0, "credited_minor": 0, "credited_tax_minor": 0,
        "created_at": now, "issued_at": now, "due_on": now.date(), "closed_at": None, "status_note": "",
    }  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.customers, arguments.concurrency))
