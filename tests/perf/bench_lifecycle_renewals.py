"""Renewal throughput: lifecycle scheduler sweeps over due subscriptions, charged over gRPC by payments.

Two modes, one after the other, each on its own embedded PostgreSQL and NATS (lifecycle database `lifecycle`):

- fake payments: 10,000 due subscriptions (`--count`), charged through an in-process fake PaymentsService
  that approves every charge, so the sweep measures lifecycle itself;
- real payments: 10,000 due subscriptions (`--real-count`), charged through `azotte-payments` (database
  `azotte_payments`; two replicas by default, `--payments-replicas`, the channel round-robins them) with the
  Stripe-like sandbox PSP and an in-process catalog answering GetStorefront for the USD storefront "us",
  all started by `bench_payments_charge.payments_stack`. Each subscription has its own customer with a
  card (token "tok_success") written to the payments tables before the sweep.

Lifecycle is the same in both modes (Scheduler + GrpcPayments over `connect()`, batches of `--batch-size`,
`--parallel-batches` at once), its renewals priced by an in-process fake CatalogService over gRPC through
GrpcCatalog (ResolvePrices, one call per batch); only the payments endpoint differs. Each mode times
`--rounds` sweeps (3): the clock moves a month each round and every subscription renews again, so one run
shows how much the machine's own speed varies. Seeding and the checks afterwards are not timed: every
subscription must have renewed exactly once per round, and in the real mode payments must hold exactly one
succeeded charge per subscription and round. Besides renewals/s (each round and the median) it prints the CPU
milliseconds per renewal each kind of process (payments, sandbox PSP, PostgreSQL, NATS, this scheduler
process) spent.

Run: .venv/bin/python tests/perf/bench_lifecycle_renewals.py [--count N] [--real-count N] [--rounds N] [--skip-real]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench_payments_charge  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import grpc
import sqlalchemy as sa
import uvloop

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte.common.v1 import money_pb2
from azotte.payments.v1 import payments_pb2, payments_pb2_grpc
from azotte_lifecycle.adapters import proto
from azotte_lifecycle.adapters.catalog import GrpcCatalog
from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_lifecycle.adapters.unit_of_work import PostgresLifecycleUnitOfWork
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_lifecycle.entrypoints.main import MIGRATIONS
from azotte_lifecycle.ports import SubscriptionQuery
from azotte_lifecycle.service_layer.scheduler import Scheduler, SchedulerSettings, SweepResult
from azotte_lifecycle.settings import LifecycleSettings
from azotte_payments.adapters.tables import charges, payment_methods
from azotte_platform.clock import FixedClock
from azotte_platform.db.engine import create_engine
from azotte_platform.enums import Channel, SubscriptionState
from azotte_platform.grpc.client import connect
from azotte_platform.grpc.server import tune_garbage_collector
from azotte_platform.runtime import start_runtime
from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres

COUNT = 10_000
REAL_COUNT = 10_000
TENANTS = 10
IN_FLIGHT = 32
T0 = datetime(2025, 1, 1, tzinfo=UTC)
PROCESS_GROUPS = (
    ("azotte-payments", "payments"),
    ("sandbox_psp", "sandbox PSP"),
    ("postgres", "PostgreSQL"),
    ("nats-server", "NATS"),
)
SCHEDULER = SchedulerSettings()
PLAN = PlanTerms("basic", 1000, "USD", BillingInterval(IntervalUnit.MONTH))


class ApprovingPayments(payments_pb2_grpc.PaymentsServiceServicer):
    """Approves every charge; one charge per idempotency key."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    async def CreateCharges(self, request: Any, context: Any) -> payments_pb2.CreateChargesResponse:
        results = []
        for item in request.charges:
            self.keys.add(item.idempotency_key)
            charge = payments_pb2.Charge(
                id=item.idempotency_key,
                status=payments_pb2.CHARGE_STATUS_SUCCEEDED,
                outcome=payments_pb2.DECLINE_OUTCOME_APPROVED,
            )
            results.append(payments_pb2.CreateChargeResult(charge=charge))
        return payments_pb2.CreateChargesResponse(results=results)


class PricingCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    """Prices every renewal query at the plan's price; counts calls and queries."""

    def __init__(self) -> None:
        self.calls = self.queries = 0

    async def ResolvePrices(self, request: Any, context: Any) -> catalog_pb2.ResolvePricesResponse:
        self.calls += 1
        self.queries += len(request.queries)
        price = catalog_pb2.ResolvePriceResponse(
            price_id="basic.us.default", amount=money_pb2.Money(amount_minor=PLAN.amount_minor, currency_code="USD")
        )
        return catalog_pb2.ResolvePricesResponse(
            results=[catalog_pb2.ResolvePriceResult(price=price) for _ in request.queries]
        )


def tenant_of(n: int) -> str:
    return f"tenant{n % TENANTS}"


def customer_of(n: int) -> str:
    return f"cus_{n}"


def subscription_of(n: int) -> str:
    return f"sub_{n:06d}"


