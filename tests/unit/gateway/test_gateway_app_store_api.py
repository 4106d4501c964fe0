"""The App Store Server API client against its fake: a JWT signed with the tenant's in-app key (the fake verifies
it with the public key the test made), the history read page by page, every transaction verified under the
app's root — and a wrong key, a foreign transaction or a key that is not Apple's kind refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from azotte_gateway.adapters.channels.app_store_api import (
    AUDIENCE,
    AppStoreApiError,
    AppStoreServerApi,
    api_token,
)
from azotte_gateway.domain.channels import AppStoreApp, AppStoreEnvironment, InAppPurchaseKey
from azotte_gateway.sandbox_channels.app_store_api import FakeAppStoreApi, create_app
from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, later, millis, subscription_transaction
from azotte_platform.errors import InvalidArgument

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BUNDLE = "com.example.app"
ISSUER = "57246542-96fe-1a63-e053-0824d011072a"


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


@pytest.fixture(scope="module")
def private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def key(private_key: ec.EllipticCurvePrivateKey) -> InAppPurchaseKey:
    return InAppPurchaseKey(ISSUER, "2X9R4HXF34", pem(private_key))


@pytest.fixture
def app(store: SigningAppStore) -> AppStoreApp:
    return AppStoreApp("t1", "ios", BUNDLE, AppStoreEnvironment.SANDBOX, store.root_pem, 0, "us")


def signed(store: SigningAppStore, transaction_id: str, month: int) -> str:
    bought = datetime(2026, month, 1, tzinfo=UTC)
    transaction = subscription_transaction(
        "2000000001", product_id=f"{BUNDLE}.monthly", purchased_at=bought, expires_at=later(bought, 30)
    )
    transaction.update(transactionId=transaction_id, bundleId=BUNDLE, signedDate=millis(bought))
    return store.jws(transaction)


@pytest.fixture
async def fake(
    store: SigningAppStore, private_key: ec.EllipticCurvePrivateKey, key: InAppPurchaseKey
) -> AsyncIterator[tuple[FakeAppStoreApi, httpx.AsyncClient]]:
    state = FakeAppStoreApi(page_size=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url="http://fake") as http:
        await http.put(
            f"/fake/keys/{key.key_id}", json={"issuer_id": ISSUER, "public_key_pem": public_pem(private_key)}
        )
        history = [signed(store, "2000000003", 3), signed(store, "2000000001", 1), signed(store, "2000000002", 2)]
        await http.put("/fake/histories/2000000001", json={"bundle_id": BUNDLE, "signed_transactions": history})
        yield state, http


def test_the_token_names_the_issuer_the_audience_and_the_bundle(
    key: InAppPurchaseKey, private_key: ec.EllipticCurvePrivateKey
) -> None:
    token = api_token(key, BUNDLE, NOW)
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "2X9R4HXF34", "typ": "JWT"}
    claims = jwt.decode(
        token, private_key.public_key(), algorithms=["ES256"], audience=AUDIENCE, options={"verify_exp": False}
    )
    assert (claims["iss"], claims["bid"], claims["exp"] - claims["iat"]) == (ISSUER, BUNDLE, 1200)


async def test_the_history_is_read_page_by_page_and_verified(
    fake: tuple[FakeAppStoreApi, httpx.AsyncClient], app: AppStoreApp, key: InAppPurchaseKey
) -> None:
    api = AppStoreServerApi(fake[1], "http://fake")
    history = await api.transaction_history(app, key, "2000000002")
    assert [t["transactionId"] for t in history] == ["2000000001", "2000000002", "2000000003"]
    assert {t["originalTransactionId"] for t in history} == {"2000000001"}


async def test_a_key_apple_does_not_know_is_refused(
    fake: tuple[FakeAppStoreApi, httpx.AsyncClient], app: AppStoreApp, key: InAppPurchaseKey
) -> None:
    stranger = InAppPurchaseKey(ISSUER, key.key_id, pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(AppStoreApiError, match="refused the app's in-app purchase key"):
        await AppStoreServerApi(fake[1], "http://fake").transaction_history(app, stranger, "2000000001")


async def test_a_transaction_signed_under_another_root_is_refused(
    fake: tuple[FakeAppStoreApi, httpx.AsyncClient], app: AppStoreApp, key: InAppPurchaseKey
) -> None:
    forged = [signed(SigningAppStore(), "2000000009", 1)]
    await fake[1].put("/fake/histories/2000000009", json={"bundle_id": BUNDLE, "signed_transactions": forged})
    with pytest.raises(AppStoreApiError, match="does not verify"):
        await AppStoreServerApi(fake[1], "http://fake").transaction_history(app, key, "2000000009")


async def test_an_unknown_transaction_or_a_bad_id_is_refused(
    fake: tuple[FakeAppStoreApi, httpx.AsyncClient], app: AppStoreApp, key: InAppPurchaseKey
) -> None:
    api = AppStoreServerApi(fake[1], "http://fake")
    with pytest.raises(AppStoreApiError, match="404"):
        await api.transaction_history(app, key, "2999999999")
    with pytest.raises(InvalidArgument) as bad:
        await api.transaction_history(app, key, "../keys")
    assert bad.value.violations[0].field == "transaction_id"


def test_only_a_p256_key_is_an_in_app_purchase_key() -> None:
    with pytest.raises(InvalidArgument) as rsa_key:
        InAppPurchaseKey(ISSUER, "2X9R4HXF34", pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    assert rsa_key.value.violations[0].field == "app.server_api.private_key_pem"
    with pytest.raises(InvalidArgument) as short_id:
        InAppPurchaseKey(ISSUER, "short", pem(ec.generate_private_key(ec.SECP256R1())))
    assert short_id.value.violations[0].field == "app.server_api.key_id"
