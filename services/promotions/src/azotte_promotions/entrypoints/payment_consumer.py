"""Payments' events in: what assigned customers pay (and get refunded) counts toward their experiments' results."""

from __future__ import annotations

from azotte_platform.events.consumer import BACKGROUND_LINGER_SECONDS, EVENTS_PER_TRANSACTION, ConsumerSpec
from azotte_platform.events.envelope import ReceivedEvent
from azotte_promotions.adapters import proto
from azotte_promotions.ports import PromotionsUnitOfWork
from azotte_promotions.service_layer.experiments import record_payment

PAYMENT_EVENTS = ConsumerSpec(
    durable="promotions-experiments",
    producer="payments",
    event_types=("payment.succeeded", "payment.refunded"),
    per_transaction=EVENTS_PER_TRANSACTION,
    linger_seconds=BACKGROUND_LINGER_SECONDS,
)


async def handle_payment_event(uow: PromotionsUnitOfWork, event: ReceivedEvent) -> None:
    payment = proto.payment_of(event)
    if payment is not None:
        await record_payment(uow, event.tenant_id, payment)