async def in_flight(count: int, work: Callable[[int], Awaitable[None]]) -> None:
    """Run `work(n)` for n in range(count), IN_FLIGHT at a time."""
    numbers = iter(range(count))

    async def worker() -> None:
        for n in numbers:
            await work(n)

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


def cpu_by_process() -> Counter[str]:
    """CPU seconds used so far by this process and the ones it started, grouped by what they are.

    A process's own time counts, and so does the time of its children that already exited (e.g.
    PostgreSQL's autovacuum workers and closed backends). Processes the benchmark did not start
    (another PostgreSQL on the machine, say) are left out.
    """
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[str, int, float]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(proc.name)] = (command, int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    used: Counter[str] = Counter()
    for pid, (command, _, seconds) in stats.items():
        if not _descends_from(pid, os.getpid(), stats):
            continue
        label = next((name for marker, name in PROCESS_GROUPS if marker in command), "")
        if pid == os.getpid():
            label = "lifecycle scheduler (this process)"
        if label:
            used[label] += seconds  # type: ignore[assignment]  # NOTE: CPU seconds; Counter adds floats too
    return used


def _descends_from(pid: int, ancestor: int, stats: dict[int, tuple[str, int, float]]) -> bool:
    while pid != ancestor:
        if pid not in stats or pid <= 1:
            return False
        pid = stats[pid][1]
    return True


async def stack(root: Path) -> tuple[EmbeddedPostgres, EmbeddedNats]:
    postgres, nats = EmbeddedPostgres(root / "pg", fast=True), EmbeddedNats(root / "nats")
    await postgres.start()
    await nats.start()
    return postgres, nats


@dataclass(frozen=True)
class Sweep:
    """A timed sweep and the CPU seconds each kind of process spent during it."""

    result: SweepResult
    elapsed: float
    cpu: Counter[str]


def due_time(round_number: int) -> datetime:
    """A day after the end of paid period `round_number` (monthly periods from T0, round 1 first)."""
    return datetime(T0.year, T0.month + round_number, 2, tzinfo=UTC)


async def renewal_sweeps(
    postgres: EmbeddedPostgres, nats: EmbeddedNats, payments_addr: str, count: int, rounds: int
) -> tuple[list[Sweep], str]:
    """Seed `count` monthly subscriptions, then `rounds` times move the clock past their period end and time
    the sweep that renews them all; returns the sweeps and a note of the catalog calls that priced them."""
    catalog = PricingCatalog()  # type: ignore[abstract]
    catalog_server = grpc.aio.server()
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog, catalog_server)
    catalog_port = catalog_server.add_insecure_port("127.0.0.1:0")
    await catalog_server.start()
    catalog_channel = connect(f"127.0.0.1:{catalog_port}")
    clock = FixedClock(T0)
    settings = LifecycleSettings(
        database_url=postgres.database_url("lifecycle"), nats_url=nats.url, sandbox_clock=False
    )
    runtime = await start_runtime("lifecycle", settings, MIGRATIONS, clock=clock)
    sweeps = []
    try:

        def uow() -> PostgresLifecycleUnitOfWork:
            return PostgresLifecycleUnitOfWork(runtime.engine, "lifecycle", clock, proto.to_event)

        async with uow() as seed:
            for n in range(count):
                sub = Subscription.create(
                    subscription_id=subscription_of(n),
                    tenant_id=tenant_of(n),
                    customer_id=customer_of(n),
                    plan=PLAN,
                    storefront_id="us",
                    channel=Channel.WEB,
                    billing_origin=BillingOrigin.AZOTTE_BILLED,
                    now=T0,
                )
                sub.pull_events()  # seeding is not measured: no creation events to relay
                await seed.subscriptions.add(sub, T0)
            await seed.commit()
        channel = connect(payments_addr)
        scheduler = Scheduler(uow, GrpcCatalog(catalog_channel), GrpcPayments(channel), clock, SCHEDULER)
        tune_garbage_collector()  # as a lifecycle process does once it serves
        for round_number in range(1, rounds + 1):
            clock.set(due_time(round_number))
            cpu_before, started = cpu_by_process(), time.perf_counter()
            result = await scheduler.sweep()
            elapsed, cpu = time.perf_counter() - started, cpu_by_process() - cpu_before
            assert (result.processed, result.remaining) == (count, 0), result
            sweeps.append(Sweep(result, elapsed, cpu))
        await channel.close(None)
        await assert_renewed(uow, count, rounds)
    finally:
        await runtime.close()
        await catalog_channel.close(None)
        await catalog_server.stop(None)
    note = f"catalog ResolvePrices calls: {catalog.calls} ({catalog.queries} queries) for {count * rounds} renewals"
    return sweeps, note


