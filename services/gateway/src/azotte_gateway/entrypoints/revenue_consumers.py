"""Revenue analytics in the gateway process: one durable consumer per producing service feeds the revenue stream."""

from __future__ import annotations

from azotte_gateway.adapters.revenue_sources import CatalogRecurringTerms, JetStreamHistory
from azotte_gateway.adapters.unit_of_work import PostgresGatewayUnitOfWork
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.analytics import Analytics
from azotte_gateway.service_layer.revenue_stream import PRODUCERS, RevenueProjection
from azotte_platform.events.consumer import BACKGROUND_LINGER_SECONDS, ConsumerSpec, EventConsumer
from azotte_platform.runtime import Runtime
from azotte_platform.service_kit import Units

# Events recorded in one transaction: the revenue stream is written by one consumer per producer.
PER_TRANSACTION = 100


def consumer_spec(producer: str) -> ConsumerSpec:
    """The gateway's durable consumer of one producer's stream, for the revenue stream."""
    return ConsumerSpec(
        durable=f"gateway-revenue-{producer}",
        producer=producer,
        per_transaction=PER_TRANSACTION,
        linger_seconds=BACKGROUND_LINGER_SECONDS,
    )


def start_analytics(runtime: Runtime, peers: Peers) -> Analytics:
    """Spawn the consumers; the AnalyticsService area that reads what they record."""

    def uow() -> PostgresGatewayUnitOfWork:
        return PostgresGatewayUnitOfWork(runtime.engine, "gateway", runtime.clock)

    projection = RevenueProjection(CatalogRecurringTerms(peers))
    for producer in PRODUCERS:
        consumer = EventConsumer(runtime.js, uow, consumer_spec(producer), projection.apply, projection.prepare)
        runtime.spawn(consumer.run_forever)
    return Analytics(Units(uow), projection, JetStreamHistory(runtime.js))
