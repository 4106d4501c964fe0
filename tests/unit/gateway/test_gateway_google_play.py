"""Google Play RTDN: the push's OIDC token verified against the test's JWKS, the purchase read, every type mapped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import jwt
import pytest

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.google_play import (
    GooglePlayAcknowledger,
    GooglePlayNormalizer,
    GooglePlayVerifier,
    state_kinds,
)
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.domain.channel_accounts import GooglePlayApp
from azotte_gateway.domain.channels import RawNotification, TrustedNotification
from azotte_gateway.domain.permissions import Role
from azotte_gateway.errors import (
    ChannelAppAlreadyExists,
    ChannelAppNotFound,
    ChannelCustomerUnknown,
    ChannelNotificationRejected,
    RolePermissionMissing,
)
from azotte_gateway.ports import Peers
from azotte_gateway.sandbox_channels.google_play_signing import (
    PUSH_ACCOUNT,
    SigningGoogle,
    purchase_state,
    push,
    rfc3339,
    subscription_notification,
)
from azotte_gateway.service_layer.channel_accounts import StoredGooglePlayApps
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform import context
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_platform.service_kit import Units
from tests.unit.gateway.fakes import TENANT, FakeSuite, caller

K = lc.ChannelEventKind
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PACKAGE = "com.example.ott"
AUDIENCE = "https://gateway.example.com/play"
TOKEN = "purchase-token-1"
ACTIVE, CANCELED, GRACE = (
    "SUBSCRIPTION_STATE_ACTIVE",
    "SUBSCRIPTION_STATE_CANCELED",
    "SUBSCRIPTION_STATE_IN_GRACE_PERIOD",
)
ON_HOLD, PAUSED, EXPIRED = "SUBSCRIPTION_STATE_ON_HOLD", "SUBSCRIPTION_STATE_PAUSED", "SUBSCRIPTION_STATE_EXPIRED"
PENDING = "SUBSCRIPTION_STATE_PENDING"


@pytest.fixture(scope="module")
def google() -> SigningGoogle:
    return SigningGoogle()


def app_of(google: SigningGoogle) -> GooglePlayApp:
    return GooglePlayApp(
        tenant_id=TENANT.id,
        app_id="android",
        package_name=PACKAGE,
        push_audience=AUDIENCE,
        push_service_account_email=PUSH_ACCOUNT,
        service_account_key_json=google.service_account_json(),
        storefront_id="us",
    )


@dataclass
class Keys:
    """The test's JWKS, as the verifier reads Google's certificates."""

    google: SigningGoogle

    async def key(self, kid: str) -> jwt.PyJWK | None:
        keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(self.google.jwks()).keys}
        return keys.get(kid)


@dataclass
class Play:
    """The Play Developer API: one purchase state per token; acknowledgements recorded."""

    purchases: dict[str, dict[str, Any]] = field(default_factory=dict)
    acknowledged: list[tuple[str, str]] = field(default_factory=list)

    async def subscription(self, app: GooglePlayApp, purchase_token: str) -> dict[str, Any]:
        if purchase_token not in self.purchases:
            raise ChannelNotificationRejected("unknown token")
        return self.purchases[purchase_token]

    async def acknowledge(self, app: GooglePlayApp, product_id: str, purchase_token: str) -> None:
        self.acknowledged.append((product_id, purchase_token))
        if purchase_token in self.purchases:
            self.purchases[purchase_token]["acknowledgementState"] = "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED"


@dataclass
class Apps:
    apps: dict[tuple[str, str], GooglePlayApp]

    async def find(self, tenant_id: str, app_id: str) -> GooglePlayApp | None:
        return self.apps.get((tenant_id, app_id))


@dataclass
class Directory:
    """Lifecycle's linked identities and catalog's GOOGLE_PLAY mappings."""

    identities: dict[str, str] = field(default_factory=lambda: {"acct-1": "cus_1"})
    links: list[tuple[str, str]] = field(default_factory=list)

    async def FindCustomerByChannelIdentity(
        self, request: lc.FindCustomerByChannelIdentityRequest
    ) -> lc.FindCustomerByChannelIdentityResponse:
        customer_id = self.identities.get(request.identity.value)
        if customer_id is None:
            raise NotFound("no customer")
        return lc.FindCustomerByChannelIdentityResponse(customer=lc.Customer(id=customer_id))

    async def LinkChannelIdentity(self, request: lc.LinkChannelIdentityRequest) -> lc.LinkChannelIdentityResponse:
        self.identities[request.identity.value] = request.customer_id
        self.links.append((request.customer_id, request.identity.value))
        return lc.LinkChannelIdentityResponse()

    async def ResolveChannelProduct(
        self, request: cat.ResolveChannelProductRequest
    ) -> cat.ResolveChannelProductResponse:
        if request.external_product_id != "premium:monthly":
            raise NotFound("no mapping")
        return cat.ResolveChannelProductResponse(channel_mapping=cat.ChannelMapping(plan_id="premium"))


def peers_of(directory: Directory) -> Peers:
    return cast(Peers, SimpleNamespace(lifecycle=directory, catalog=directory))


def raw(google: SigningGoogle, body: bytes, token: str | None = None, app_id: str = "android") -> RawNotification:
    headers = {"authorization": f"Bearer {token or google.push_token(AUDIENCE)}"}
    return RawNotification(body=body, headers=headers, tenant_id=TENANT.id, app_id=app_id)


def verifier(google: SigningGoogle, play: Play) -> GooglePlayVerifier:
    return GooglePlayVerifier(Apps({(TENANT.id, "android"): app_of(google)}), Keys(google), play)


def state(kind: str = ACTIVE, **extra: Any) -> dict[str, Any]:
    return purchase_state(kind, expires_at=AT + timedelta(days=30), account="acct-1", **extra)


async def events_of(
    google: SigningGoogle, notification_type: int, purchase: dict[str, Any], directory: Directory | None = None
) -> Sequence[lc.ChannelEvent]:
    play = Play({TOKEN: purchase})
    body = push(subscription_notification(PACKAGE, notification_type, TOKEN, AT), "m-1")
    trusted = await verifier(google, play).verify(raw(google, body))
    with context.tenant_scope(TENANT.id):
        return await GooglePlayNormalizer(peers_of(directory or Directory())).normalize(trusted)


# --- verification ---------------------------------------------------------------------------------


async def test_a_push_with_the_apps_oidc_token_is_trusted_with_the_purchase_read_from_google(
    google: SigningGoogle,
) -> None:
    play = Play({TOKEN: state()})
    body = push(subscription_notification(PACKAGE, 2, TOKEN, AT), "m-42")
    trusted = await verifier(google, play).verify(raw(google, body))
    assert trusted.notification_id.startswith("android/m-42/")
    assert trusted.payload["purchase"]["subscriptionState"] == ACTIVE


@pytest.mark.parametrize(
    ("token_of", "why"),
    [
        (lambda g: g.push_token(AUDIENCE, key=SigningGoogle().push_key), "signed by another key"),
        (lambda g: g.push_token("https://elsewhere.example.com"), "another audience"),
        (lambda g: g.push_token(AUDIENCE, email="someone@evil.example.com"), "another service account"),
        (lambda g: g.push_token(AUDIENCE, email_verified=False), "email not verified"),
        (lambda g: g.push_token(AUDIENCE, issuer="https://evil.example.com"), "another issuer"),
        (lambda g: g.push_token(AUDIENCE, expires_in=-120), "expired"),
        (lambda g: "not-a-jwt", "not a JWT"),
        (
            lambda g: jwt.encode({"aud": AUDIENCE, "email": PUSH_ACCOUNT}, "s" * 32, algorithm="HS256"),
            "HS256",
        ),
    ],
)
async def test_a_push_whose_token_fails_any_check_is_rejected_before_google_is_asked(
    google: SigningGoogle, token_of: Any, why: str
) -> None:
    play = Play({TOKEN: state()})
    body = push(subscription_notification(PACKAGE, 4, TOKEN, AT))
    with pytest.raises(ChannelNotificationRejected):
        await verifier(google, play).verify(raw(google, body, token=token_of(google)))


async def test_a_stored_push_is_verified_again_after_its_token_expired_but_never_with_another_signature(
    google: SigningGoogle,
) -> None:
    """The inbox retries a push hours later: its token's hour was judged when it arrived, its signature never lapses."""
    play = Play({TOKEN: state()})
    body = push(subscription_notification(PACKAGE, 4, TOKEN, AT))
    expired = google.push_token(AUDIENCE, expires_in=-7200)
    stored = replace(raw(google, body, token=expired), stored=True)
    assert (await verifier(google, play).verify(stored)).payload["purchase"]["subscriptionState"] == ACTIVE
    with pytest.raises(ChannelNotificationRejected):
        await verifier(google, play).verify(replace(stored, stored=False))
    forged = google.push_token(AUDIENCE, key=SigningGoogle().push_key, expires_in=-7200)
    with pytest.raises(ChannelNotificationRejected):
        await verifier(google, play).verify(replace(raw(google, body, token=forged), stored=True))


