"""A purchase a store made with an offer (an App Store promotional offer or offer code, a Google Play offer) reported
to promotions as a redemption of the promotion mapped to that offer, once per store transaction."""

from __future__ import annotations

import logging

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.ports import Peers
from azotte_platform.errors import AzotteError, NotFound
from azotte_platform.request_ids import derive_request_id

log = logging.getLogger(__name__)


def redemption_request_id(event: lc.ChannelEvent) -> str:
    """The same for every report of one store transaction, whichever notification carries it."""
    return derive_request_id("store-redemption", str(event.channel), event.transaction_id)


async def report_store_redemption(
    peers: Peers, event: lc.ChannelEvent, answer: lc.ApplyChannelEventResponse
) -> pr.Redemption | None:
    """Report the offer this event's purchase was made with; None when there is none or it cannot count.

    NOTE: the store has already granted the offer, so nothing here makes it redeliver the notification: an offer
    no promotion maps to is not Azotte's, and one past its promotion's limits is logged.
    """
    sub = answer.subscription
    if not event.offer_id or not event.transaction_id or not sub.id:
        return None
    amount = event.price if event.HasField("price") else sub.renewal_price
    try:
        plan = (await peers.catalog.GetPlan(cat.GetPlanRequest(id=sub.plan_id))).plan
        request = pr.RecordStoreRedemptionRequest(
            request_id=redemption_request_id(event),
            channel=event.channel,
            offer_id=event.offer_id,
            checkout=pr.Checkout(
                customer_id=sub.customer_id,
                plan_id=sub.plan_id,
                product_line=plan.family,
                storefront_id=sub.storefront_id,
                channel=event.channel,
                amount=amount,
            ),
            transaction_id=event.transaction_id,
        )
        return (await peers.promotions.RecordStoreRedemption(request)).redemption
    except NotFound as error:
        log.info("store offer %s not counted: %s", event.offer_id, error, extra={"reason": error.reason})
    except AzotteError as error:
        log.warning(
            "store redemption of offer %s not counted: %s", event.offer_id, error, extra={"reason": error.reason}
        )
    return None
