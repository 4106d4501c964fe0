"""App Store apps' in-app purchase keys on real PostgreSQL: stored sealed (no plaintext in the row), read back as
sealed, opening only for their own app; an app without a key reads back without one."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_gateway.adapters.tables import app_store_apps
from azotte_gateway.adapters.unit_of_work import PostgresGatewayUnitOfWork
from azotte_gateway.domain.channels import AppStoreApp, AppStoreEnvironment, SealedServerApiKey
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_platform.clock import FixedClock
from azotte_platform.context import tenant_scope
from azotte_platform.sealing import Keyring, SealingKeyUnavailable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TENANT = "acme"


def root_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW.replace(year=2100))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


async def test_a_key_is_stored_sealed_and_opens_only_for_its_app(engine: AsyncEngine) -> None:
    keyring = Keyring.parse(f"k1:{base64.b64encode(os.urandom(32)).decode()}", "AZOTTE_GATEWAY_KEKS")
    private_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    sealed = keyring.seal(private_pem.encode(), SealedServerApiKey.binding(TENANT, "ios"))
    ios = AppStoreApp(
        TENANT,
        "ios",
        "com.example.app",
        AppStoreEnvironment.PRODUCTION,
        root_pem(),
        create_time=NOW,
        server_api=SealedServerApiKey("issuer-1", "2X9R4HXF34", sealed),
    )
    # NOTE: the same sealed key copied onto another app's row, as a database-level mistake would.
    mac = replace(ios, app_id="mac")
    tv = replace(ios, app_id="tv", server_api=None)
    clock = FixedClock(NOW)
    with tenant_scope(TENANT):
        async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
            await uow.tenants.add(Tenant(TENANT, "Acme", TenantMode.SANDBOX), NOW)
            for app in (ios, mac, tv):
                assert await uow.app_store_apps.add(app)
            await uow.commit()
        async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
            stored = {app.app_id: app for app in await uow.app_store_apps.list(TENANT)}
            rows = (await uow.connection.execute(sa.select(app_store_apps))).all()
    assert stored["ios"] == ios
    assert stored["tv"].server_api is None
    assert all(private_pem.encode() not in bytes(row.server_api_ciphertext or b"") for row in rows)
    ios_key = stored["ios"].server_api
    assert ios_key is not None
    assert keyring.unseal(ios_key.private_key, SealedServerApiKey.binding(TENANT, "ios")) == private_pem.encode()
    mac_key = stored["mac"].server_api
    assert mac_key is not None
    with pytest.raises(SealingKeyUnavailable):
        keyring.unseal(mac_key.private_key, SealedServerApiKey.binding(TENANT, "mac"))