async def test_a_push_without_a_token_another_package_or_a_garbled_body_is_rejected(google: SigningGoogle) -> None:
    play = Play({TOKEN: state()})
    good = push(subscription_notification(PACKAGE, 4, TOKEN, AT))
    unsigned = RawNotification(body=good, headers={}, tenant_id=TENANT.id, app_id="android")
    for notification in (
        unsigned,
        raw(google, push(subscription_notification("com.other.app", 4, TOKEN, AT))),
        raw(google, b'{"message": {"data": "%%%", "messageId": "1"}}'),
        raw(google, b"[]"),
    ):
        with pytest.raises(ChannelNotificationRejected):
            await verifier(google, play).verify(notification)


async def test_a_redelivery_reading_the_same_state_is_the_same_notification_and_a_changed_state_a_new_one(
    google: SigningGoogle,
) -> None:
    play = Play({TOKEN: state()})
    body = push(subscription_notification(PACKAGE, 4, TOKEN, AT), "m-5")
    first = await verifier(google, play).verify(raw(google, body))
    play.purchases[TOKEN]["acknowledgementState"] = "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED"
    acknowledged = await verifier(google, play).verify(raw(google, body))
    play.purchases[TOKEN] = state(EXPIRED)
    changed = await verifier(google, play).verify(raw(google, body))
    assert first.notification_id == acknowledged.notification_id != changed.notification_id


