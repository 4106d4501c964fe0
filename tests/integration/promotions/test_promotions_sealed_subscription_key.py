"""The tenant's App Store subscription key sealed at rest on real PostgreSQL: the stored row holds no PEM, offers are
still signed with it, a wrong key-encryption key refuses to open it (naming the setting), and migration 0005 seals
the keys stored before it."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import create_async_engine

from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.clock import FixedClock
from azotte_platform.context import tenant_scope
from azotte_platform.db.engine import ensure_database
from azotte_platform.db.migrations import alembic_config
from azotte_platform.sealing import Keyring, Sealed, SealingKeyUnavailable
from azotte_promotions.adapters import proto
from azotte_promotions.adapters.repositories.store_offers import KEKS_SETTING, key_binding
from azotte_promotions.adapters.unit_of_work import PostgresPromotionsUnitOfWork
from azotte_promotions.entrypoints.main import MIGRATIONS
from azotte_promotions.service_layer import store_offers
from tests.conftest import Servers
from tests.integration.promotions.conftest import KEKS, T0, TENANT, Service
from tests.integration.promotions.promotions_support import active_promotion, percent_off, rid

PRODUCT = "com.example.ott.premium.monthly"
TOKEN = "0c0ffee0-1234-4abc-8def-0123456789ab"


def new_pem() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key, pem.decode()


async def stored_row(service: Service, tenant: str) -> Any:
    async with service.runtime.engine.connect() as connection:
        query = sa.text("SELECT * FROM app_store_subscription_keys WHERE tenant_id = :tenant")
        return (await connection.execute(query, {"tenant": tenant})).one()


async def test_the_stored_key_is_sealed_and_still_signs_offers(service: Service) -> None:
    signing_key, pem = new_pem()
    key = pb.SetAppStoreSubscriptionKeyRequest(
        request_id=rid(), key_id="ABC123DEFG", bundle_id="com.example.ott", private_key_pem=pem
    )
    await service.stub.SetAppStoreSubscriptionKey(key, metadata=service.metadata)

    row = await stored_row(service, TENANT)
    stored = b"".join(bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode() for value in row)
    assert b"PRIVATE KEY" not in stored and pem.splitlines()[1].encode() not in stored
    assert row.kek_id == "k1"

    promotion = await active_promotion(service, percent_off(store_offers=pb.StoreOffers(app_store_offer_id="seal_1")))
    sign = pb.SignAppStoreOfferRequest(promotion_id=promotion.id, product_id=PRODUCT, app_account_token=TOKEN)
    offer = (await service.stub.SignAppStoreOffer(sign, metadata=service.metadata)).offer
    signed = "\u2063".join(
        ["com.example.ott", "ABC123DEFG", PRODUCT, "seal_1", TOKEN, offer.nonce, str(offer.timestamp_ms)]
    )
    signing_key.public_key().verify(base64.b64decode(offer.signature), signed.encode(), ec.ECDSA(hashes.SHA256()))


async def test_a_wrong_key_encryption_key_fails_clearly(service: Service) -> None:
    _, pem = new_pem()
    key = pb.SetAppStoreSubscriptionKeyRequest(
        request_id=rid(), key_id="ABC123DEFG", bundle_id="com.example.ott", private_key_pem=pem
    )
    await service.stub.SetAppStoreSubscriptionKey(key, metadata=service.metadata)
    promotion = await active_promotion(service, percent_off(store_offers=pb.StoreOffers(app_store_offer_id="seal_2")))

    wrong = Keyring.parse(f"k1:{base64.b64encode(b'w' * 32).decode()}", KEKS_SETTING)
    missing = Keyring.parse(f"k2:{base64.b64encode(b'p' * 32).decode()}", KEKS_SETTING)
    for keyring, message in ((wrong, "does not open with key 'k1'"), (missing, "'k1' is not configured")):
        uow = PostgresPromotionsUnitOfWork(
            service.runtime.engine, "promotions", service.clock, proto.to_event, keyring=keyring
        )
        with tenant_scope(TENANT), pytest.raises(SealingKeyUnavailable) as refused:
            async with uow:
                await store_offers.sign_app_store_offer(uow, TENANT, promotion.id, PRODUCT, TOKEN)
        assert message in refused.value.message and KEKS_SETTING in refused.value.message

    # The service with the right keyring still signs; a tampered row is refused over gRPC as FAILED_PRECONDITION.
    sign = pb.SignAppStoreOfferRequest(promotion_id=promotion.id, product_id=PRODUCT, app_account_token=TOKEN)
    assert (await service.stub.SignAppStoreOffer(sign, metadata=service.metadata)).offer.signature
    async with service.runtime.engine.begin() as connection:
        await connection.execute(
            sa.text("UPDATE app_store_subscription_keys SET ciphertext = ciphertext || '\\x00' WHERE tenant_id = :t"),
            {"t": TENANT},
        )
    with pytest.raises(grpc.aio.AioRpcError) as tampered:
        await service.stub.SignAppStoreOffer(sign, metadata=service.metadata)
    assert tampered.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "SEALING_KEY_UNAVAILABLE" in str(tampered.value.trailing_metadata())


async def test_migration_0005_seals_the_keys_stored_before_it(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = servers.new_database_url("promotions")
    await ensure_database(url)
    config = alembic_config(MIGRATIONS, url)
    await asyncio.to_thread(command.upgrade, config, "0004")
    _, pem = new_pem()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO app_store_subscription_keys"
                    " (tenant_id, key_id, bundle_id, private_key_pem, updated_at)"
                    " VALUES ('old', 'ABC123DEFG', 'com.example.ott', :pem, :at)"
                ),
                {"pem": pem, "at": T0},
            )

        monkeypatch.delenv(KEKS_SETTING, raising=False)
        with pytest.raises(SealingKeyUnavailable, match=KEKS_SETTING):
            await asyncio.to_thread(command.upgrade, config, "heads")

        monkeypatch.setenv(KEKS_SETTING, KEKS)
        await asyncio.to_thread(command.upgrade, config, "heads")
        async with engine.connect() as connection:
            row = (await connection.execute(sa.text("SELECT * FROM app_store_subscription_keys"))).one()
        assert "private_key_pem" not in row._fields
        sealed = Sealed(row.kek_id, bytes(row.wrapped_key), bytes(row.nonce), bytes(row.ciphertext))
        assert Keyring.parse(KEKS, KEKS_SETTING).unseal(sealed, key_binding("old")).decode() == pem

        keyring = Keyring.parse(KEKS, KEKS_SETTING)
        uow = PostgresPromotionsUnitOfWork(engine, "promotions", FixedClock(T0), proto.to_event, keyring=keyring)
        async with uow:
            kept = await uow.subscription_keys.get("old")
        assert kept is not None and kept.private_key_pem == pem
    finally:
        await engine.dispose()
