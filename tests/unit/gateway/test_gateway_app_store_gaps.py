"""App Store notifications lifecycle now represents, signed under a test root and verified: a downgrade (or its
undoing) scheduled for the renewal product, a price increase with its renewal price, a reversed refund, a
consumption request — and a purchase or renewal carrying the price the store collected."""

from __future__ import annotations

import pytest

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import money_pb2
from azotte_gateway.errors import ChannelNotificationRejected
from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore
from tests.unit.gateway.test_gateway_app_store import PRODUCT, SIGNED_AT, Directory, K, events_of, transaction

PREMIUM = "com.example.app.premium"


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


def directory() -> Directory:
    found = Directory()
    found.products[PREMIUM] = cat.ChannelMapping(plan_id="premium", storefront_id="")
    return found


@pytest.mark.parametrize(
    ("notification_type", "subtype", "renews_into", "plan"),
    [
        ("DID_CHANGE_RENEWAL_PREF", "DOWNGRADE", PRODUCT, "basic"),
        ("OFFER_REDEEMED", "DOWNGRADE", PRODUCT, "basic"),
        ("DID_CHANGE_RENEWAL_PREF", "", PREMIUM, "premium"),
    ],
)
async def test_a_downgrade_or_its_undoing_is_scheduled_for_the_product_it_renews_into(
    store: SigningAppStore, notification_type: str, subtype: str, renews_into: str, plan: str
) -> None:
    body = store.notification(
        notification_type,
        subtype,
        signed_at=SIGNED_AT,
        transaction=transaction(productId=PREMIUM),
        renewal={"autoRenewProductId": renews_into, "autoRenewStatus": 1},
    )
    [event] = await events_of(store, body, directory())
    assert (event.kind, event.plan_id) == (K.CHANNEL_EVENT_KIND_PLAN_CHANGE_SCHEDULED, plan)


@pytest.mark.parametrize(
    ("subtype", "kind"),
    [
        ("PENDING", K.CHANNEL_EVENT_KIND_PRICE_INCREASE_NOTIFIED),
        ("ACCEPTED", K.CHANNEL_EVENT_KIND_PRICE_INCREASE_ACCEPTED),
    ],
)
async def test_a_price_increase_carries_the_renewal_price(store: SigningAppStore, subtype: str, kind: int) -> None:
    renewal = {"renewalPrice": 12990, "currency": "USD", "autoRenewProductId": PRODUCT}
    body = store.notification(
        "PRICE_INCREASE", subtype, signed_at=SIGNED_AT, transaction=transaction(), renewal=renewal
    )
    [event] = await events_of(store, body)
    assert (event.kind, event.price) == (kind, money_pb2.Money(currency_code="USD", amount_minor=1299))


async def test_a_price_increase_without_its_price_is_rejected(store: SigningAppStore) -> None:
    body = store.notification("PRICE_INCREASE", "PENDING", signed_at=SIGNED_AT, transaction=transaction(), renewal={})
    with pytest.raises(ChannelNotificationRejected, match="renewalPrice"):
        await events_of(store, body)


@pytest.mark.parametrize(
    ("notification_type", "kind"),
    [
        ("REFUND_REVERSED", K.CHANNEL_EVENT_KIND_REFUND_REVERSED),
        ("CONSUMPTION_REQUEST", K.CHANNEL_EVENT_KIND_CONSUMPTION_REQUESTED),
    ],
)
async def test_refund_reversals_and_consumption_requests_reach_lifecycle(
    store: SigningAppStore, notification_type: str, kind: int
) -> None:
    body = store.notification(notification_type, signed_at=SIGNED_AT, transaction=transaction())
    [event] = await events_of(store, body)
    assert (event.kind, event.identity.value) == (kind, "1000000001")


@pytest.mark.parametrize("notification_type", ["SUBSCRIBED", "DID_RENEW"])
async def test_a_purchase_or_renewal_carries_the_price_the_store_collected(
    store: SigningAppStore, notification_type: str
) -> None:
    subtype = "INITIAL_BUY" if notification_type == "SUBSCRIBED" else ""
    body = store.notification(
        notification_type, subtype, signed_at=SIGNED_AT, transaction=transaction(price=9990, currency="EUR")
    )
    [event] = await events_of(store, body)
    assert event.price == money_pb2.Money(currency_code="EUR", amount_minor=999)