async def test_a_push_for_an_unknown_app_is_not_found(google: SigningGoogle) -> None:
    body = push(subscription_notification(PACKAGE, 4, TOKEN, AT))
    with pytest.raises(ChannelAppNotFound):
        await verifier(google, Play()).verify(raw(google, body, app_id="ios"))


# --- normalization --------------------------------------------------------------------------------

# Every SubscriptionNotification.notificationType, with the state Google answers after it.
EVERY_TYPE = [
    (1, "RECOVERED", ACTIVE, [K.CHANNEL_EVENT_KIND_RECOVERED]),
    (2, "RENEWED", ACTIVE, [K.CHANNEL_EVENT_KIND_RENEWED]),
    (3, "CANCELED", CANCELED, [K.CHANNEL_EVENT_KIND_AUTO_RENEW_OFF]),
    (4, "PURCHASED", ACTIVE, [K.CHANNEL_EVENT_KIND_PURCHASED]),
    (5, "ON_HOLD", ON_HOLD, [K.CHANNEL_EVENT_KIND_ON_HOLD]),
    (6, "IN_GRACE_PERIOD", GRACE, [K.CHANNEL_EVENT_KIND_RENEWAL_FAILED_IN_GRACE]),
    (7, "RESTARTED", ACTIVE, [K.CHANNEL_EVENT_KIND_AUTO_RENEW_ON]),
    (8, "PRICE_CHANGE_CONFIRMED", ACTIVE, []),
    (9, "DEFERRED", ACTIVE, [K.CHANNEL_EVENT_KIND_RENEWED]),
    (10, "PAUSED", PAUSED, [K.CHANNEL_EVENT_KIND_PAUSED]),
    (11, "PAUSE_SCHEDULE_CHANGED", ACTIVE, []),
    (12, "REVOKED", EXPIRED, [K.CHANNEL_EVENT_KIND_REVOKED]),
    (13, "EXPIRED", EXPIRED, [K.CHANNEL_EVENT_KIND_EXPIRED]),
    (19, "PRICE_CHANGE_UPDATED", ACTIVE, []),
    (20, "PENDING_PURCHASE_CANCELED", "SUBSCRIPTION_STATE_PENDING_PURCHASE_CANCELED", []),
]


