"""App Store Server Notifications v2: verified up to the app's trusted root, normalized into lifecycle events."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives import serialization

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.app_store import AppStoreNormalizer, AppStoreVerifier
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.domain.channels import AppStoreApp, AppStoreEnvironment, RawNotification
from azotte_gateway.domain.permissions import Role
from azotte_gateway.errors import (
    ChannelAppAlreadyExists,
    ChannelAppNotFound,
    ChannelCustomerUnknown,
    ChannelNotificationRejected,
    RolePermissionMissing,
)
from azotte_gateway.ports import Peers
from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, later, subscription_transaction
from azotte_gateway.service_layer.channels import StoredAppStoreApps
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform import context
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_platform.service_kit import Units
from tests.unit.gateway.fakes import TENANT, FakeSuite, caller

K = lc.ChannelEventKind
SIGNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PRODUCT = "com.example.app.monthly"
TOKEN = "7e3fb20b-4cdb-47cc-936d-99d65f608138"


@dataclass
class Directory:
    """Lifecycle's linked identities and catalog's APP_STORE mappings, as the normalizer reads them."""

    identities: dict[str, str] = field(default_factory=lambda: {TOKEN: "cus_1"})
    products: dict[str, cat.ChannelMapping] = field(
        default_factory=lambda: {PRODUCT: cat.ChannelMapping(plan_id="basic", storefront_id="")}
    )

    async def FindCustomerByChannelIdentity(
        self, request: lc.FindCustomerByChannelIdentityRequest
    ) -> lc.FindCustomerByChannelIdentityResponse:
        customer_id = self.identities.get(request.identity.value)
        if customer_id is None:
            raise NotFound("no customer")
        return lc.FindCustomerByChannelIdentityResponse(customer=lc.Customer(id=customer_id))

    async def ResolveChannelProduct(
        self, request: cat.ResolveChannelProductRequest
    ) -> cat.ResolveChannelProductResponse:
        mapping = self.products.get(request.external_product_id)
        if mapping is None:
            raise NotFound("no mapping")
        return cat.ResolveChannelProductResponse(channel_mapping=mapping)


def peers_of(directory: Directory) -> Peers:
    # NOTE: the port types the peers as the generated stubs; the directory has only the methods used.
    return cast(Peers, SimpleNamespace(lifecycle=directory, catalog=directory))


@dataclass
class Apps:
    apps: dict[tuple[str, str], AppStoreApp] = field(default_factory=dict)

    async def find(self, tenant_id: str, app_id: str) -> AppStoreApp | None:
        return self.apps.get((tenant_id, app_id))


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


def app_of(store: SigningAppStore, environment: AppStoreEnvironment = AppStoreEnvironment.PRODUCTION) -> AppStoreApp:
    return AppStoreApp(
        tenant_id=TENANT.id,
        app_id="ios",
        bundle_id="com.example.app",
        environment=environment,
        root_certificate_pem=store.root_pem,
        app_apple_id=1234,
        storefront_id="us",
    )


def raw(body: bytes, app_id: str = "ios") -> RawNotification:
    return RawNotification(body=body, headers={}, tenant_id=TENANT.id, app_id=app_id)


def transaction(**extra: Any) -> dict[str, Any]:
    return subscription_transaction(
        "1000000001",
        product_id=PRODUCT,
        purchased_at=SIGNED_AT,
        expires_at=later(SIGNED_AT, 30),
        app_account_token=TOKEN,
        **extra,
    )


async def verify(store: SigningAppStore, body: bytes, app: AppStoreApp | None = None) -> Any:
    apps = Apps({(TENANT.id, "ios"): app or app_of(store)})
    return await AppStoreVerifier(apps).verify(raw(body))


async def events_of(
    store: SigningAppStore, body: bytes, directory: Directory | None = None
) -> Sequence[lc.ChannelEvent]:
    trusted = await verify(store, body)
    directory = directory or Directory()
    with context.tenant_scope(TENANT.id):
        return await AppStoreNormalizer(peers_of(directory)).normalize(trusted)


# --- verification ---------------------------------------------------------------------------------


async def test_a_notification_signed_under_the_apps_root_is_trusted_with_its_transaction_and_renewal(
    store: SigningAppStore,
) -> None:
    body = store.notification(
        "DID_RENEW", signed_at=SIGNED_AT, transaction=transaction(), renewal={"autoRenewStatus": 1}
    )
    trusted = await verify(store, body)
    assert trusted.notification_id == json.loads(_payload(body))["notificationUUID"]
    assert trusted.payload["transaction"]["originalTransactionId"] == "1000000001"
    assert trusted.payload["renewal"]["autoRenewStatus"] == 1


def _payload(body: bytes) -> bytes:
    part = json.loads(body)["signedPayload"].split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda s: SigningAppStore().notification("TEST", signed_at=SIGNED_AT), id="another root"),
        pytest.param(lambda s: s.notification("TEST", signed_at=SIGNED_AT, alg="HS256"), id="not ES256"),
        pytest.param(lambda s: s.notification("TEST", signed_at=SIGNED_AT, alg="none"), id="alg none"),
        pytest.param(lambda s: s.notification("TEST", signed_at=SIGNED_AT, x5c=s.chain()[:2]), id="two certificates"),
        pytest.param(lambda s: s.notification("TEST", signed_at=SIGNED_AT, x5c=[*s.chain(), s.chain()[2]]), id="four"),
        pytest.param(
            lambda s: s.notification("TEST", signed_at=SIGNED_AT, x5c=[s.chain()[1], s.chain()[1], s.chain()[2]]),
            id="signed by the intermediate's chain position",
        ),
        pytest.param(
            lambda s: SigningAppStore(leaf_marker=False, root_key=s.root_key).notification("TEST", signed_at=SIGNED_AT),
            id="leaf without Apple's marker",
        ),
        pytest.param(
            lambda s: SigningAppStore(intermediate_marker=False, root_key=s.root_key).notification(
                "TEST", signed_at=SIGNED_AT
            ),
            id="intermediate without Apple's marker",
        ),
        pytest.param(
            lambda s: SigningAppStore(leaf_not_after=later(SIGNED_AT, -1), root_key=s.root_key).notification(
                "TEST", signed_at=SIGNED_AT
            ),
            id="leaf expired at signedDate",
        ),
        pytest.param(lambda s: s.notification("TEST", signed_at=SIGNED_AT, environment="Sandbox"), id="Sandbox"),
        pytest.param(lambda s: s.notification("TEST", signed_at=SIGNED_AT, environment="Xcode"), id="Xcode"),
        pytest.param(
            lambda s: s.notification("TEST", signed_at=SIGNED_AT, environment="LocalTesting"), id="LocalTesting"
        ),
        pytest.param(lambda s: s.notification("TEST", signed_at=SIGNED_AT, bundle_id="com.other"), id="other bundle"),
        pytest.param(lambda s: s.notification("TEST", signed_at=SIGNED_AT, app_apple_id=99), id="other Apple app"),
        pytest.param(lambda s: json.dumps({"signedPayload": "a.b"}).encode(), id="not a JWS"),
        pytest.param(lambda s: b"{}", id="unsigned"),
        pytest.param(lambda s: b"not json", id="not JSON"),
    ],
)
async def test_a_forged_or_foreign_notification_is_rejected(store: SigningAppStore, forge: Any) -> None:
    with pytest.raises(ChannelNotificationRejected):
        await verify(store, forge(store))


async def test_a_tampered_payload_does_not_verify(store: SigningAppStore) -> None:
    header, _, signature = json.loads(store.notification("TEST", signed_at=SIGNED_AT))["signedPayload"].split(".")
    other = json.loads(store.notification("DID_RENEW", signed_at=SIGNED_AT))["signedPayload"].split(".")[1]
    body = json.dumps({"signedPayload": f"{header}.{other}.{signature}"}).encode()
    with pytest.raises(ChannelNotificationRejected, match="signature does not verify"):
        await verify(store, body)


async def test_a_nested_transaction_signed_elsewhere_is_rejected(store: SigningAppStore) -> None:
    body = json.loads(store.notification("DID_RENEW", signed_at=SIGNED_AT, transaction=transaction()))
    outer = json.loads(_payload(json.dumps(body).encode()))
    outer["data"]["signedTransactionInfo"] = SigningAppStore().jws({**transaction(), "signedDate": outer["signedDate"]})
    with pytest.raises(ChannelNotificationRejected, match="signed transaction"):
        await verify(store, json.dumps({"signedPayload": store.jws(outer)}).encode())


async def test_a_production_notification_is_rejected_by_a_sandbox_app(store: SigningAppStore) -> None:
    sandbox = app_of(store, AppStoreEnvironment.SANDBOX)
    with pytest.raises(ChannelNotificationRejected, match="environment"):
        await verify(store, store.notification("TEST", signed_at=SIGNED_AT), sandbox)
    trusted = await verify(store, store.notification("TEST", signed_at=SIGNED_AT, environment="Sandbox"), sandbox)
    assert trusted.payload["notification"]["notificationType"] == "TEST"


async def test_an_unknown_app_is_not_found(store: SigningAppStore) -> None:
    with pytest.raises(ChannelAppNotFound):
        await AppStoreVerifier(Apps()).verify(raw(store.notification("TEST", signed_at=SIGNED_AT)))


# --- normalization --------------------------------------------------------------------------------

GRACE_END = later(SIGNED_AT, 6)


@pytest.mark.parametrize(
    ("notification_type", "subtype", "kind"),
    [
        ("SUBSCRIBED", "INITIAL_BUY", K.CHANNEL_EVENT_KIND_PURCHASED),
        ("SUBSCRIBED", "RESUBSCRIBE", K.CHANNEL_EVENT_KIND_PURCHASED),
        ("OFFER_REDEEMED", "INITIAL_BUY", K.CHANNEL_EVENT_KIND_PURCHASED),
        ("DID_RENEW", "", K.CHANNEL_EVENT_KIND_RENEWED),
        ("DID_RENEW", "BILLING_RECOVERY", K.CHANNEL_EVENT_KIND_RECOVERED),
        ("RENEWAL_EXTENDED", "", K.CHANNEL_EVENT_KIND_RENEWED),
        ("DID_FAIL_TO_RENEW", "GRACE_PERIOD", K.CHANNEL_EVENT_KIND_RENEWAL_FAILED_IN_GRACE),
        ("DID_FAIL_TO_RENEW", "", K.CHANNEL_EVENT_KIND_ON_HOLD),
        ("GRACE_PERIOD_EXPIRED", "", K.CHANNEL_EVENT_KIND_ON_HOLD),
        ("DID_CHANGE_RENEWAL_STATUS", "AUTO_RENEW_DISABLED", K.CHANNEL_EVENT_KIND_AUTO_RENEW_OFF),
        ("DID_CHANGE_RENEWAL_STATUS", "AUTO_RENEW_ENABLED", K.CHANNEL_EVENT_KIND_AUTO_RENEW_ON),
        ("DID_CHANGE_RENEWAL_PREF", "UPGRADE", K.CHANNEL_EVENT_KIND_PLAN_CHANGED),
        ("OFFER_REDEEMED", "UPGRADE", K.CHANNEL_EVENT_KIND_PLAN_CHANGED),
        ("EXPIRED", "VOLUNTARY", K.CHANNEL_EVENT_KIND_EXPIRED),
        ("EXPIRED", "BILLING_RETRY", K.CHANNEL_EVENT_KIND_EXPIRED),
        ("EXPIRED", "PRICE_INCREASE", K.CHANNEL_EVENT_KIND_EXPIRED),
        ("EXPIRED", "PRODUCT_NOT_FOR_SALE", K.CHANNEL_EVENT_KIND_EXPIRED),
        ("EXPIRED", "", K.CHANNEL_EVENT_KIND_EXPIRED),
        ("REFUND", "", K.CHANNEL_EVENT_KIND_REFUNDED),
        ("REVOKE", "", K.CHANNEL_EVENT_KIND_REVOKED),
    ],
)
async def test_each_notification_type_maps_to_its_lifecycle_event(
    store: SigningAppStore, notification_type: str, subtype: str, kind: int
) -> None:
    renewal = {"originalTransactionId": "1000000001", "gracePeriodExpiresDate": int(GRACE_END.timestamp() * 1000)}
    body = store.notification(
        notification_type, subtype, signed_at=SIGNED_AT, transaction=transaction(), renewal=renewal
    )
    [event] = await events_of(store, body)
    assert event.kind == kind
    assert event.event_id == json.loads(_payload(body))["notificationUUID"]
    assert event.occur_time.ToDatetime(UTC) == SIGNED_AT
    assert (event.identity.kind, event.identity.value) == (
        lc.CHANNEL_IDENTITY_KIND_APP_STORE_ORIGINAL_TRANSACTION_ID,
        "1000000001",
    )
    if kind in (K.CHANNEL_EVENT_KIND_PURCHASED, K.CHANNEL_EVENT_KIND_RENEWED, K.CHANNEL_EVENT_KIND_RECOVERED):
        assert event.period_end_time.ToDatetime(UTC) == later(SIGNED_AT, 30)
    if kind == K.CHANNEL_EVENT_KIND_RENEWAL_FAILED_IN_GRACE:
        assert event.grace_end_time.ToDatetime(UTC) == GRACE_END
    if kind == K.CHANNEL_EVENT_KIND_PURCHASED:
        assert (event.customer_id, event.plan_id, event.storefront_id) == ("cus_1", "basic", "us")
    if kind == K.CHANNEL_EVENT_KIND_PLAN_CHANGED:
        assert event.plan_id == "basic"


@pytest.mark.parametrize(
    ("notification_type", "subtype"),
    [
        ("TEST", ""),
        ("RENEWAL_EXTENSION", "SUMMARY"),
    ],
)
async def test_what_lifecycle_cannot_represent_is_acknowledged_without_events(
    store: SigningAppStore, notification_type: str, subtype: str
) -> None:
    body = store.notification(notification_type, subtype, signed_at=SIGNED_AT, transaction=transaction())
    assert await events_of(store, body) == []


async def test_a_free_trial_purchase_is_in_trial(store: SigningAppStore) -> None:
    trial = transaction(offerType=1, offerDiscountType="FREE_TRIAL")
    body = store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=SIGNED_AT, transaction=trial)
    [event] = await events_of(store, body)
    assert event.in_trial


async def test_without_an_app_account_token_the_customer_linked_to_the_original_transaction_buys(
    store: SigningAppStore,
) -> None:
    purchase = subscription_transaction(
        "1000000002", product_id=PRODUCT, purchased_at=SIGNED_AT, expires_at=later(SIGNED_AT, 30)
    )
    body = store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=SIGNED_AT, transaction=purchase)
    [event] = await events_of(store, body, Directory(identities={"1000000002": "cus_2"}))
    assert event.customer_id == "cus_2"


async def test_a_purchase_of_an_unlinked_customer_is_refused_so_that_apple_redelivers(store: SigningAppStore) -> None:
    body = store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=SIGNED_AT, transaction=transaction())
    with pytest.raises(ChannelCustomerUnknown):
        await events_of(store, body, Directory(identities={}))


# --- through the gateway: configuration and the channel seat ------------------------------------------


@pytest.fixture
def suite() -> FakeSuite:
    return FakeSuite()


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    directory = Directory()
    adapters = ChannelAdapters()
    gateway = suite.gateway(adapters)
    adapters.register(
        Channel.APP_STORE,
        AppStoreVerifier(StoredAppStoreApps(Units(suite.uow))),
        AppStoreNormalizer(peers_of(directory)),
    )
    return gateway


def create_request(store: SigningAppStore, request_id: str = "r1") -> ca.CreateAppStoreAppRequest:
    app = ca.AppStoreApp(
        app_id="ios",
        bundle_id="com.example.app",
        environment=ca.APP_STORE_ENVIRONMENT_PRODUCTION,
        root_certificate_pem=store.root_pem,
        app_apple_id=1234,
        storefront_id="us",
    )
    return ca.CreateAppStoreAppRequest(request_id=request_id, app=app)


async def test_an_admin_configures_an_app_and_its_notifications_are_applied_once(
    suite: FakeSuite, gateway: Gateway, store: SigningAppStore
) -> None:
    admin = caller(Role.ADMIN)
    with admin.scope():
        created = await gateway.channels.create_app_store_app(admin, create_request(store))
        got = await gateway.channels.get_app_store_app(admin, ca.GetAppStoreAppRequest(app_id="ios"))
    assert got.app == created.app
    assert created.app.notification_path == f"/v1/channels/app-store/{TENANT.id}/ios/notifications"
    body = store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=SIGNED_AT, transaction=transaction())
    first = await gateway.channels.receive_notification(Channel.APP_STORE, TENANT.id, raw(body))
    again = await gateway.channels.receive_notification(Channel.APP_STORE, TENANT.id, raw(body))
    assert [a.outcome for a in first.applied] == ["APPLIED"]
    assert again == first
    [(tenant, event)] = suite.lifecycle.applied
    assert (tenant, event.kind, event.customer_id) == (TENANT.id, K.CHANNEL_EVENT_KIND_PURCHASED, "cus_1")


async def test_apps_are_listed_by_id_a_page_at_a_time(gateway: Gateway, store: SigningAppStore) -> None:
    admin = caller(Role.ADMIN)
    with admin.scope():
        for index, app_id in enumerate(["tv", "ios", "mac"]):
            request = create_request(store, f"r{index}")
            request.app.app_id = app_id
            await gateway.channels.create_app_store_app(admin, request)
        first = await gateway.channels.list_app_store_apps(admin, ca.ListAppStoreAppsRequest(page_size=2))
        rest = await gateway.channels.list_app_store_apps(
            admin, ca.ListAppStoreAppsRequest(page_size=2, page_token=first.next_page_token)
        )
    assert [a.app_id for a in first.apps] == ["ios", "mac"]
    assert ([a.app_id for a in rest.apps], rest.next_page_token) == (["tv"], "")


async def test_a_notification_for_another_tenants_app_is_not_found(gateway: Gateway, store: SigningAppStore) -> None:
    admin = caller(Role.ADMIN)
    with admin.scope():
        await gateway.channels.create_app_store_app(admin, create_request(store))
    body = store.notification("TEST", signed_at=SIGNED_AT)
    other = RawNotification(body=body, headers={}, tenant_id="ten_other", app_id="ios")
    with pytest.raises(ChannelAppNotFound):
        await gateway.channels.receive_notification(Channel.APP_STORE, "ten_other", other)


async def test_an_app_id_is_taken_once_and_a_retry_answers_the_first_answer(
    gateway: Gateway, store: SigningAppStore
) -> None:
    admin = caller(Role.ADMIN)
    with admin.scope():
        first = await gateway.channels.create_app_store_app(admin, create_request(store))
        assert await gateway.channels.create_app_store_app(admin, create_request(store)) == first
        with pytest.raises(ChannelAppAlreadyExists):
            await gateway.channels.create_app_store_app(admin, create_request(store, "r2"))


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"root_certificate_pem": "not a certificate"}, "app.root_certificate_pem"),
        ({"app_id": "Bad Id"}, "app.app_id"),
        ({"bundle_id": ""}, "app.bundle_id"),
        ({"environment": ca.APP_STORE_ENVIRONMENT_UNSPECIFIED}, "app.environment"),
    ],
)
async def test_an_app_without_a_trusted_root_or_a_valid_shape_is_refused(
    gateway: Gateway, store: SigningAppStore, change: dict[str, Any], field_name: str
) -> None:
    request = create_request(store)
    for name, value in change.items():
        setattr(request.app, name, value)
    admin = caller(Role.ADMIN)
    with admin.scope(), pytest.raises(InvalidArgument) as refused:
        await gateway.channels.create_app_store_app(admin, request)
    assert field_name in str(refused.value.metadata) + str(refused.value)


async def test_a_leaf_certificate_is_not_a_trusted_root(gateway: Gateway, store: SigningAppStore) -> None:
    request = create_request(store)
    request.app.root_certificate_pem = store.leaf.public_bytes(serialization.Encoding.PEM).decode()
    admin = caller(Role.ADMIN)
    with admin.scope(), pytest.raises(InvalidArgument):
        await gateway.channels.create_app_store_app(admin, request)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER, Role.PUBLISHABLE])
async def test_only_managers_and_admins_manage_channel_apps(
    gateway: Gateway, store: SigningAppStore, role: Role
) -> None:
    who = caller(role)
    with who.scope():
        with pytest.raises(RolePermissionMissing):
            await gateway.channels.create_app_store_app(who, create_request(store))
        with pytest.raises(RolePermissionMissing):
            await gateway.channels.get_app_store_app(who, ca.GetAppStoreAppRequest(app_id="ios"))
        with pytest.raises(RolePermissionMissing):
            await gateway.channels.list_app_store_apps(who, ca.ListAppStoreAppsRequest())
