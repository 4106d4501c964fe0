"""Partners through the gateway: a partner configured with its public key posts JWS-signed subscriber events that
drive the subscriber's access; a replayed, stale or forged request is refused with nothing applied."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.gateway.v1 import channel_apps_pb2_grpc
from tests.e2e.conftest import OTT_CATALOG, RunningSuite, TenantApi

PRODUCT = "BUNDLE-OTT-PREMIUM"
FEATURE = "uhd_streaming"  # granted by premium_monthly


def rid() -> str:
    return uuid.uuid4().hex


def public_pem(key: Any) -> str:
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return str(public.decode())


@pytest.fixture(scope="module")
def key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite, key: ed25519.Ed25519PrivateKey) -> TenantApi:
    """A tenant whose US storefront sells through partners, with the partner `bundle` and its product mapped."""
    tenant = await suite.new_tenant(with_catalog=False)
    document = (await asyncio.to_thread(OTT_CATALOG.read_text)).replace(
        "channels: [web, app_store, google_play]\n", "channels: [web, app_store, google_play, partner]\n", 1
    )
    applied = await tenant.apply_catalog(document.encode())
    assert applied.status_code == 200, applied.text
    mapping = {
        "channel": "CHANNEL_PARTNER",
        "external_product_id": PRODUCT,
        "plan_id": "premium_monthly",
        "storefront_id": "us",
    }
    await tenant.ok("POST", "/v1/channel-mappings", json={"request_id": rid(), "channel_mapping": mapping})
    body = {
        "request_id": rid(),
        "partner": {"partner_id": "bundle", "display_name": "Bundle Co", "public_key_pem": public_pem(key)},
    }
    created = await tenant.ok("POST", "/v1/partners", json=body)
    assert created["partner"]["algorithm"] == "EdDSA"
    assert created["partner"]["events_path"] == f"/v1/channels/partners/{tenant.tenant_id}/bundle/events"
    return tenant


def event(kind: str, subscriber: str, *, days: int = 30, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "event_id": rid(),
        "type": kind,
        "subscriber_id": subscriber,
        "product_code": PRODUCT,
        "occur_time": now.isoformat(),
        "period_end": (now + timedelta(days=days)).isoformat(),
        **extra,
    }


def signed(
    key: Any, events: list[dict[str, Any]], *, alg: str = "EdDSA", iat: float | None = None, jti: str = ""
) -> str:
    claims = {"iat": int(iat or time.time()), "jti": jti or rid(), "events": events}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": "bundle"})


async def post(shop: TenantApi, token: str, partner: str = "bundle") -> httpx.Response:
    # NOTE: partners send no API key: the signature is the only proof.
    path = f"/v1/channels/partners/{shop.tenant_id}/{partner}/events"
    return await shop.http.post(path, content=token, headers={"Content-Type": "application/jose"})


async def access(shop: TenantApi, answer: httpx.Response) -> bool:
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["events"]
    assert result.get("error") is None, result
    subscription = await shop.ok("GET", f"/v1/subscriptions/{result['subscription_id']}")
    customer = subscription["subscription"]["customer_id"]
    query = f"?consistency_token={result['consistency_token']}" if result["consistency_token"] else ""
    decision = (await shop.ok("GET", f"/v1/customers/{customer}/access/{FEATURE}{query}"))["decision"]
    return bool(decision.get("allowed"))


async def test_a_subscriber_activated_suspended_resumed_and_expired_by_its_partner(
    shop: TenantApi, key: ed25519.Ed25519PrivateKey
) -> None:
    subscriber = f"s-{rid()}"
    activate = event("activate", subscriber)
    first = await post(shop, signed(key, [activate]))
    assert await access(shop, first)
    assert first.json()["events"][0]["outcome"] == "APPLIED"
    # The same event in a new request (the partner retried): applied once, the first answer.
    again = await post(shop, signed(key, [activate]))
    assert again.json() == first.json()
    steps = [("suspend", False), ("resume", True), ("renew", True), ("cancel", True), ("expire", False)]
    for kind, allowed in steps:
        answer = await post(shop, signed(key, [event(kind, subscriber, days=60)]))
        assert await access(shop, answer) is allowed, kind
    # The subscriber id is the customer's partner identity.
    subscription_id = first.json()["events"][0]["subscription_id"]
    customer = (await shop.ok("GET", f"/v1/subscriptions/{subscription_id}"))["subscription"]["customer_id"]
    found = await shop.ok("GET", f"/v1/customers/{customer}")
    identities = [(i["kind"], i["value"], i["issuer"]) for i in found["customer"]["identities"]]
    assert ("CHANNEL_IDENTITY_KIND_PARTNER_SUBSCRIBER_ID", subscriber, "bundle") in identities


async def test_a_bulk_request_answers_each_event_and_names_a_bad_events_field(
    shop: TenantApi, key: ed25519.Ed25519PrivateKey
) -> None:
    events = [
        event("activate", f"s-{rid()}"),
        event("activate", f"s-{rid()}", product_code="UNKNOWN-SKU"),
        event("renew", f"s-{rid()}", period_end="next tuesday"),
    ]
    answer = await post(shop, signed(key, events))
    assert answer.status_code == 200, answer.text
    results = answer.json()["events"]
    assert results[0]["outcome"] == "APPLIED"
    assert [r["error"]["field"] for r in results[1:]] == ["events[1].product_code", "events[2].period_end"]
    assert [r["event_id"] for r in results] == [e["event_id"] for e in events]


async def test_replayed_stale_and_forged_requests_are_refused_with_nothing_applied(
    shop: TenantApi, key: ed25519.Ed25519PrivateKey
) -> None:
    subscriber = f"s-{rid()}"
    token = signed(key, [event("activate", f"s-{rid()}")])
    assert (await post(shop, token)).status_code == 200
    refused = [
        token,  # the same jti again
        signed(key, [event("activate", subscriber)], iat=time.time() - 600),
        signed(ed25519.Ed25519PrivateKey.generate(), [event("activate", subscriber)]),
        signed(ec.generate_private_key(ec.SECP256R1()), [event("activate", subscriber)], alg="ES256"),
        "e30.e30.e30",
    ]
    for forged in refused:
        answer = await post(shop, forged)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["details"][0]["reason"] == "CHANNEL_NOTIFICATION_REJECTED"
    assert (await post(shop, signed(key, [event("activate", subscriber)]), partner="nobody")).status_code == 404
    found = await shop.ok("GET", "/v1/customers", params={"filter": f'identity.value = "{subscriber}"'})
    assert found.get("customers", []) == []


async def test_only_managers_and_admins_configure_partners_and_another_tenant_sees_none(
    suite: RunningSuite, shop: TenantApi
) -> None:
    pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    manager = await shop.new_key("manager")
    body = {"request_id": rid(), "partner": {"partner_id": "isp", "public_key_pem": pem}}
    created = await shop.call("POST", "/v1/partners", key=manager, json=body)
    assert created.status_code == 200 and created.json()["partner"]["algorithm"] == "ES256", created.text
    assert (await shop.call("POST", "/v1/partners", json={**body, "request_id": rid()})).status_code == 409
    for role in ("operator", "viewer", "publishable"):
        key = await shop.new_key(role)
        attempt = {"request_id": rid(), "partner": {"partner_id": "x", "public_key_pem": pem}}
        assert (await shop.call("POST", "/v1/partners", key=key, json=attempt)).status_code == 403
        assert (await shop.call("GET", "/v1/partners/bundle", key=key)).status_code == 403
        assert (await shop.call("GET", "/v1/partners", key=key)).status_code == 403
    listed = await shop.ok("GET", "/v1/partners", params={"page_size": 1})
    assert [p["partner_id"] for p in listed["partners"]] == ["bundle"] and listed["next_page_token"]
    other = await suite.new_tenant(with_catalog=False)
    assert (await other.call("GET", "/v1/partners/bundle")).status_code == 404
    bad = {"request_id": rid(), "partner": {"partner_id": "bad", "public_key_pem": "nope"}}
    refused = await shop.call("POST", "/v1/partners", json=bad)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][1]["field_violations"][0]["field"] == "partner.public_key_pem"
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        partners = channel_apps_pb2_grpc.ChannelAppsServiceStub(channel)
        metadata = (("authorization", f"Bearer {shop.key}"),)
        got = await partners.GetPartner(ca.GetPartnerRequest(partner_id="isp"), metadata=metadata)
        assert got.partner.public_key_pem == pem
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            viewer = (("authorization", f"Bearer {await shop.new_key('viewer')}"),)
            await partners.ListPartners(ca.ListPartnersRequest(), metadata=viewer)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