@pytest.mark.parametrize(("code", "name", "read", "kinds"), EVERY_TYPE, ids=[t[1] for t in EVERY_TYPE])
async def test_every_notification_type_is_mapped_with_the_state_read(
    google: SigningGoogle, code: int, name: str, read: str, kinds: list[int]
) -> None:
    purchase = state(read, auto_resume_at=AT + timedelta(days=7))
    events = await events_of(google, code, purchase)
    assert [e.kind for e in events] == kinds
    for event in events:
        assert event.identity.value == TOKEN and event.occur_time.ToDatetime(UTC) == AT
    if kinds == [K.CHANNEL_EVENT_KIND_PAUSED]:
        assert events[0].resume_time.ToDatetime(UTC) == AT + timedelta(days=7)


# What each state read means for access, whatever notification type (late, repeated) led to reading it.
STATE_EVENT = {
    CANCELED: K.CHANNEL_EVENT_KIND_AUTO_RENEW_OFF,
    GRACE: K.CHANNEL_EVENT_KIND_RENEWAL_FAILED_IN_GRACE,
    ON_HOLD: K.CHANNEL_EVENT_KIND_ON_HOLD,
    PAUSED: K.CHANNEL_EVENT_KIND_PAUSED,
}
GRANTING = {K.CHANNEL_EVENT_KIND_PURCHASED, K.CHANNEL_EVENT_KIND_RENEWED, K.CHANNEL_EVENT_KIND_RECOVERED}


@pytest.mark.parametrize("read", [ACTIVE, CANCELED, GRACE, ON_HOLD, PAUSED, EXPIRED, PENDING])
@pytest.mark.parametrize("code", [t[0] for t in EVERY_TYPE])
def test_whatever_the_type_the_last_event_is_the_state_read(code: int, read: str) -> None:
    kinds = state_kinds(code, read)
    if not kinds:
        assert code in (8, 11, 19, 20) or read == PENDING
    elif read == ACTIVE:
        assert kinds[-1] in GRANTING | {K.CHANNEL_EVENT_KIND_AUTO_RENEW_ON}
    elif read == EXPIRED:
        assert kinds in ([K.CHANNEL_EVENT_KIND_EXPIRED], [K.CHANNEL_EVENT_KIND_REVOKED])
    else:
        # A paid purchase first starts the subscription; the state read is always applied last.
        assert kinds[-1] == STATE_EVENT[read] and set(kinds[:-1]) <= {K.CHANNEL_EVENT_KIND_PURCHASED}


async def test_a_purchase_carries_its_customer_plan_storefront_and_period_and_links_its_token(
    google: SigningGoogle,
) -> None:
    directory = Directory()
    [event] = await events_of(google, 4, state(), directory)
    assert (event.customer_id, event.plan_id, event.storefront_id) == ("cus_1", "premium", "us")
    assert event.period_end_time.ToDatetime(UTC) == AT + timedelta(days=30)
    assert event.event_id.startswith("google_play:android/m-1/") and not event.in_trial
    assert directory.links == [("cus_1", TOKEN)]


async def test_the_state_read_wins_over_a_late_notification(google: SigningGoogle) -> None:
    # A RENEWED delivered after the subscription expired applies the expiry, never a renewal.
    assert [e.kind for e in await events_of(google, 2, state(EXPIRED))] == [K.CHANNEL_EVENT_KIND_EXPIRED]
    # A purchase delivered after the subscriber cancelled starts the subscription, then schedules its end.
    kinds = [e.kind for e in await events_of(google, 4, state(CANCELED))]
    assert kinds == [K.CHANNEL_EVENT_KIND_PURCHASED, K.CHANNEL_EVENT_KIND_AUTO_RENEW_OFF]
    assert state_kinds(4, PENDING) == [] and state_kinds(2, "SUBSCRIPTION_STATE_UNSPECIFIED") == []


