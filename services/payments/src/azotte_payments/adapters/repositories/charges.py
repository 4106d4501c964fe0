"""Charges and their attempts; and the open charges of every tenant, for the reconciler."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.repositories import IDS, keyset_after
from azotte_payments.adapters.tables import charge_attempts, charges
from azotte_payments.domain.charge import (
    Attempt,
    Charge,
    ChargeQuery,
    ChargeRecord,
    ChargeRequest,
    ChargeStatus,
    RefundedFilter,
)
from azotte_payments.domain.charge_lines import ChargeLine, LineKind
from azotte_payments.domain.declines import Decline, DeclineReason, Outcome
from azotte_payments.errors import ChargeNotFound
from azotte_platform.clock import TenantTimes
from azotte_platform.db.bulk import as_arrays, insert_unnested, update_unnested
from azotte_platform.paging import Page, PageRequest
from azotte_platform.tax import TaxBreakdown


def _line_to_json(line: ChargeLine) -> dict[str, Any]:
    return {**asdict(line), "dimensions": dict(line.dimensions)}


def _line_from_json(line: dict[str, Any]) -> ChargeLine:
    return ChargeLine(
        **{**line, "kind": LineKind(line["kind"]), "dimensions": tuple(sorted(line["dimensions"].items()))}
    )


def _decline(reason: str | None, raw: str | None) -> Decline | None:
    return Decline(DeclineReason(reason), raw or "") if reason else None


def _attempt(row: Any) -> Attempt:
    return Attempt(
        number=row.number,
        psp=row.psp,
        psp_idempotency_key=row.psp_idempotency_key,
        started_at=row.started_at,
        outcome=Outcome(row.outcome) if row.outcome else None,
        decline=_decline(row.decline_reason, row.decline_raw),
        psp_reference=row.psp_reference,
        latency_ms=row.latency_ms,
        client_secret=row.client_secret or "",
    )


def _attempt_values(attempt: Attempt) -> dict[str, Any]:
    return {
        "psp": attempt.psp,
        "psp_idempotency_key": attempt.psp_idempotency_key,
        "started_at": attempt.started_at,
        "outcome": attempt.outcome.value if attempt.outcome else None,
        "decline_reason": attempt.decline.reason.value if attempt.decline else None,
        "decline_raw": attempt.decline.raw_code if attempt.decline else None,
        "psp_reference": attempt.psp_reference,
        "latency_ms": attempt.latency_ms,
        "client_secret": attempt.client_secret or None,
    }


# NOTE: the charge path runs these for every charge; built once, SQLAlchemy reuses their compiled form.
_TENANT: sa.BindParameter[str] = sa.bindparam("b_tenant", type_=sa.Text)
_ID: sa.BindParameter[str] = sa.bindparam("b_id", type_=sa.Text)
_INSERT_CHARGE = insert(charges).on_conflict_do_nothing(constraint="charges_idempotency_key").returning(charges.c.id)
_STATE_COLUMNS = (
    "status",
    "decline_reason",
    "decline_raw",
    "psp",
    "psp_reference",
    "credit_applied_minor",
    "refunded_minor",
    "refunded_to_method_minor",
    "updated_at",
)
_CHARGE_KEY = ("tenant_id", "id")
_UPDATE_CHARGES = update_unnested(charges, _CHARGE_KEY, _STATE_COLUMNS)
_ATTEMPT_COLUMNS = (
    "psp",
    "psp_idempotency_key",
    "started_at",
    "outcome",
    "decline_reason",
    "decline_raw",
    "psp_reference",
    "latency_ms",
    "client_secret",
)
_ATTEMPT_KEY = ("tenant_id", "charge_id", "number")
_upsert_attempts = insert_unnested(charge_attempts, (*_ATTEMPT_KEY, *_ATTEMPT_COLUMNS))
_UPSERT_ATTEMPTS = _upsert_attempts.on_conflict_do_update(
    index_elements=list(_ATTEMPT_KEY),
    set_={column: _upsert_attempts.excluded[column] for column in _ATTEMPT_COLUMNS},
)
_CHARGE_BY_ID = sa.select(charges).where(charges.c.tenant_id == _TENANT, charges.c.id == _ID)
_CHARGES_BY_KEYS = sa.select(charges).where(charges.c.tenant_id == _TENANT, charges.c.idempotency_key == sa.any_(IDS))
_ATTEMPTS_OF = (
    sa.select(charge_attempts)
    .where(charge_attempts.c.tenant_id == _TENANT, charge_attempts.c.charge_id == sa.any_(IDS))
    .order_by(charge_attempts.c.charge_id, charge_attempts.c.number)
)


class PostgresChargeRepository:
    """Charges and their attempts (implements `ports.PostgresChargeRepository`)."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def insert_many(self, records: Sequence[ChargeRecord], now: datetime) -> set[str]:
        """Store new charges with their attempts; the ids stored (a charge whose key is taken is skipped)."""
        if not records:
            return set()
        # NOTE: rows go in key order, so batches racing on the same keys wait for each other, never deadlock.
        rows = [
            {"tenant_id": self._tenant, "id": r.charge.charge_id, **self._values(r, now), "created_at": now}
            for r in sorted(records, key=lambda r: r.charge.idempotency_key)
        ]
        inserted = set((await self._c.execute(_INSERT_CHARGE, rows)).scalars().all())
        await self._save_attempts([r.charge for r in records if r.charge.charge_id in inserted])
        return inserted

    async def save(self, record: ChargeRecord, now: datetime) -> None:
        """Write the charge's state and attempts."""
        await self.save_many([record], now)

    async def save_many(self, records: Sequence[ChargeRecord], now: datetime) -> None:
        """Write the charges' states (what changes after a charge is made) and attempts."""
        if not records:
            return
        rows = [{"tenant_id": self._tenant, "id": r.charge.charge_id, **self._values(r, now)} for r in records]
        await self._c.execute(_UPDATE_CHARGES, as_arrays(rows, (*_CHARGE_KEY, *_STATE_COLUMNS)))
        await self._save_attempts([r.charge for r in records])

    async def by_keys(self, idempotency_keys: Sequence[str]) -> dict[str, ChargeRecord]:
        """The charges made under these idempotency keys, by key."""
        if not idempotency_keys:
            return {}
        result = await self._c.execute(_CHARGES_BY_KEYS, {"b_tenant": self._tenant, "b_ids": list(idempotency_keys)})
        return {record.charge.idempotency_key: record for record in await self._records(result.all())}

    async def paid_periods(self, subscription_ids: Sequence[str], period_keys: Sequence[str]) -> list[ChargeRecord]:
        """Succeeded charges of these subscriptions for these periods."""
        c = charges.c
        query = sa.select(charges).where(
            c.tenant_id == self._tenant,
            c.subscription_id.in_(list(subscription_ids)),
            c.period_key.in_(list(period_keys)),
            c.status == ChargeStatus.SUCCEEDED.value,
        )
        return await self._records((await self._c.execute(query)).all())

    async def get(self, charge_id: str, *, lock: bool = False) -> ChargeRecord:
        """The charge, or ChargeNotFound (also for another tenant's charge)."""
        query = _CHARGE_BY_ID.with_for_update(key_share=True) if lock else _CHARGE_BY_ID
        row = (await self._c.execute(query, {"b_tenant": self._tenant, "b_id": charge_id})).first()
        if row is None:
            raise ChargeNotFound(f"charge_id {charge_id!r}: no such charge")
        return (await self._records([row]))[0]

    async def by_psp_reference(self, psp: str, psp_reference: str) -> ChargeRecord | None:
        """The charge one of whose attempts the PSP answered with `psp_reference`, locked for update."""
        a = charge_attempts.c
        found = sa.select(a.charge_id).where(
            a.tenant_id == self._tenant, a.psp == psp, a.psp_reference == psp_reference
        )
        charge_id = (await self._c.execute(found.limit(1))).scalar_one_or_none()
        return None if charge_id is None else await self.get(charge_id, lock=True)

    async def list_for_customer(self, wanted: ChargeQuery, page: PageRequest) -> Page[Charge]:
        """One page of the `Charge`s the query keeps, keyset-paginated on (created_at, id)."""
        c = charges.c
        query = sa.select(charges).where(c.tenant_id == self._tenant, c.customer_id == wanted.customer_id)
        if wanted.subscription_id:
            query = query.where(c.subscription_id == wanted.subscription_id)
        if wanted.statuses:
            query = query.where(c.status.in_([status.value for status in wanted.statuses]))
        match wanted.refunded:
            case RefundedFilter.NONE:
                query = query.where(c.refunded_minor == 0)
            case RefundedFilter.PARTLY:
                query = query.where(c.refunded_minor > 0, c.refunded_minor < c.gross_minor)
            case RefundedFilter.FULLY:
                query = query.where(c.refunded_minor > 0, c.refunded_minor >= c.gross_minor)
        key = sa.tuple_(c.created_at, c.id)
        after = keyset_after(page, datetime.fromisoformat, str)
        if after is not None:
            query = query.where(key > after if wanted.oldest_first else key < after)
        order = (c.created_at, c.id) if wanted.oldest_first else (c.created_at.desc(), c.id.desc())
        query = query.order_by(*order).limit(page.limit)
        rows = page.page((await self._c.execute(query)).all(), lambda row: [row.created_at.isoformat(), row.id])
        return Page([record.charge for record in await self._records(rows.items)], rows.next_page_token)

    async def _save_attempts(self, changed: Sequence[Charge]) -> None:
        rows = [
            {"tenant_id": self._tenant, "charge_id": charge.charge_id, "number": a.number, **_attempt_values(a)}
            for charge in changed
            for a in charge.attempts
        ]
        if rows:
            await self._c.execute(_UPSERT_ATTEMPTS, as_arrays(rows, (*_ATTEMPT_KEY, *_ATTEMPT_COLUMNS)))

    async def _records(self, rows: Sequence[Any]) -> list[ChargeRecord]:
        if not rows:
            return []
        result = await self._c.execute(_ATTEMPTS_OF, {"b_tenant": self._tenant, "b_ids": [row.id for row in rows]})
        attempts: dict[str, list[Attempt]] = {}
        for attempt in result.all():
            attempts.setdefault(attempt.charge_id, []).append(_attempt(attempt))
        return [self._record(row, attempts.get(row.id, [])) for row in rows]

    @staticmethod
    def _record(row: Any, attempts: list[Attempt]) -> ChargeRecord:
        request = ChargeRequest(
            customer_id=row.customer_id,
            storefront_id=row.storefront_id,
            channel=row.channel,
            plan_id=row.plan_id,
            price_minor=row.price_minor,
            currency=row.currency,
            payment_method_id=row.payment_method_id,
            description=row.description,
            subscription_id=row.subscription_id,
            period_key=row.period_key,
            discount_minor=row.discount_minor,
            lines=tuple(_line_from_json(line) for line in row.lines),
        )
        charge = Charge(
            charge_id=row.id,
            request=request,
            idempotency_key=row.idempotency_key,
            amounts=TaxBreakdown(row.gross_minor, row.tax_minor, row.net_minor),
            credit_applied_minor=row.credit_applied_minor,
            created_at=row.created_at,
            status=ChargeStatus(row.status),
            attempts=attempts,
            decline=_decline(row.decline_reason, row.decline_raw),
            psp=row.psp,
            psp_reference=row.psp_reference,
            refunded_minor=row.refunded_minor,
            refunded_to_method_minor=row.refunded_to_method_minor,
        )
        return ChargeRecord(
            row.tenant_id, charge, row.fingerprint, row.payment_method_type, row.payment_token, tuple(row.candidates)
        )

    @staticmethod
    def _values(record: ChargeRecord, now: datetime) -> dict[str, Any]:
        charge, request = record.charge, record.charge.request
        return {
            "idempotency_key": charge.idempotency_key,
            "fingerprint": record.fingerprint,
            "customer_id": request.customer_id,
            "storefront_id": request.storefront_id,
            "channel": request.channel,
            "plan_id": request.plan_id,
            "currency": request.currency,
            "price_minor": request.price_minor,
            "discount_minor": request.discount_minor,
            "gross_minor": charge.amounts.gross_minor,
            "tax_minor": charge.amounts.tax_minor,
            "net_minor": charge.amounts.net_minor,
            "credit_applied_minor": charge.credit_applied_minor,
            "refunded_minor": charge.refunded_minor,
            "refunded_to_method_minor": charge.refunded_to_method_minor,
            "status": charge.status.value,
            "decline_reason": charge.decline.reason.value if charge.decline else None,
            "decline_raw": charge.decline.raw_code if charge.decline else None,
            "psp": charge.psp,
            "psp_reference": charge.psp_reference,
            "payment_method_id": request.payment_method_id,
            "payment_method_type": record.payment_method_type,
            "payment_token": record.payment_token,
            "candidates": list(record.candidates),
            "description": request.description,
            "subscription_id": request.subscription_id,
            "period_key": request.period_key,
            "lines": [_line_to_json(line) for line in request.lines],
            "updated_at": now,
        }


class PostgresOpenChargeRepository:
    """Pending and unknown charges of every tenant (implements `ports.PostgresOpenChargeRepository`)."""

    def __init__(self, connection: AsyncConnection):
        self._c = connection

    async def untouched_since(self, touched_before: TenantTimes, limit: int) -> list[tuple[str, str]]:
        """(tenant, charge id) of open charges last written by their tenant's `touched_before`, least recently first."""
        c = charges.c
        by_own_time = c.updated_at <= _at(touched_before.base)
        if touched_before.offsets:
            own = {t: _at(touched_before.of(t)) for t in touched_before.offsets}
            by_own_time = c.updated_at <= sa.case(own, value=c.tenant_id, else_=_at(touched_before.base))
        rows = await self._c.execute(
            sa.select(c.tenant_id, c.id)
            .where(
                c.status.in_([ChargeStatus.PENDING.value, ChargeStatus.UNKNOWN.value]),
                c.updated_at <= _at(touched_before.latest),
                by_own_time,
            )
            .order_by(c.updated_at)
            .limit(limit)
        )
        return [(row.tenant_id, row.id) for row in rows.all()]


def _at(when: datetime) -> sa.BindParameter[datetime]:
    return sa.literal(when, sa.DateTime(timezone=True))
