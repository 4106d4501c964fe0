"""What a store collected reaches payments: App Store milliunits and Google Play units/nanos as minor units, and
each purchase, renewal or recovery with a price booked once as a store sale — never failing the notification."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from azotte.common.v1 import channel_pb2, money_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.adapters.channels.store_prices import app_store_price, google_play_price
from azotte_gateway.domain.channels import RawNotification, TrustedNotification
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.enums import Channel
from tests.unit.gateway.fakes import TENANT, FakeSuite


def money(currency: str, amount_minor: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, amount_minor=amount_minor)


@pytest.mark.parametrize(
    ("transaction", "expected"),
    [
        ({"price": 9990, "currency": "EUR"}, money("EUR", 999)),
        ({"price": 1200000, "currency": "JPY"}, money("JPY", 1200)),
        ({"price": 4995, "currency": "USD"}, money("USD", 500)),  # half a cent rounds up
        ({"price": 0, "currency": "USD"}, None),  # a free trial collects nothing
        ({"price": 9990, "currency": "XYZ"}, None),
        ({"price": "9990", "currency": "EUR"}, None),
        ({"price": True, "currency": "EUR"}, None),
        ({"price": 10**30, "currency": "EUR"}, None),
        ({"currency": "EUR"}, None),
    ],
)
def test_app_store_milliunits_become_minor_units(transaction: dict[str, Any], expected: Any) -> None:
    assert app_store_price(transaction) == expected


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ({"currencyCode": "EUR", "units": "9", "nanos": 990000000}, money("EUR", 999)),
        ({"currencyCode": "KWD", "units": "1", "nanos": 234000000}, money("KWD", 1234)),
        ({"currencyCode": "EUR", "units": "1e999999", "nanos": 0}, None),
        ({"currencyCode": "EUR", "units": "nine", "nanos": 0}, None),
        ({"currencyCode": "eur", "units": "9", "nanos": 0}, None),
    ],
)
def test_google_play_units_and_nanos_become_minor_units(price: dict[str, Any], expected: Any) -> None:
    assert google_play_price({"autoRenewingPlan": {"recurringPrice": price}}) == expected
    assert google_play_price({"autoRenewingPlan": {}}) is None


class StoreVerifier:
    async def verify(self, raw: RawNotification) -> TrustedNotification:
        payload = json.loads(raw.body)
        return TrustedNotification(notification_id=payload["id"], payload=payload)


class StoreNormalizer:
    """One App Store event as the notification describes it."""

    async def normalize(self, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        payload = notification.payload
        event = lc.ChannelEvent(
            event_id=notification.notification_id,
            kind=lc.ChannelEventKind.Value(payload["kind"]),
            channel=channel_pb2.CHANNEL_APP_STORE,
            identity=lc.ChannelIdentity(
                kind=lc.CHANNEL_IDENTITY_KIND_APP_STORE_ORIGINAL_TRANSACTION_ID, value=payload["original"]
            ),
            in_trial=payload.get("in_trial", False),
        )
        if "price" in payload:
            event.price.CopyFrom(money("USD", payload["price"]))
        return [event]


@pytest.fixture
def suite() -> FakeSuite:
    return FakeSuite()


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    adapters = ChannelAdapters()
    adapters.register(Channel.APP_STORE, StoreVerifier(), StoreNormalizer())
    return suite.gateway(adapters)


async def deliver(gateway: Gateway, **payload: Any) -> None:
    raw = RawNotification(body=json.dumps({"original": "1000", **payload}).encode(), headers={})
    await gateway.channels.receive_notification(Channel.APP_STORE, TENANT.id, raw)


async def test_a_renewal_with_its_price_is_booked_once_as_a_store_sale(suite: FakeSuite, gateway: Gateway) -> None:
    for _ in range(2):
        await deliver(gateway, id="n-1", kind="CHANNEL_EVENT_KIND_RENEWED", price=999)
    booked = suite.payments.store_sales
    assert {(s.request_id, s.sale_id) for s in booked} == {("store-sale:n-1", "n-1")}
    sale = booked[0]
    assert (sale.subscription_id, sale.customer_id, sale.storefront_id, sale.plan_id) == (
        "sub_1000",
        "cus_store",
        "us",
        "basic",
    )
    assert (sale.channel, sale.price) == (channel_pb2.CHANNEL_APP_STORE, money("USD", 999))


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "CHANNEL_EVENT_KIND_PURCHASED", "price": 999, "in_trial": True},
        {"kind": "CHANNEL_EVENT_KIND_RENEWED"},
        {"kind": "CHANNEL_EVENT_KIND_EXPIRED", "price": 999},
    ],
)
async def test_nothing_is_booked_when_the_store_collected_nothing(
    suite: FakeSuite, gateway: Gateway, payload: dict[str, Any]
) -> None:
    await deliver(gateway, id="n-2", **payload)
    assert suite.lifecycle.applied and suite.payments.store_sales == []


async def test_a_sale_payments_refuses_does_not_fail_the_notification(suite: FakeSuite, gateway: Gateway) -> None:
    suite.payments.store_sale_refused = True
    await deliver(gateway, id="n-3", kind="CHANNEL_EVENT_KIND_RECOVERED", price=999)
    assert [event.event_id for _, event in suite.lifecycle.applied] == ["n-3"]
