"""A period a store collected (App Store, Google Play purchase, renewal or recovery with its price) booked in
payments' ledger as store-billed revenue net of the store's commission, once per channel event."""

from __future__ import annotations

import logging

from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import store_sales_pb2 as ss
from azotte_gateway.ports import Peers
from azotte_platform.errors import AzotteError

log = logging.getLogger(__name__)

K = lc.ChannelEventKind
_STORES = frozenset({channel_pb2.CHANNEL_APP_STORE, channel_pb2.CHANNEL_GOOGLE_PLAY})
_COLLECTED = frozenset({K.CHANNEL_EVENT_KIND_PURCHASED, K.CHANNEL_EVENT_KIND_RENEWED, K.CHANNEL_EVENT_KIND_RECOVERED})


async def book_store_sale(peers: Peers, event: lc.ChannelEvent, answer: lc.ApplyChannelEventResponse) -> None:
    """Book what the store collected with this event, if it collected anything; failures are logged, not raised.

    NOTE: money the store collected is revenue even when lifecycle found the event stale (a late renewal after
    expiry). The subscription's state is what subscribers depend on: a sale that cannot be booked (its currency
    is not the storefront's) never makes the store redeliver the notification.
    """
    if event.channel not in _STORES or event.kind not in _COLLECTED:
        return
    if event.in_trial or event.price.amount_minor <= 0:
        return
    sub = answer.subscription
    if not sub.id:
        return
    request = ss.RecordStoreSaleRequest(
        # NOTE: a redelivered event (a duplicate) books nothing twice: the sale id is the channel event's.
        request_id=f"store-sale:{event.event_id}",
        sale_id=event.event_id,
        customer_id=sub.customer_id,
        subscription_id=sub.id,
        storefront_id=sub.storefront_id,
        channel=event.channel,
        plan_id=sub.plan_id,
        price=event.price,
        occur_time=event.occur_time,
    )
    try:
        await peers.payments.RecordStoreSale(request)
    except AzotteError as error:
        log.error("store sale %s not booked: %s", event.event_id, error, extra={"reason": error.reason})
