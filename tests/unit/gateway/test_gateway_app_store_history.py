"""A notification for a subscription lifecycle never saw: with the app's in-app purchase key, the missed purchase
and renewals are read from the App Store Server API (its fake, verifying the key's JWT) and applied before it;
without a key, or with a key Apple refuses, the notification fails with the reason. The key is sealed at rest and
never answered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.app_store import AppStoreNormalizer, AppStoreVerifier
from azotte_gateway.adapters.channels.app_store_api import AppStoreServerApi
from azotte_gateway.adapters.channels.app_store_history import AppStoreHistory
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.domain.channel_inbox import InboxState
from azotte_gateway.domain.channels import SealedServerApiKey
from azotte_gateway.domain.permissions import Role
from azotte_gateway.sandbox_channels.app_store_api import FakeAppStoreApi, create_app
from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, millis, subscription_transaction
from azotte_gateway.service_layer.channels import StoredAppStoreApps
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.sealing import SealingKeyUnavailable
from azotte_platform.service_kit import Units
from tests.unit.gateway.fakes import TENANT, FakeSuite, caller
from tests.unit.gateway.test_gateway_app_store import PRODUCT, TOKEN, Directory, peers_of, raw

K = lc.ChannelEventKind
ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
KEY_ID = "2X9R4HXF34"
ORIGINAL = "3000000001"


def month(number: int) -> datetime:
    return datetime(2026, number, 1, 12, 0, tzinfo=UTC)


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def transaction_of(number: int) -> dict[str, Any]:
    """The subscription's `number`-th month: transaction id 300000000<number>, bought on the month's first day."""
    return subscription_transaction(
        ORIGINAL,
        product_id=PRODUCT,
        purchased_at=month(number),
        expires_at=month(number + 1),
        app_account_token=TOKEN,
        transactionId=f"300000000{number}",
    )


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


@pytest.fixture(scope="module")
def apple_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
async def http(store: SigningAppStore, apple_key: ec.EllipticCurvePrivateKey) -> AsyncIterator[httpx.AsyncClient]:
    """The App Store Server API fake, knowing `apple_key` and the subscription's first two months."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(FakeAppStoreApi())), base_url="http://x"
    ) as http:
        public = apple_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        await http.put(f"/fake/keys/{KEY_ID}", json={"issuer_id": ISSUER, "public_key_pem": public.decode()})
        common = {"bundleId": "com.example.app", "environment": "Production"}
        history = [store.jws({**transaction_of(n), **common, "signedDate": millis(month(n))}) for n in (1, 2, 3)]
        await http.put(
            f"/fake/histories/{ORIGINAL}", json={"bundle_id": "com.example.app", "signed_transactions": history}
        )
        yield http


@pytest.fixture
def suite() -> FakeSuite:
    suite = FakeSuite()
    suite.lifecycle.strict_identities = True
    return suite


@pytest.fixture
def gateway(suite: FakeSuite, http: httpx.AsyncClient) -> Gateway:
    apps = StoredAppStoreApps(Units(suite.uow))
    normalizer = AppStoreNormalizer(peers_of(Directory()))
    adapters = ChannelAdapters()
    adapters.register(Channel.APP_STORE, AppStoreVerifier(apps), normalizer)
    suite.channel_histories[Channel.APP_STORE] = AppStoreHistory(
        apps, suite.keyring, AppStoreServerApi(http, "http://x"), normalizer
    )
    return suite.gateway(adapters)


async def configure(gateway: Gateway, store: SigningAppStore, key: ec.EllipticCurvePrivateKey | None) -> ca.AppStoreApp:
    app = ca.AppStoreApp(
        app_id="ios",
        bundle_id="com.example.app",
        environment=ca.APP_STORE_ENVIRONMENT_PRODUCTION,
        root_certificate_pem=store.root_pem,
        app_apple_id=1234,
        storefront_id="us",
    )
    if key is not None:
        app.server_api.CopyFrom(ca.AppStoreServerApiKey(issuer_id=ISSUER, key_id=KEY_ID, private_key_pem=pem(key)))
    admin = caller(Role.ADMIN)
    with admin.scope():
        created = await gateway.channels.create_app_store_app(
            admin, ca.CreateAppStoreAppRequest(request_id="r1", app=app)
        )
    return created.app


def renewal_body(store: SigningAppStore, number: int) -> bytes:
    """The DID_RENEW of the subscription's `number`-th month, signed a minute after its purchase."""
    at = month(number).replace(minute=1)
    return store.notification("DID_RENEW", signed_at=at, transaction=transaction_of(number))


def applied_events(suite: FakeSuite) -> list[tuple[str, int]]:
    return [(event.event_id, event.kind) for _, event in suite.lifecycle.applied]


