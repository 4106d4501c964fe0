"""Partners' wholesale terms through the gateway: a partner keeping 30 % activates and renews a subscriber a
period later; each period is booked once on the partner channel (a resent request books nothing), and the ledger's
revenue report and the revenue analytics show both sales with the tenant's proceeds and the partner's part."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.gateway.v1 import channel_apps_pb2_grpc
from tests.e2e.conftest import OTT_CATALOG, RunningSuite, TenantApi
from tests.helpers import eventually

PRODUCT = "BUNDLE-OTT-PREMIUM"
PRICE = 1799  # premium_monthly in storefront us (no tax), as the partner channel resolves it
PARTNERS_PART = 540  # 30 % of 17.99 = 5.397, rounded half up


def rid() -> str:
    return uuid.uuid4().hex


async def tenant_now(shop: TenantApi, days: int = 0) -> datetime:
    moved = await shop.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_days": days})
    return datetime.fromisoformat(moved["now"].replace("Z", "+00:00"))


async def new_shop(suite: RunningSuite, key: ed25519.Ed25519PrivateKey) -> TenantApi:
    """Storefront us sells through partners; partner `bundle` (70 % to the tenant) maps its product to premium."""
    shop = await suite.new_tenant(with_catalog=False)
    document = (await asyncio.to_thread(OTT_CATALOG.read_text)).replace(
        "channels: [web, app_store, google_play]\n", "channels: [web, app_store, google_play, partner]\n", 1
    )
    assert (await shop.apply_catalog(document.encode())).status_code == 200
    mapping = {"channel": "CHANNEL_PARTNER", "external_product_id": PRODUCT, "plan_id": "premium_monthly"}
    await shop.ok(
        "POST",
        "/v1/channel-mappings",
        json={"request_id": rid(), "channel_mapping": {**mapping, "storefront_id": "us"}},
    )
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    partner = {"partner_id": "bundle", "public_key_pem": pem.decode(), "revenue_share_bps": 7000}
    created = await shop.ok("POST", "/v1/partners", json={"request_id": rid(), "partner": partner})
    assert created["partner"]["revenue_share_bps"] == 7000
    return shop


async def send(shop: TenantApi, key: ed25519.Ed25519PrivateKey, now: datetime, event: dict[str, Any]) -> None:
    claims = {"iat": int(now.timestamp()), "jti": rid(), "events": [event]}
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "bundle"})
    path = f"/v1/channels/partners/{shop.tenant_id}/bundle/events"
    answer = await shop.http.post(path, content=token, headers={"Content-Type": "application/jose"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"][0].get("error") is None, answer.text


def billed(kind: str, at: datetime, period_end: datetime) -> dict[str, Any]:
    return {
        "event_id": rid(),
        "type": kind,
        "subscriber_id": "s-42",
        "product_code": PRODUCT,
        "occur_time": at.isoformat(),
        "period_end": period_end.isoformat(),
    }


async def test_each_period_a_partner_bills_is_booked_once_net_of_its_part(suite: RunningSuite) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    shop = await new_shop(suite, key)
    start = await tenant_now(shop)
    first_end = start + timedelta(days=30)
    activate = billed("activate", start, first_end)
    await send(shop, key, start, activate)
    await send(shop, key, start, activate)  # the partner retried the whole request

    # A period later (the day before it ends) the partner renews; it then resends the renewal under a new id.
    renewed_at = await tenant_now(shop, days=29)
    renew = billed("renew", renewed_at, first_end + timedelta(days=30))
    await send(shop, key, renewed_at, renew)
    await send(shop, key, renewed_at, {**renew, "event_id": rid()})

    months = {"period_from": f"{start:%Y-%m}", "period_to": f"{renewed_at:%Y-%m}", "group_by": "channel"}
    report = await shop.ok("GET", "/v1/revenue-report", params=months)
    [row] = [r for r in report["rows"] if r["channel"] == "CHANNEL_PARTNER"]
    assert (row["gross_sales"]["amount_minor"], row["store_commission"]["amount_minor"]) == (
        str(2 * PRICE),
        str(2 * PARTNERS_PART),
    )
    assert row["proceeds"]["amount_minor"] == str(2 * (PRICE - PARTNERS_PART))

    window = {
        "start_time": (start - timedelta(days=1)).isoformat(),
        "end_time": (renewed_at + timedelta(days=1)).isoformat(),
        "channel": "PARTNER",
        "currency_code": "USD",
        "granularity": "day",
    }

    async def both_sales() -> Any:
        summary = await shop.ok("GET", "/v1/analytics/revenue", params=window)
        assert summary["total"]["gross_minor"] == str(2 * PRICE), summary
        return summary

    summary = await eventually(both_sales, within=30)
    sales = [
        (p["gross_minor"], p["store_commission_minor"], p["proceeds_minor"])
        for p in summary["points"]
        if p["gross_minor"] != "0"
    ]
    assert sales == [(str(PRICE), str(PARTNERS_PART), str(PRICE - PARTNERS_PART))] * 2


async def test_terms_are_set_over_rest_and_grpc_and_a_share_past_10000_bps_is_refused(suite: RunningSuite) -> None:
    shop = await suite.new_tenant(with_catalog=False)
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    bad = {
        "request_id": rid(),
        "partner": {"partner_id": "isp", "public_key_pem": pem.decode(), "revenue_share_bps": 10_001},
    }
    refused = await shop.call("POST", "/v1/partners", json=bad)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["details"][1]["field_violations"][0]["field"] == "partner.revenue_share_bps"
    assert (await shop.ok("GET", "/v1/partners")).get("partners", []) == []
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        partners = channel_apps_pb2_grpc.ChannelAppsServiceStub(channel)
        metadata = (("authorization", f"Bearer {shop.key}"),)
        partner = ca.Partner(partner_id="isp", public_key_pem=pem.decode(), revenue_share_bps=8500)
        await partners.CreatePartner(ca.CreatePartnerRequest(request_id=rid(), partner=partner), metadata=metadata)
    got = await shop.ok("GET", "/v1/partners/isp")
    assert got["partner"]["revenue_share_bps"] == 8500
