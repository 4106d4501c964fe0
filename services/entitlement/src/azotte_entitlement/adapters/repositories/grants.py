"""Grants and remembered denial reasons, stored with SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_entitlement.adapters.tables import denials, grants
from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.drift import Correction, CorrectionKind
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantAudit, GrantKey, GrantSource
from azotte_platform.db.bulk import as_arrays, insert_unnested, replacing


def grant_from_row(row: Any) -> Grant:
    """A stored grant as a domain grant."""
    audit = None
    if row.audit_actor is not None:
        audit = GrantAudit(row.audit_actor, row.audit_time, row.audit_reason or "")
    key = GrantKey(row.tenant_id, row.customer_id, row.feature_key, GrantSource(row.source), row.source_ref)
    return Grant(key, FeatureKind(row.kind), row.valid_from, row.valid_until, row.limit_value, audit)


def _grant_values(grant: Grant) -> dict[str, Any]:
    key = grant.key
    audit = grant.audit
    return {
        "tenant_id": key.tenant_id,
        "grant_id": key.grant_id,
        "customer_id": key.customer_id,
        "feature_key": key.feature_key,
        "source": key.source.value,
        "source_ref": key.source_ref,
        "kind": grant.kind.value,
        "valid_from": grant.valid_from,
        "valid_until": grant.valid_until,
        "limit_value": grant.limit,
        "audit_actor": audit.actor if audit else None,
        "audit_time": audit.at if audit else None,
        "audit_reason": audit.reason if audit else None,
    }


_FROM_SOURCES = sa.select(grants).where(
    grants.c.tenant_id == sa.bindparam("tenant_id"),
    sa.tuple_(grants.c.source, grants.c.source_ref).in_(sa.bindparam("pairs", expanding=True)),
)
_GRANT_COLUMNS = tuple(column.name for column in grants.c)
_PUT_GRANTS = replacing(insert_unnested(grants, _GRANT_COLUMNS))
"""Insert or replace grants, one row per grant (`as_arrays` of `_grant_values`)."""
_FORGET_DENIALS = sa.delete(denials).where(
    sa.tuple_(denials.c.tenant_id, denials.c.customer_id, denials.c.feature_key).in_(
        sa.bindparam("features", expanding=True)
    )
)
"""Forget why the (tenant, customer, feature) triples given were denied."""


class PostgresGrantRepository:
    """Grants and remembered denial reasons (`ports.GrantRepository`); every query is scoped by tenant."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def get(self, tenant_id: str, grant_id: str) -> Grant | None:
        row = (
            await self._connection.execute(
                sa.select(grants).where(grants.c.tenant_id == tenant_id, grants.c.grant_id == grant_id)
            )
        ).first()
        return grant_from_row(row) if row is not None else None

    async def from_sources(self, tenant_id: str, sources: Sequence[tuple[GrantSource, str]]) -> list[Grant]:
        """Grants given by any of the (source, source_ref) pairs."""
        if not sources:
            return []
        pairs = [(source.value, ref) for source, ref in sources]
        rows = await self._connection.execute(_FROM_SOURCES, {"tenant_id": tenant_id, "pairs": pairs})
        return [grant_from_row(row) for row in rows]

    async def of_tenant(self, tenant_id: str) -> list[Grant]:
        rows = await self._connection.execute(sa.select(grants).where(grants.c.tenant_id == tenant_id))
        return [grant_from_row(row) for row in rows]

    async def of_customer(self, tenant_id: str, customer_id: str) -> list[Grant]:
        rows = await self._connection.execute(
            sa.select(grants).where(grants.c.tenant_id == tenant_id, grants.c.customer_id == customer_id)
        )
        return [grant_from_row(row) for row in rows]

    async def tenants(self) -> list[str]:
        """Tenants holding any grant."""
        return list((await self._connection.execute(sa.select(grants.c.tenant_id).distinct())).scalars())

    async def _put(self, given: Sequence[Grant]) -> None:
        """Insert or replace grants, in one statement per table; a granted feature forgets why it was denied.

        NOTE: rows go in in key order (concurrent writers lock them in one order); a grant given twice is
        written as given last.
        """
        latest = {(grant.key.tenant_id, grant.key.grant_id): grant for grant in given}
        if not latest:
            return
        rows = [_grant_values(latest[key]) for key in sorted(latest)]
        await self._connection.execute(_PUT_GRANTS, as_arrays(rows, _GRANT_COLUMNS))
        features = sorted({(g.key.tenant_id, g.key.customer_id, g.key.feature_key) for g in latest.values()})
        await self._connection.execute(_FORGET_DENIALS, {"features": features})

    async def delete(self, key: GrantKey, why_not: AccessReason | None = None) -> None:
        """Delete a grant; remember `why_not` to explain later denials of the feature."""
        await self._connection.execute(
            sa.delete(grants).where(grants.c.tenant_id == key.tenant_id, grants.c.grant_id == key.grant_id)
        )
        if why_not is not None:
            await self.remember_denials(key.tenant_id, [(key.customer_id, key.feature_key)], why_not)

    async def remember_denials(
        self, tenant_id: str, features: Sequence[tuple[str, str]], why_not: AccessReason
    ) -> None:
        """Remember why these (customer, feature) pairs are denied."""
        if not features:
            return
        statement = insert(denials).values(
            [
                {"tenant_id": tenant_id, "customer_id": c, "feature_key": f, "reason": why_not.value}
                for c, f in dict.fromkeys(features)
            ]
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[denials.c.tenant_id, denials.c.customer_id, denials.c.feature_key],
                set_={"reason": statement.excluded.reason},
            )
        )

    async def apply(self, corrections: Iterable[Correction]) -> None:
        """Write grant changes computed by the domain, in their order; grants given one after another are written
        together."""
        given: list[Grant] = []
        for correction in corrections:
            if correction.kind is CorrectionKind.REVOKE:
                await self._put(given)
                given = []
                await self.delete(correction.grant.key, correction.why_not)
            else:
                given.append(correction.grant)
        await self._put(given)