async def assert_renewed(uow: Callable[[], PostgresLifecycleUnitOfWork], count: int, rounds: int) -> None:
    """Every subscription is active in paid period `rounds + 1`: renewed exactly once per round."""
    subs: list[Subscription] = []
    async with uow() as reader:
        for tenant in sorted({tenant_of(n) for n in range(count)}):
            after: list[str] | None = None
            while page := await reader.subscriptions.find(tenant, 1000, query=SubscriptionQuery(), after=after):
                subs.extend(page)
                created = page[-1].created_at
                assert created is not None
                after = [created.isoformat(), page[-1].id]
    assert len(subs) == count, f"{len(subs)} subscriptions, expected {count}"
    expected = (SubscriptionState.ACTIVE, rounds + 1)
    not_renewed = [s.id for s in subs if (s.state, s.period_index) != expected]
    assert not not_renewed, f"{len(not_renewed)} subscriptions not renewed once per round, e.g. {not_renewed[:5]}"


def report(label: str, sweeps: list[Sweep], notes: Iterable[str]) -> None:
    print(f"{label}:")
    rates = []
    for number, sweep in enumerate(sweeps, start=1):
        processed = sweep.result.processed
        rates.append(processed / sweep.elapsed)
        cpu = ", ".join(f"{name} {seconds / processed * 1000:.2f}" for name, seconds in sweep.cpu.most_common())
        print(f"  round {number}: {processed} renewals in {sweep.elapsed:.2f}s = {rates[-1]:.0f} renewals/s")
        print(f"    CPU ms per renewal: {cpu}")
    print(f"  median of {len(rates)} rounds: {statistics.median(rates):.0f} renewals/s")
    for note in notes:
        print(f"  {note}")


async def fake_mode(count: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lifecycle-", ignore_cleanup_errors=True) as tmp:
        postgres, nats = await stack(Path(tmp))
        payments = ApprovingPayments()  # type: ignore[abstract]
        server = grpc.aio.server()
        payments_pb2_grpc.add_PaymentsServiceServicer_to_server(payments, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            sweeps, priced = await renewal_sweeps(postgres, nats, f"127.0.0.1:{port}", count, rounds)
        finally:
            await server.stop(None)
            nats.stop()
            postgres.stop()
    assert len(payments.keys) == count * rounds
    report(
        "fake payments (in-process fake PaymentsService over gRPC, approves every charge)",
        sweeps,
        [f"charges approved by the fake: {len(payments.keys)}", priced],
    )


async def add_cards(database_url: str, count: int) -> None:
    """Give every customer a default card that the sandbox PSP approves (written to payments' tables)."""
    engine = create_engine(database_url)
    rows = [
        {
            "tenant_id": tenant_of(n),
            "id": f"pm_{n}",
            "customer_id": customer_of(n),
            "method_type": "card",
            "token": "tok_success",
            "brand": "visa",
            "last4": "4242",
            "is_default": True,
            "created_at": T0,
        }
        for n in range(count)
    ]
    async with engine.begin() as connection:
        await connection.execute(payment_methods.insert(), rows)
    await engine.dispose()


async def assert_charged(database_url: str, count: int, rounds: int) -> int:
    """Each subscription has one succeeded charge per round in payments, and no other; returns their number."""
    engine = create_engine(database_url)
    query = sa.select(charges.c.customer_id, charges.c.subscription_id, charges.c.period_key, charges.c.status)
    async with engine.connect() as connection:
        found = (await connection.execute(query)).all()
    await engine.dispose()
    expected = {
        (customer_of(n), subscription_of(n), str(period), "succeeded")
        for n in range(count)
        for period in range(2, rounds + 2)
    }
    assert len(found) == len(expected) and set(found) == expected, f"{len(found)} charges, not one per renewal"
    return len(found)


async def real_mode(count: int, replicas: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lifecycle-real-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        postgres, nats = await stack(root)
        try:
            async with bench_payments_charge.payments_stack(root, postgres, nats, replicas=replicas) as address:
                await add_cards(postgres.database_url("azotte_payments"), count)
                sweeps, priced = await renewal_sweeps(postgres, nats, address, count, rounds)
                succeeded = await assert_charged(postgres.database_url("azotte_payments"), count, rounds)
        finally:
            nats.stop()
            postgres.stop()
    report(
        "real payments (azotte-payments process + stripe_like sandbox PSP + in-process catalog)",
        sweeps,
        [f"charges succeeded in payments: {succeeded} (one per subscription and round)", priced],
    )


async def main(args: argparse.Namespace) -> None:
    global SCHEDULER
    SCHEDULER = SchedulerSettings(batch_size=args.batch_size, parallel_batches=args.parallel_batches)
    await fake_mode(args.count, args.rounds)
    if not args.skip_real:
        await real_mode(args.real_count, args.payments_replicas, args.rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=COUNT, help="subscriptions in the fake-payments mode")
    parser.add_argument("--real-count", type=int, default=REAL_COUNT, help="subscriptions in the real-payments mode")
    parser.add_argument("--skip-real", action="store_true", help="run only the fake-payments mode")
    parser.add_argument("--payments-replicas", type=int, default=2, help="payments processes in the real mode")
    parser.add_argument("--batch-size", type=int, default=SCHEDULER.batch_size, help="subscriptions per batch")
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 12), help="sweeps, a month apart")
    parser.add_argument("--parallel-batches", type=int, default=SCHEDULER.parallel_batches, help="batches at once")
    uvloop.run(main(parser.parse_args()))