async def test_an_upgrade_ends_the_linked_tokens_subscription_before_the_new_one_starts(
    google: SigningGoogle,
) -> None:
    directory = Directory(identities={"old-token": "cus_7"})
    purchase = purchase_state(ACTIVE, expires_at=AT + timedelta(days=30), linked_token="old-token")
    events = await events_of(google, 4, purchase, directory)
    assert [(e.kind, e.identity.value) for e in events] == [
        (K.CHANNEL_EVENT_KIND_EXPIRED, "old-token"),
        (K.CHANNEL_EVENT_KIND_PURCHASED, TOKEN),
    ]
    assert events[1].customer_id == "cus_7"


async def test_a_purchase_of_no_known_customer_or_an_unmapped_product_is_refused(google: SigningGoogle) -> None:
    with pytest.raises(ChannelCustomerUnknown):
        await events_of(google, 4, state(), Directory(identities={}))
    with pytest.raises(NotFound):
        await events_of(google, 4, state(base_plan="weekly"))


async def test_a_voided_subscription_is_a_refund_and_a_test_notification_is_nothing(google: SigningGoogle) -> None:
    base = {"version": "1.0", "packageName": PACKAGE, "eventTimeMillis": str(int(AT.timestamp() * 1000))}
    voided = {**base, "voidedPurchaseNotification": {"purchaseToken": TOKEN, "orderId": "GPA.1", "productType": 1}}
    test = {**base, "testNotification": {"version": "1.0"}}
    normalizer = GooglePlayNormalizer(peers_of(Directory()))
    results = []
    for notification in (voided, test):
        trusted = await verifier(google, Play()).verify(raw(google, push(notification, "v-1")))
        results.append([(e.kind, e.identity.value) for e in await normalizer.normalize(trusted)])
    assert results == [[(K.CHANNEL_EVENT_KIND_REFUNDED, TOKEN)], []]


async def test_a_paid_purchase_pending_acknowledgement_is_acknowledged_once_applied(google: SigningGoogle) -> None:
    play = Play()
    app = app_of(google)
    notification = subscription_notification(PACKAGE, 4, TOKEN, AT)
    for purchase in (state(), state(acknowledged=True), state(PENDING)):
        payload = {"app": app, "notification": notification, "purchase": purchase}
        await GooglePlayAcknowledger(play).acknowledge(TrustedNotification("m", payload))
    assert play.acknowledged == [("premium", TOKEN)]


# --- through the gateway --------------------------------------------------------------------------


def create_request(
    google: SigningGoogle, request_id: str = "r1", app_id: str = "android"
) -> ca.CreateGooglePlayAppRequest:
    app = ca.GooglePlayApp(
        app_id=app_id,
        package_name=PACKAGE,
        push_audience=AUDIENCE,
        push_service_account_email=PUSH_ACCOUNT,
        service_account_key_json=google.service_account_json(),
        storefront_id="us",
    )
    return ca.CreateGooglePlayAppRequest(request_id=request_id, app=app)


@pytest.fixture
def suite() -> FakeSuite:
    suite = FakeSuite()
    suite.lifecycle.add_customer("cus_1")
    return suite


def gateway_of(suite: FakeSuite, google: SigningGoogle, play: Play) -> Gateway:
    adapters = ChannelAdapters()
    apps = StoredGooglePlayApps(Units(suite.uow))
    directory = Directory()
    peers = cast(Peers, SimpleNamespace(lifecycle=directory, catalog=directory))
    adapters.register(
        Channel.GOOGLE_PLAY,
        GooglePlayVerifier(apps, Keys(google), play),
        GooglePlayNormalizer(peers),
        GooglePlayAcknowledger(play),
    )
    return suite.gateway(adapters)


async def test_a_configured_app_takes_pushes_and_a_redelivery_is_applied_once(
    suite: FakeSuite, google: SigningGoogle
) -> None:
    play = Play({TOKEN: state()})
    gateway = gateway_of(suite, google, play)
    admin = caller(Role.ADMIN)
    with admin.scope():
        created = await gateway.channel_accounts.create_google_play_app(admin, create_request(google))
        got = await gateway.channel_accounts.get_google_play_app(admin, ca.GetGooglePlayAppRequest(app_id="android"))
    assert got.app == created.app
    assert created.app.notification_path == f"/v1/channels/google-play/{TENANT.id}/android/notifications"
    assert created.app.service_account_email and not created.app.service_account_key_json
    body = push(subscription_notification(PACKAGE, 4, TOKEN, AT), "m-9")
    first = await gateway.channels.receive_notification(Channel.GOOGLE_PLAY, TENANT.id, raw(google, body))
    again = await gateway.channels.receive_notification(Channel.GOOGLE_PLAY, TENANT.id, raw(google, body))
    assert [a.outcome for a in first.applied] == ["APPLIED"] and again == first
    [(tenant, event)] = suite.lifecycle.applied
    assert (tenant, event.kind, event.customer_id) == (TENANT.id, K.CHANNEL_EVENT_KIND_PURCHASED, "cus_1")
    assert play.acknowledged == [("premium", TOKEN)]


