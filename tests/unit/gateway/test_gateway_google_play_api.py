"""Google's side of Google Play, through the gateway's clients against the emulator (in process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from azotte_gateway.adapters.channels.google_play_api import GoogleEndpoints, HttpJwks, PlayDeveloperApi
from azotte_gateway.domain.channel_accounts import GooglePlayApp
from azotte_gateway.errors import ChannelApiUnavailable, ChannelNotificationRejected
from azotte_gateway.sandbox_channels.google_play_api import PlayState, create_app
from azotte_gateway.sandbox_channels.google_play_signing import API_ACCOUNT, PUSH_ACCOUNT, SigningGoogle, purchase_state

PACKAGE = "com.example.ott"
BASE = "http://google.test"


@pytest.fixture(scope="module")
def google() -> SigningGoogle:
    return SigningGoogle()


@pytest.fixture
def play() -> PlayState:
    return PlayState()


@pytest.fixture
async def http(play: PlayState, google: SigningGoogle) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(play))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        account = {"public_key_pem": google.api_public_key_pem(), "packages": [PACKAGE]}
        (await client.put(f"/emulator/service-accounts/{API_ACCOUNT}", json=account)).raise_for_status()
        (await client.post("/emulator/jwks", json=google.jwks())).raise_for_status()
        yield client


def app_of(google: SigningGoogle, package: str = PACKAGE, account: str = API_ACCOUNT) -> GooglePlayApp:
    return GooglePlayApp(
        tenant_id="acme",
        app_id="android",
        package_name=package,
        push_audience="aud",
        push_service_account_email=PUSH_ACCOUNT,
        service_account_key_json=google.service_account_json(account),
    )


async def test_a_purchase_is_read_and_acknowledged_as_the_apps_service_account(
    http: httpx.AsyncClient, play: PlayState, google: SigningGoogle
) -> None:
    purchase = purchase_state("SUBSCRIPTION_STATE_ACTIVE", expires_at=datetime.now(UTC) + timedelta(days=30))
    (await http.put(f"/emulator/applications/{PACKAGE}/subscriptions/tok-1", json=purchase)).raise_for_status()
    api = PlayDeveloperApi(http, GoogleEndpoints.under(BASE))
    read = await api.subscription(app_of(google), "tok-1")
    assert read["subscriptionState"] == "SUBSCRIPTION_STATE_ACTIVE"
    await api.acknowledge(app_of(google), "premium", "tok-1")
    again = await api.subscription(app_of(google), "tok-1")
    assert again["acknowledgementState"] == "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED"
    # One access token served every call.
    assert len(play.access_tokens) == 1


async def test_an_unknown_token_is_rejected_and_an_account_google_refuses_is_unavailable(
    http: httpx.AsyncClient, google: SigningGoogle
) -> None:
    api = PlayDeveloperApi(http, GoogleEndpoints.under(BASE))
    with pytest.raises(ChannelNotificationRejected):
        await api.subscription(app_of(google), "tok-unknown")
    # The same account's email with a key Google does not know (never the token cached for the real key), and an
    # account not granted the package.
    with pytest.raises(ChannelApiUnavailable):
        await api.subscription(app_of(SigningGoogle()), "tok-1")
    with pytest.raises(ChannelApiUnavailable):
        await api.subscription(app_of(google, package="com.other.app"), "tok-1")


async def test_push_token_keys_are_read_once_and_an_unknown_kid_is_none(
    http: httpx.AsyncClient, google: SigningGoogle
) -> None:
    keys = HttpJwks(http, f"{BASE}/oauth2/v3/certs")
    found = await keys.key(google.kid)
    assert found is not None and found.key_id == google.kid
    assert await keys.key("unknown") is None


def test_googles_own_endpoints_unless_an_emulator_is_named() -> None:
    assert GoogleEndpoints.under("") == GoogleEndpoints()
    assert GoogleEndpoints.under("http://127.0.0.1:9/").token_url == "http://127.0.0.1:9/token"
