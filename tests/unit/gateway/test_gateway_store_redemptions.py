"""A purchase a store made with an offer counts as a redemption of the promotion mapped to it: the App Store's
promotional offer or offer code and Google Play's offer id are read from the purchase, reported once per store
transaction however often it is notified, and an offer no promotion maps to never fails the notification."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from azotte.common.v1 import channel_pb2, money_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.domain.channels import RawNotification, TrustedNotification
from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore
from azotte_gateway.sandbox_channels.google_play_signing import SigningGoogle
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform import context
from azotte_platform.enums import Channel
from tests.unit.gateway import test_gateway_app_store as app_store
from tests.unit.gateway import test_gateway_google_play as google_play
from tests.unit.gateway.fakes import TENANT, FakeSuite

K = lc.ChannelEventKind


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


@pytest.fixture(scope="module")
def google() -> SigningGoogle:
    return SigningGoogle()


# --- the offer read from the purchase -------------------------------------------------------------


async def test_an_app_store_purchase_with_a_promotional_offer_names_the_offer_and_its_transaction(
    store: SigningAppStore,
) -> None:
    bought = app_store.transaction(offerType=2, offerIdentifier="spring_30", transactionId="2000000042")
    body = store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=app_store.SIGNED_AT, transaction=bought)
    [event] = await app_store.events_of(store, body)
    assert (event.kind, event.offer_id, event.transaction_id) == (
        K.CHANNEL_EVENT_KIND_PURCHASED,
        "spring_30",
        "2000000042",
    )


@pytest.mark.parametrize(
    ("notification_type", "subtype", "extra"),
    [
        ("SUBSCRIBED", "INITIAL_BUY", {"offerType": 1, "offerDiscountType": "FREE_TRIAL"}),  # introductory
        ("SUBSCRIBED", "INITIAL_BUY", {}),
        # NOTE: a renewal in the offer's later periods carries its id but redeems nothing new.
        ("DID_RENEW", "", {"offerType": 2, "offerIdentifier": "spring_30"}),
    ],
)
async def test_an_app_store_event_without_a_redeemed_offer_names_none(
    store: SigningAppStore, notification_type: str, subtype: str, extra: dict[str, Any]
) -> None:
    body = store.notification(
        notification_type, subtype, signed_at=app_store.SIGNED_AT, transaction=app_store.transaction(**extra)
    )
    [event] = await app_store.events_of(store, body)
    assert event.offer_id == ""


async def test_a_google_play_purchase_with_an_offer_names_the_offer_and_its_order(google: SigningGoogle) -> None:
    purchase = google_play.state()
    purchase["lineItems"][0]["offerDetails"]["offerId"] = "spring-30"
    [event] = await google_play.events_of(google, 4, purchase)
    assert (event.offer_id, event.transaction_id) == ("spring-30", purchase["latestOrderId"])
    [plain] = await google_play.events_of(google, 4, google_play.state())
    assert plain.offer_id == ""


# --- the redemption reported ----------------------------------------------------------------------


class OfferVerifier:
    async def verify(self, raw: RawNotification) -> TrustedNotification:
        payload = json.loads(raw.body)
        return TrustedNotification(notification_id=payload["id"], payload=payload)


class OfferNormalizer:
    """One App Store purchase event as the notification describes it."""

    async def normalize(self, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        payload = notification.payload
        event = lc.ChannelEvent(
            event_id=notification.notification_id,
            kind=K.CHANNEL_EVENT_KIND_PURCHASED,
            channel=channel_pb2.CHANNEL_APP_STORE,
            identity=lc.ChannelIdentity(kind=lc.CHANNEL_IDENTITY_KIND_APP_STORE_ORIGINAL_TRANSACTION_ID, value="1000"),
            offer_id=payload.get("offer", ""),
            transaction_id=payload.get("transaction", ""),
            price=money_pb2.Money(currency_code="USD", amount_minor=699),
        )
        return [event]


@pytest.fixture
def suite() -> FakeSuite:
    return FakeSuite()


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    adapters = ChannelAdapters()
    adapters.register(Channel.APP_STORE, OfferVerifier(), OfferNormalizer())
    return suite.gateway(adapters)


async def deliver(gateway: Gateway, **payload: Any) -> None:
    raw = RawNotification(body=json.dumps(payload).encode(), headers={})
    await gateway.channels.receive_notification(Channel.APP_STORE, TENANT.id, raw)


def mapped_promotion(suite: FakeSuite, offer_id: str) -> str:
    with context.tenant_scope(TENANT.id):
        promotion_id = suite.promotions.add("SPRING", 30)
        suite.promotions.map_store_offer(promotion_id, offer_id)
    return promotion_id


async def test_a_purchase_with_a_mapped_offer_is_one_confirmed_redemption_however_often_notified(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion_id = mapped_promotion(suite, "spring_30")
    await deliver(gateway, id="n-1", offer="spring_30", transaction="2000000042")
    await deliver(gateway, id="n-1", offer="spring_30", transaction="2000000042")  # redelivered
    await deliver(gateway, id="n-2", offer="spring_30", transaction="2000000042")  # another notice of it
    [redemption] = suite.promotions.redemptions.values()
    assert (redemption.promotion_id, redemption.customer_id, redemption.state) == (
        promotion_id,
        "cus_store",
        pr.REDEMPTION_STATE_CONFIRMED,
    )
    assert redemption.charge_id == f"{channel_pb2.CHANNEL_APP_STORE}:2000000042"
    [checkout] = suite.promotions.checkouts
    assert (checkout.plan_id, checkout.storefront_id, checkout.channel, checkout.amount.amount_minor) == (
        "basic",
        "us",
        channel_pb2.CHANNEL_APP_STORE,
        699,
    )

    await deliver(gateway, id="n-3", offer="spring_30", transaction="2000000043")
    assert len(suite.promotions.redemptions) == 2


async def test_an_offer_no_promotion_maps_to_or_none_at_all_still_applies_the_purchase(
    suite: FakeSuite, gateway: Gateway
) -> None:
    await deliver(gateway, id="n-4", offer="someone_elses", transaction="2000000044")
    await deliver(gateway, id="n-5")
    assert [event.event_id for _, event in suite.lifecycle.applied] == ["n-4", "n-5"]
    assert suite.promotions.redemptions == {}
