"""Webhooks to tenants in the gateway process: a durable consumer per producing service, and the delivery worker."""

from __future__ import annotations

from azotte_gateway.adapters.unit_of_work import PostgresGatewayUnitOfWork
from azotte_gateway.adapters.webhook_events import register_payloads, webhook_body
from azotte_gateway.adapters.webhook_sender import DnsResolver, HttpWebhookSender
from azotte_gateway.service_layer.webhook_delivery import WebhookDelivery, WebhookFanout
from azotte_gateway.service_layer.webhooks import Webhooks
from azotte_platform.events.consumer import BACKGROUND_LINGER_SECONDS, ConsumerSpec, EventConsumer
from azotte_platform.runtime import Runtime
from azotte_platform.service_kit import Units

# Every service whose events reach tenants' endpoints (each has its own JetStream stream).
PRODUCERS = ("catalog", "lifecycle", "payments", "entitlement", "promotions", "metering")
# Events fanned out in one transaction (claimed in the inbox together, one commit for all).
PER_TRANSACTION = 100


def consumer_spec(producer: str) -> ConsumerSpec:
    """The gateway's durable consumer of one producer's stream, for webhooks."""
    return ConsumerSpec(
        durable=f"gateway-webhooks-{producer}",
        producer=producer,
        per_transaction=PER_TRANSACTION,
        linger_seconds=BACKGROUND_LINGER_SECONDS,
    )


def start_webhooks(runtime: Runtime) -> Webhooks:
    """Spawn the consumers and the delivery worker; the WebhooksService area they serve."""

    def uow() -> PostgresGatewayUnitOfWork:
        return PostgresGatewayUnitOfWork(runtime.engine, "gateway", runtime.clock)

    register_payloads(PRODUCERS)
    sender = HttpWebhookSender()
    runtime.on_close(sender.close)
    delivery = WebhookDelivery(uow, runtime.clock, sender)
    fanout = WebhookFanout(webhook_body, delivery.wake)
    for producer in PRODUCERS:
        runtime.spawn(EventConsumer(runtime.js, uow, consumer_spec(producer), fanout.handle).run_forever)
    runtime.spawn(delivery.run)
    runtime.on_clock_change(delivery.on_clock_change)
    return Webhooks(Units(uow), DnsResolver(), delivery.wake)
