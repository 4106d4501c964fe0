"""The usage-billing half of metering, assembled: WalletsService, the consumers that rate usage, follow
subscriptions and carry out downgrades, and the auto-recharge worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from azotte.metering.v1 import wallets_pb2, wallets_pb2_grpc
from azotte_metering.adapters import billing_proto
from azotte_metering.adapters.billing_unit_of_work import PostgresBillingUnitOfWork
from azotte_metering.adapters.catalog import CatalogQuotaResets
from azotte_metering.adapters.lifecycle import GrpcLifecycle
from azotte_metering.adapters.payments import GrpcPayments
from azotte_metering.billing_ports import BillingUnitOfWork, Lifecycle, Payments, QuotaResets
from azotte_metering.entrypoints.wallets_servicer import WalletsServicer
from azotte_metering.service_layer import accounts, limits, rating
from azotte_metering.service_layer.recharger import Recharger
from azotte_platform.events import nats_connection
from azotte_platform.events.consumer import EVENTS_PER_TRANSACTION, ConsumerSpec, EventConsumer
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.grpc.client import connect
from azotte_platform.runtime import Runtime
from azotte_platform.service_kit import Units
from azotte_platform.tenant_cache import follow_changes

SERVICE_NAME = wallets_pb2.DESCRIPTOR.services_by_name["WalletsService"].full_name
USAGE_EVENTS = ConsumerSpec(
    durable="metering-rating", producer="metering", event_types=("usage.recorded",), batch=1000, per_transaction=1000
)
"""NOTE: a backlog of usage (ingest outpacing rating) is rated up to a thousand events per transaction, each
customer's together: the period locked, the wallet paid, quotas reported and limits checked once per customer, not
per event; the larger the backlog, the more events per customer. A lone event is rated at once, alone."""
SUBSCRIPTION_EVENTS = ConsumerSpec(
    durable="metering-subscriptions",
    producer="lifecycle",
    event_types=("subscription.>", "trial.>"),
    per_transaction=EVENTS_PER_TRANSACTION,
)
DOWNGRADE_EVENTS = ConsumerSpec(
    durable="metering-downgrades", producer="metering", event_types=("limit.downgrade_ordered",)
)


@dataclass(frozen=True)
class UsageRatingHandler:
    """Rates `usage.recorded` events (once each: the consumer's inbox) and wakes the recharger if it must: one event
    (`__call__`) or the events of one transaction (`together`), each customer's at once."""

    recharger: Recharger
    resets: QuotaResets

    async def __call__(self, uow: BillingUnitOfWork, event: ReceivedEvent) -> None:
        await self.together(uow, [event])

    async def together(self, uow: BillingUnitOfWork, events: Sequence[ReceivedEvent]) -> None:
        usages = [usage for event in events for usage in billing_proto.recorded_usage(event)]
        if usages and await rating.rate_usage(uow, self.resets, events[0].tenant_id, usages):
            uow.after_commit(self.recharger.wake)


@dataclass(frozen=True)
class SubscriptionHandler:
    """Keeps the customer's usage account (plan, storefront, period) from a lifecycle event."""

    resets: QuotaResets

    async def __call__(self, uow: BillingUnitOfWork, event: ReceivedEvent) -> None:
        snapshot = billing_proto.subscription_snapshot(event)
        if snapshot is not None:
            await accounts.apply_subscription(uow, self.resets, event.tenant_id, snapshot)


@dataclass(frozen=True)
class DowngradeHandler:
    """Moves a subscription to the plan of the DOWNGRADE limit it reached, through lifecycle."""

    lifecycle: Lifecycle

    async def __call__(self, uow: BillingUnitOfWork, event: ReceivedEvent) -> None:
        order = billing_proto.downgrade_order(event)
        if order is not None:
            await limits.downgrade(uow, self.lifecycle, event.tenant_id, order)


@dataclass(frozen=True)
class UsageBilling:
    """The assembled usage billing: its servicer, its event consumers and the recharger."""

    servicer: WalletsServicer
    consumers: tuple[EventConsumer[PostgresBillingUnitOfWork], ...]
    recharger: Recharger


def assemble(runtime: Runtime, payments: Payments, lifecycle: Lifecycle, resets: QuotaResets) -> UsageBilling:
    """Wire the usage-billing use cases to a runtime, the payments and lifecycle services and the catalog's quota
    resets."""

    def uow() -> PostgresBillingUnitOfWork:
        return PostgresBillingUnitOfWork(runtime.engine, runtime.clock)

    recharger = Recharger(uow, payments)
    rate = UsageRatingHandler(recharger, resets)
    consumers = (
        EventConsumer(runtime.js, uow, USAGE_EVENTS, rate, apply_together=rate.together),
        EventConsumer(runtime.js, uow, SUBSCRIPTION_EVENTS, SubscriptionHandler(resets)),
        EventConsumer(runtime.js, uow, DOWNGRADE_EVENTS, DowngradeHandler(lifecycle)),
    )
    return UsageBilling(WalletsServicer(Units(uow), payments, resets), consumers, recharger)


async def start(runtime: Runtime, billing: UsageBilling) -> None:
    """Start consuming usage and lifecycle events, and recharging wallets, in the background."""
    for producer in ("metering", "lifecycle"):
        # NOTE: a stream may not exist yet when this service starts first; creating it is idempotent.
        await nats_connection.ensure_service_stream(runtime.js, producer)
    for consumer in billing.consumers:
        runtime.spawn(consumer.run)
    runtime.spawn(billing.recharger.run_forever)


async def serve(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Register WalletsService and start the background work; the service names served."""
    payments = GrpcPayments(connect(runtime.settings.payments_addr))
    resets = CatalogQuotaResets(connect(runtime.settings.catalog_addr))
    follow_changes(runtime, "catalog", resets.resets)
    billing = assemble(runtime, payments, GrpcLifecycle(connect(runtime.settings.lifecycle_addr)), resets)
    wallets_pb2_grpc.add_WalletsServiceServicer_to_server(billing.servicer, server)
    await start(runtime, billing)
    return [SERVICE_NAME]