async def test_a_renewal_of_a_subscription_never_seen_applies_the_missed_purchase_and_renewals_first(
    suite: FakeSuite, gateway: Gateway, store: SigningAppStore, apple_key: ec.EllipticCurvePrivateKey
) -> None:
    await configure(gateway, store, apple_key)
    body = renewal_body(store, 3)
    stored = await gateway.channels.receive_notification(Channel.APP_STORE, TENANT.id, raw(body))
    assert stored.state is InboxState.APPLIED, stored.last_error
    notification_id = stored.notification_id
    assert applied_events(suite) == [
        ("app_store_transaction:3000000001", K.CHANNEL_EVENT_KIND_PURCHASED),
        ("app_store_transaction:3000000002", K.CHANNEL_EVENT_KIND_RENEWED),
        (notification_id, K.CHANNEL_EVENT_KIND_RENEWED),
    ]
    [(_, purchase), (_, renewal), _] = suite.lifecycle.applied
    assert (purchase.customer_id, purchase.plan_id, purchase.storefront_id) == ("cus_1", "basic", "us")
    assert purchase.occur_time.ToDatetime(UTC) == month(1)
    assert renewal.period_end_time.ToDatetime(UTC) == month(3)

    later = await gateway.channels.receive_notification(Channel.APP_STORE, TENANT.id, raw(renewal_body(store, 4)))
    assert later.state is InboxState.APPLIED
    assert len(suite.lifecycle.applied) == 4  # a known subscription: nothing read from the history again


async def test_without_a_key_the_notification_fails_with_lifecycles_reason(
    suite: FakeSuite, gateway: Gateway, store: SigningAppStore
) -> None:
    app = await configure(gateway, store, None)
    assert not app.HasField("server_api")
    stored = await gateway.channels.receive_notification(Channel.APP_STORE, TENANT.id, raw(renewal_body(store, 3)))
    assert stored.state is InboxState.FAILED
    assert stored.last_error.startswith("SubscriptionNotFound: ")
    assert suite.lifecycle.applied == []


async def test_a_key_apple_refuses_fails_the_notification_saying_so(
    suite: FakeSuite, gateway: Gateway, store: SigningAppStore
) -> None:
    await configure(gateway, store, ec.generate_private_key(ec.SECP256R1()))
    stored = await gateway.channels.receive_notification(Channel.APP_STORE, TENANT.id, raw(renewal_body(store, 3)))
    assert stored.state is InboxState.FAILED
    assert "refused the app's in-app purchase key (401)" in stored.last_error
    assert suite.lifecycle.applied == []


async def test_the_key_is_sealed_to_its_app_and_never_answered(
    suite: FakeSuite, gateway: Gateway, store: SigningAppStore, apple_key: ec.EllipticCurvePrivateKey
) -> None:
    created = await configure(gateway, store, apple_key)
    admin = caller(Role.ADMIN)
    with admin.scope():
        got = (await gateway.channels.get_app_store_app(admin, ca.GetAppStoreAppRequest(app_id="ios"))).app
    expected = ca.AppStoreServerApiKey(issuer_id=ISSUER, key_id=KEY_ID, private_key_set=True)
    assert created.server_api == got.server_api == expected
    stored = suite.data.app_store_apps[(TENANT.id, "ios")].server_api
    assert stored is not None
    assert pem(apple_key).encode() not in stored.private_key.ciphertext
    opened = suite.keyring.unseal(stored.private_key, SealedServerApiKey.binding(TENANT.id, "ios"))
    assert opened.decode() == pem(apple_key)
    with pytest.raises(SealingKeyUnavailable):
        suite.keyring.unseal(stored.private_key, SealedServerApiKey.binding(TENANT.id, "mac"))


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"issuer_id": ""}, "app.server_api.issuer_id"),
        ({"key_id": "short"}, "app.server_api.key_id"),
        ({"private_key_pem": "not a key"}, "app.server_api.private_key_pem"),
    ],
)
async def test_an_incomplete_key_is_refused_naming_its_field_and_nothing_is_stored(
    suite: FakeSuite,
    gateway: Gateway,
    store: SigningAppStore,
    apple_key: ec.EllipticCurvePrivateKey,
    change: dict[str, str],
    field_name: str,
) -> None:
    given = ca.AppStoreServerApiKey(issuer_id=ISSUER, key_id=KEY_ID, private_key_pem=pem(apple_key))
    for name, value in change.items():
        setattr(given, name, value)
    app = ca.AppStoreApp(
        app_id="ios",
        bundle_id="com.example.app",
        environment=ca.APP_STORE_ENVIRONMENT_PRODUCTION,
        root_certificate_pem=store.root_pem,
        server_api=given,
    )
    admin = caller(Role.ADMIN)
    with admin.scope(), pytest.raises(InvalidArgument) as refused:
        await gateway.channels.create_app_store_app(admin, ca.CreateAppStoreAppRequest(request_id="r1", app=app))
    assert [v.field for v in refused.value.violations] == [field_name]
    assert suite.data.app_store_apps == {}
