"""A period a partner billed (an activation or a renewal) booked in payments' ledger at the catalog price on the
partner channel, net of the partner's part under its wholesale terms, once per subscriber and period."""

from __future__ import annotations

import logging

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import store_sales_pb2 as ss
from azotte_gateway.domain.channel_accounts import Partner
from azotte_gateway.ports import Peers
from azotte_platform.errors import AzotteError
from azotte_platform.request_ids import derive_request_id

log = logging.getLogger(__name__)

K = lc.ChannelEventKind
_BILLED = frozenset({K.CHANNEL_EVENT_KIND_PURCHASED, K.CHANNEL_EVENT_KIND_RENEWED})


def partner_sale_id(partner: Partner, event: lc.ChannelEvent) -> str:
    """The sale of the partner's subscriber (and product) for the period ending at the event's `period_end`.

    NOTE: the same for any event of that period (a resent request, a new event id): the period is booked once.
    """
    period_end = event.period_end_time.ToJsonString()
    return derive_request_id("partner-sale", partner.partner_id, event.identity.value, period_end)


async def book_partner_sale(
    peers: Peers, partner: Partner, event: lc.ChannelEvent, answer: lc.ApplyChannelEventResponse
) -> None:
    """Book the period the partner billed with this event, if it billed one; failures are logged, not raised.

    NOTE: lifecycle has applied the event already; a sale that cannot be booked (the plan has no price on the
    partner channel) is booked when the partner sends the event again.
    """
    sub = answer.subscription
    if event.kind not in _BILLED or not event.HasField("period_end_time") or not sub.id:
        return
    sale_id = partner_sale_id(partner, event)
    query = cat.ResolvePriceRequest(
        plan_id=sub.plan_id,
        storefront_id=sub.storefront_id,
        channel=channel_pb2.CHANNEL_PARTNER,
        at_time=event.occur_time,
    )
    if event.kind == K.CHANNEL_EVENT_KIND_RENEWED:
        # NOTE: a renewal is priced as the scheduler prices one (a price change may spare existing subscribers).
        query.subscription_start_time.CopyFrom(sub.create_time)
    try:
        price = await peers.catalog.ResolvePrice(query)
        await peers.payments.RecordStoreSale(
            ss.RecordStoreSaleRequest(
                request_id=sale_id,
                sale_id=sale_id,
                customer_id=sub.customer_id,
                subscription_id=sub.id,
                storefront_id=sub.storefront_id,
                channel=channel_pb2.CHANNEL_PARTNER,
                plan_id=sub.plan_id,
                price=price.amount,
                occur_time=event.occur_time,
                commission_rate=str(partner.commission_rate),
            )
        )
    except AzotteError as error:
        log.error("partner sale %s not booked: %s", sale_id, error, extra={"reason": error.reason})
