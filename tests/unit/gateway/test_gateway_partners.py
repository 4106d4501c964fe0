"""Partners: signed requests verified with each partner's key, replays refused, events answered one by one."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.permissions import Role
from azotte_gateway.errors import (
    ChannelAppAlreadyExists,
    ChannelAppNotFound,
    ChannelNotificationRejected,
    RolePermissionMissing,
)
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import InvalidArgument, NotFound
from tests.unit.gateway.fakes import NOW, TENANT, FakeSuite, caller

K = lc.ChannelEventKind
PRODUCT = "BUNDLE-PREMIUM"
PRIVATE = serialization.PrivateFormat.PKCS8


def public_pem(key: Any) -> str:
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return str(public.decode())


class PartnerCatalog:
    async def ResolveChannelProduct(
        self, request: cat.ResolveChannelProductRequest
    ) -> cat.ResolveChannelProductResponse:
        if request.external_product_id != PRODUCT:
            raise NotFound("no mapping")
        return cat.ResolveChannelProductResponse(
            channel_mapping=cat.ChannelMapping(plan_id="premium", storefront_id="us")
        )


class Identities:
    """Lifecycle's customers by partner subscriber id, in front of the fake lifecycle's customers."""

    def __init__(self, suite: FakeSuite):
        self.create = suite.lifecycle.CreateCustomer
        self.by_identity: dict[tuple[str, str], str] = {}

    async def FindCustomerByChannelIdentity(
        self, request: lc.FindCustomerByChannelIdentityRequest
    ) -> lc.FindCustomerByChannelIdentityResponse:
        found = self.by_identity.get((request.identity.issuer, request.identity.value))
        if found is None:
            raise NotFound("no customer")
        return lc.FindCustomerByChannelIdentityResponse(customer=lc.Customer(id=found))

    async def CreateCustomer(self, request: lc.CreateCustomerRequest) -> lc.CreateCustomerResponse:
        created = await self.create(request)
        for identity in request.identities:
            self.by_identity[(identity.issuer, identity.value)] = created.customer.id
        return created


@pytest.fixture
def suite() -> FakeSuite:
    suite = FakeSuite()
    identities = Identities(suite)
    # NOTE: the fakes answer partner products and identities as catalog and lifecycle would.
    suite.catalog.ResolveChannelProduct = PartnerCatalog().ResolveChannelProduct  # type: ignore[attr-defined]
    suite.lifecycle.FindCustomerByChannelIdentity = identities.FindCustomerByChannelIdentity  # type: ignore[attr-defined]
    suite.lifecycle.CreateCustomer = identities.CreateCustomer  # type: ignore[method-assign]
    return suite


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


def signed(
    key: Any, alg: str, events: list[Any], *, kid: str = "bundle", iat: float | None = None, jti: str = ""
) -> str:
    claims = {"iat": int(iat if iat is not None else NOW.timestamp()), "jti": jti or uuid.uuid4().hex, "events": events}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def event(kind: str = "activate", event_id: str = "e-1", **extra: Any) -> dict[str, Any]:
    now = NOW - timedelta(minutes=1)
    return {
        "event_id": event_id,
        "type": kind,
        "subscriber_id": "s-42",
        "product_code": PRODUCT,
        "occur_time": now.isoformat(),
        "period_end": (now + timedelta(days=30)).isoformat(),
        **extra,
    }


async def configure(gateway: Gateway, key: Any, partner_id: str = "bundle", request_id: str = "r1") -> ca.Partner:
    admin = caller(Role.ADMIN)
    partner = ca.Partner(partner_id=partner_id, display_name="Bundle Co", public_key_pem=public_pem(key))
    with admin.scope():
        created = await gateway.channel_accounts.create_partner(
            admin, ca.CreatePartnerRequest(request_id=request_id, partner=partner)
        )
    return created.partner


@pytest.mark.parametrize(
    ("make_key", "alg"),
    [(ed25519.Ed25519PrivateKey.generate, "EdDSA"), (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256")],
)
async def test_a_signed_activation_creates_the_subscriber_and_its_subscription_once(
    suite: FakeSuite, gateway: Gateway, make_key: Any, alg: str
) -> None:
    key = make_key()
    partner = await configure(gateway, key)
    assert (partner.algorithm, partner.events_path) == (alg, f"/v1/channels/partners/{TENANT.id}/bundle/events")
    first = await gateway.channel_accounts.receive_partner_events(TENANT.id, "bundle", signed(key, alg, [event()]))
    # The partner sends the same event again, in a new request (a new jti): applied once.
    again = await gateway.channel_accounts.receive_partner_events(TENANT.id, "bundle", signed(key, alg, [event()]))
    assert [a.error for a in first] == [None] and again == first
    [(tenant, applied)] = suite.lifecycle.applied
    assert (tenant, applied.kind, applied.plan_id, applied.storefront_id) == (
        TENANT.id,
        K.CHANNEL_EVENT_KIND_PURCHASED,
        "premium",
        "us",
    )
    assert applied.channel == channel_pb2.CHANNEL_PARTNER
    assert (applied.identity.issuer, applied.identity.value) == ("bundle", f"s-42/{PRODUCT}")
    assert applied.customer_id


async def test_each_kind_maps_to_its_lifecycle_event_and_a_bad_event_names_its_field(
    suite: FakeSuite, gateway: Gateway
) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    await configure(gateway, key)
    kinds = ["activate", "renew", "suspend", "resume", "cancel", "expire"]
    events: list[Any] = [event(kind, f"e-{kind}") for kind in kinds]
    events += [
        event("activate", "e-unknown", product_code="NOPE"),
        event("renew", "e-no-end", period_end=""),
        event("upgrade", "e-bad-type"),
        {"type": "renew"},
        "not an object",
    ]
    answers = await gateway.channel_accounts.receive_partner_events(TENANT.id, "bundle", signed(key, "EdDSA", events))
    assert [e.kind for _, e in suite.lifecycle.applied] == [
        K.CHANNEL_EVENT_KIND_PURCHASED,
        K.CHANNEL_EVENT_KIND_RENEWED,
        K.CHANNEL_EVENT_KIND_ON_HOLD,
        K.CHANNEL_EVENT_KIND_RESUMED,
        K.CHANNEL_EVENT_KIND_AUTO_RENEW_OFF,
        K.CHANNEL_EVENT_KIND_EXPIRED,
    ]
    refused = [(a.event_id, [v.field for v in getattr(a.error, "violations", [])]) for a in answers[len(kinds) :]]
    assert refused == [
        ("e-unknown", ["events[6].product_code"]),
        ("e-no-end", ["events[7].period_end"]),
        ("e-bad-type", ["events[8].type"]),
        ("", ["events[9].event_id"]),
        ("", ["events[10]"]),
    ]


async def test_a_request_failing_any_check_applies_nothing(suite: FakeSuite, gateway: Gateway) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    await configure(gateway, key)
    replayed = signed(key, "EdDSA", [event()], jti="once")
    await gateway.channel_accounts.receive_partner_events(TENANT.id, "bundle", replayed)
    applied = list(suite.lifecycle.applied)
    forged = [
        signed(ed25519.Ed25519PrivateKey.generate(), "EdDSA", [event(event_id="e-2")]),
        signed(key, "EdDSA", [event(event_id="e-2")], iat=NOW.timestamp() - 400),
        signed(key, "EdDSA", [event(event_id="e-2")], iat=NOW.timestamp() + 400),
        signed(key, "EdDSA", [event(event_id="e-2")], kid="other"),
        signed(ec.generate_private_key(ec.SECP256R1()), "ES256", [event(event_id="e-2")]),
        jwt.encode(
            {"iat": int(NOW.timestamp()), "jti": "x", "events": []},
            "s" * 32,
            algorithm="HS256",
            headers={"kid": "bundle"},
        ),
        "not.a.jws",
        replayed,
    ]
    for token in forged:
        with pytest.raises(ChannelNotificationRejected):
            await gateway.channel_accounts.receive_partner_events(TENANT.id, "bundle", token)
    assert suite.lifecycle.applied == applied
    with pytest.raises(ChannelAppNotFound):
        await gateway.channel_accounts.receive_partner_events(TENANT.id, "nobody", signed(key, "EdDSA", [event()]))
    with pytest.raises(InvalidArgument):
        await gateway.channel_accounts.receive_partner_events(TENANT.id, "bundle", signed(key, "EdDSA", []))


async def test_a_partner_needs_an_ed25519_or_p256_key_and_its_id_is_taken_once(gateway: Gateway) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    await configure(gateway, key)
    with pytest.raises(ChannelAppAlreadyExists):
        await configure(gateway, key, request_id="r2")
    for bad in ("not a key", public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))):
        with pytest.raises(InvalidArgument) as refused:
            admin = caller(Role.ADMIN)
            partner = ca.Partner(partner_id="p2", public_key_pem=bad)
            with admin.scope():
                await gateway.channel_accounts.create_partner(
                    admin, ca.CreatePartnerRequest(request_id=uuid.uuid4().hex, partner=partner)
                )
        assert [v.field for v in refused.value.violations] == ["partner.public_key_pem"]
    admin = caller(Role.ADMIN)
    with admin.scope():
        listed = await gateway.channel_accounts.list_partners(admin, ca.ListPartnersRequest())
        got = await gateway.channel_accounts.get_partner(admin, ca.GetPartnerRequest(partner_id="bundle"))
    assert [p.partner_id for p in listed.partners] == ["bundle"] and got.partner == listed.partners[0]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER, Role.PUBLISHABLE])
async def test_only_managers_and_admins_manage_partners(gateway: Gateway, role: Role) -> None:
    who = caller(role)
    pem = public_pem(ed25519.Ed25519PrivateKey.generate())
    with who.scope():
        with pytest.raises(RolePermissionMissing):
            await gateway.channel_accounts.create_partner(
                who, ca.CreatePartnerRequest(request_id="r", partner=ca.Partner(partner_id="p", public_key_pem=pem))
            )
        with pytest.raises(RolePermissionMissing):
            await gateway.channel_accounts.get_partner(who, ca.GetPartnerRequest(partner_id="p"))
        with pytest.raises(RolePermissionMissing):
            await gateway.channel_accounts.list_partners(who, ca.ListPartnersRequest())
