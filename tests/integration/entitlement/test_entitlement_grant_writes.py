"""Grant corrections written to PostgreSQL: grants given together are written together, yet in the order given."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from azotte_entitlement.adapters.repositories.grants import PostgresGrantRepository
from azotte_entitlement.adapters.tables import denials, grants
from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.drift import Correction, CorrectionKind
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantKey, GrantSource
from azotte_entitlement.entrypoints.main import MIGRATIONS
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate

TENANT = "acme-grants"
START = datetime(2026, 3, 1, tzinfo=UTC)


def grant(feature: str, limit: int | None = None) -> Grant:
    key = GrantKey(TENANT, "cust-a", feature, GrantSource.SUBSCRIPTION, "sub-a")
    return Grant(key, FeatureKind.QUOTA if limit is not None else FeatureKind.BOOLEAN, START, None, limit)


def given(feature: str, limit: int | None = None) -> Correction:
    return Correction(CorrectionKind.GRANT, grant(feature, limit))


def revoked(feature: str) -> Correction:
    return Correction(CorrectionKind.REVOKE, grant(feature), why_not=AccessReason.EXPIRED)


async def test_corrections_apply_in_their_order_and_a_grant_given_twice_keeps_its_last_form(servers) -> None:
    url = servers.new_database_url("grant_writes")
    await migrate(MIGRATIONS, url)
    engine = create_engine(url)
    async with engine.begin() as connection:
        repository = PostgresGrantRepository(connection)
        await repository.remember_denials(TENANT, [("cust-a", "tokens"), ("cust-a", "hd")], AccessReason.NO_GRANT)
        await repository.apply(
            [
                given("tokens", 5),
                given("tokens", 7),  # the same grant again: written as given last
                given("hd"),
                revoked("hd"),  # after its grant: gone, and why is remembered
                revoked("uhd"),
                given("uhd"),  # after its revocation: granted, and the denial forgotten
            ]
        )
    async with engine.connect() as connection:
        kept = dict((await connection.execute(sa.select(grants.c.feature_key, grants.c.limit_value))).all())
        denied = dict((await connection.execute(sa.select(denials.c.feature_key, denials.c.reason))).all())
    await engine.dispose()
    assert kept == {"tokens": 7, "uhd": None}
    assert denied == {"hd": AccessReason.EXPIRED.value}