async def test_a_forged_push_applies_nothing(suite: FakeSuite, google: SigningGoogle) -> None:
    gateway = gateway_of(suite, google, Play({TOKEN: state()}))
    admin = caller(Role.ADMIN)
    with admin.scope():
        await gateway.channel_accounts.create_google_play_app(admin, create_request(google))
    body = push(subscription_notification(PACKAGE, 4, TOKEN, AT))
    forged = raw(google, body, token=SigningGoogle().push_token(AUDIENCE))
    with pytest.raises(ChannelNotificationRejected):
        await gateway.channels.receive_notification(Channel.GOOGLE_PLAY, TENANT.id, forged)
    assert suite.lifecycle.applied == []


async def test_an_app_id_is_taken_once_and_apps_are_listed_a_page_at_a_time(
    suite: FakeSuite, google: SigningGoogle
) -> None:
    gateway = gateway_of(suite, google, Play())
    admin = caller(Role.ADMIN)
    with admin.scope():
        for index, app_id in enumerate(["tv", "android", "wear"]):
            await gateway.channel_accounts.create_google_play_app(admin, create_request(google, f"r{index}", app_id))
        with pytest.raises(ChannelAppAlreadyExists):
            await gateway.channel_accounts.create_google_play_app(admin, create_request(google, "r9"))
        first = await gateway.channel_accounts.list_google_play_apps(admin, ca.ListGooglePlayAppsRequest(page_size=2))
        rest = await gateway.channel_accounts.list_google_play_apps(
            admin, ca.ListGooglePlayAppsRequest(page_size=2, page_token=first.next_page_token)
        )
    assert [a.app_id for a in first.apps] == ["android", "tv"] and [a.app_id for a in rest.apps] == ["wear"]


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"service_account_key_json": "{}"}, "app.service_account_key_json"),
        ({"service_account_key_json": "not json"}, "app.service_account_key_json"),
        ({"app_id": "Bad Id"}, "app.app_id"),
        ({"package_name": ""}, "app.package_name"),
        ({"push_audience": ""}, "app.push_audience"),
        ({"push_service_account_email": ""}, "app.push_service_account_email"),
    ],
)
async def test_an_app_of_a_bad_shape_is_refused_naming_the_field(
    suite: FakeSuite, google: SigningGoogle, change: dict[str, str], field_name: str
) -> None:
    request = create_request(google)
    for name, value in change.items():
        setattr(request.app, name, value)
    admin = caller(Role.ADMIN)
    with admin.scope(), pytest.raises(InvalidArgument) as refused:
        await gateway_of(suite, google, Play()).channel_accounts.create_google_play_app(admin, request)
    assert [v.field for v in refused.value.violations] == [field_name]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER, Role.PUBLISHABLE])
async def test_only_managers_and_admins_manage_google_play_apps(
    suite: FakeSuite, google: SigningGoogle, role: Role
) -> None:
    gateway = gateway_of(suite, google, Play())
    who = caller(role)
    with who.scope():
        with pytest.raises(RolePermissionMissing):
            await gateway.channel_accounts.create_google_play_app(who, create_request(google))
        with pytest.raises(RolePermissionMissing):
            await gateway.channel_accounts.get_google_play_app(who, ca.GetGooglePlayAppRequest(app_id="android"))
        with pytest.raises(RolePermissionMissing):
            await gateway.channel_accounts.list_google_play_apps(who, ca.ListGooglePlayAppsRequest())


def test_timestamps_are_written_as_google_writes_them() -> None:
    assert rfc3339(AT) == "2026-03-01T12:00:00.000Z"
