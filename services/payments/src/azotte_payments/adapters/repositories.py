"""Repositories over the payments tables; every query is scoped by tenant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.tables import (
    charge_attempts,
    charges,
    credit_balances,
    journal_entries,
    payment_methods,
    postings,
    refunds,
)
from azotte_payments.domain.charge import Attempt, Charge, ChargeRequest, ChargeStatus
from azotte_payments.domain.credit import CreditBalance
from azotte_payments.domain.declines import Decline, DeclineReason, Outcome
from azotte_payments.domain.ledger import Account, Dimensions, EntryKind, JournalEntry, Posting, Side
from azotte_payments.domain.payment_method import CustomerPaymentMethods, PaymentMethod, PaymentMethodType
from azotte_payments.domain.refund import Refund, RefundDestination, RefundStatus
from azotte_payments.domain.tax import TaxBreakdown
from azotte_platform.db.bulk import as_arrays, insert_unnested, update_unnested
from azotte_platform.errors import NotFound


@dataclass
class ChargeRecord:
    """A charge with what it needs to be resumed after a restart: its token, route and fingerprint."""

    tenant_id: str
    charge: Charge
    fingerprint: str
    payment_method_type: str
    payment_token: str
    candidates: tuple[str, ...]


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
)
_ATTEMPT_KEY = ("tenant_id", "charge_id", "number")
_upsert_attempts = insert_unnested(charge_attempts, (*_ATTEMPT_KEY, *_ATTEMPT_COLUMNS))
_UPSERT_ATTEMPTS = _upsert_attempts.on_conflict_do_update(
    index_elements=list(_ATTEMPT_KEY),
    set_={column: _upsert_attempts.excluded[column] for column in _ATTEMPT_COLUMNS},
)
_IDS = sa.bindparam("b_ids", type_=ARRAY(sa.Text))
_CHARGE_BY_ID = sa.select(charges).where(charges.c.tenant_id == _TENANT, charges.c.id == _ID)
_CHARGES_BY_KEYS = sa.select(charges).where(charges.c.tenant_id == _TENANT, charges.c.idempotency_key == sa.any_(_IDS))
_ATTEMPTS_OF = (
    sa.select(charge_attempts)
    .where(charge_attempts.c.tenant_id == _TENANT, charge_attempts.c.charge_id == sa.any_(_IDS))
    .order_by(charge_attempts.c.charge_id, charge_attempts.c.number)
)

_ENTRY_COLUMNS = tuple(column.name for column in journal_entries.c)
_INSERT_ENTRIES = (
    insert_unnested(journal_entries, _ENTRY_COLUMNS)
    .on_conflict_do_nothing(constraint="journal_entries_once_per_source")
    .returning(journal_entries.c.id)
)
_POSTING_COLUMNS = tuple(column.name for column in postings.c)
_INSERT_POSTINGS = insert_unnested(postings, _POSTING_COLUMNS)


class ChargeRepository:
    """Charges and their attempts."""

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

    async def get(self, charge_id: str, *, lock: bool = False) -> ChargeRecord:
        """The charge, or NotFound (also for another tenant's charge)."""
        found = await self._one(_CHARGE_BY_ID, charge_id, lock=lock)
        if found is None:
            raise NotFound(f"charge_id {charge_id!r}: no such charge", reason="CHARGE_NOT_FOUND")
        return found

    async def list_for_customer(
        self, customer_id: str, subscription_id: str, after: Sequence[Any] | None, limit: int
    ) -> list[ChargeRecord]:
        """A customer's charges, newest first, keyset-paginated on (created_at, id)."""
        query = sa.select(charges).where(charges.c.tenant_id == self._tenant, charges.c.customer_id == customer_id)
        if subscription_id:
            query = query.where(charges.c.subscription_id == subscription_id)
        if after is not None:
            query = query.where(
                sa.tuple_(charges.c.created_at, charges.c.id) < (datetime.fromisoformat(after[0]), after[1])
            )
        rows = await self._c.execute(query.order_by(charges.c.created_at.desc(), charges.c.id.desc()).limit(limit))
        return await self._records(rows.all())

    async def _one(self, query: sa.Select[Any], value: str, *, lock: bool) -> ChargeRecord | None:
        if lock:
            query = query.with_for_update(key_share=True)
        row = (await self._c.execute(query, {"b_tenant": self._tenant, "b_id": value})).first()
        return (await self._records([row]))[0] if row else None

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
            "updated_at": now,
        }


async def charges_to_resume(connection: AsyncConnection, touched_before: datetime, limit: int) -> list[tuple[str, str]]:
    """(tenant, charge id) of pending or unknown charges of every tenant last written by `touched_before`,
    least recently touched first."""
    rows = await connection.execute(
        sa.select(charges.c.tenant_id, charges.c.id)
        .where(
            charges.c.status.in_([ChargeStatus.PENDING.value, ChargeStatus.UNKNOWN.value]),
            charges.c.updated_at <= touched_before,
        )
        .order_by(charges.c.updated_at)
        .limit(limit)
    )
    return [(row.tenant_id, row.id) for row in rows.all()]


class PaymentMethodRepository:
    """Customers' tokenized payment methods."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def for_customer(self, customer_id: str, *, lock: bool = False) -> CustomerPaymentMethods:
        """Every method of the customer, oldest first (locked for update when asked)."""
        query = sa.select(payment_methods).where(payment_methods.c.customer_id == customer_id)
        if lock:
            query = query.with_for_update()
        return (await self._by_customer(query, [customer_id]))[customer_id]

    async def for_customers(self, customer_ids: Sequence[str]) -> dict[str, CustomerPaymentMethods]:
        """Every method of each customer, oldest first, by customer."""
        query = sa.select(payment_methods).where(payment_methods.c.customer_id == sa.any_(_IDS))
        return await self._by_customer(query, customer_ids, {"b_ids": list(customer_ids)})

    async def _by_customer(
        self, query: sa.Select[Any], customer_ids: Sequence[str], params: dict[str, Any] | None = None
    ) -> dict[str, CustomerPaymentMethods]:
        query = query.where(payment_methods.c.tenant_id == self._tenant).order_by(
            payment_methods.c.created_at, payment_methods.c.seq
        )
        found: dict[str, CustomerPaymentMethods] = {c: CustomerPaymentMethods(c, []) for c in customer_ids}
        for row in (await self._c.execute(query, params)).all():
            found[row.customer_id].methods.append(
                PaymentMethod(
                    payment_method_id=row.id,
                    customer_id=row.customer_id,
                    method_type=PaymentMethodType(row.method_type),
                    token=row.token,
                    created_at=row.created_at,
                    brand=row.brand,
                    last4=row.last4,
                    exp_month=row.exp_month,
                    exp_year=row.exp_year,
                    is_default=row.is_default,
                )
            )
        return found

    async def save(self, customer: CustomerPaymentMethods, removed: Sequence[str] = ()) -> None:
        """Write every method of the customer and delete the removed ones."""
        if removed:
            await self._c.execute(
                sa.delete(payment_methods).where(
                    payment_methods.c.tenant_id == self._tenant, payment_methods.c.id.in_(list(removed))
                )
            )
        for method in customer.methods:
            values = {
                "customer_id": method.customer_id,
                "method_type": method.method_type.value,
                "token": method.token,
                "brand": method.brand,
                "last4": method.last4,
                "exp_month": method.exp_month,
                "exp_year": method.exp_year,
                "is_default": method.is_default,
                "created_at": method.created_at,
            }
            await self._c.execute(
                insert(payment_methods)
                .values(tenant_id=self._tenant, id=method.payment_method_id, **values)
                .on_conflict_do_update(index_elements=["tenant_id", "id"], set_={"is_default": method.is_default})
            )


class RefundRepository:
    """Refunds of charges."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def add(self, refund: Refund, reason: str) -> None:
        """Store a refund."""
        await self._c.execute(
            refunds.insert().values(
                tenant_id=self._tenant,
                id=refund.refund_id,
                charge_id=refund.charge_id,
                currency=refund.currency,
                gross_minor=refund.amounts.gross_minor,
                tax_minor=refund.amounts.tax_minor,
                net_minor=refund.amounts.net_minor,
                destination=refund.destination.value,
                status=refund.status.value,
                psp_reference=refund.psp_reference,
                reason=reason,
                created_at=refund.created_at,
            )
        )

    async def for_charge(self, charge_id: str) -> list[tuple[Refund, str]]:
        """A charge's refunds with their reasons, oldest first."""
        rows = await self._c.execute(
            sa.select(refunds)
            .where(refunds.c.tenant_id == self._tenant, refunds.c.charge_id == charge_id)
            .order_by(refunds.c.created_at, refunds.c.id)
        )
        return [
            (
                Refund(
                    row.id,
                    row.charge_id,
                    row.currency,
                    TaxBreakdown(row.gross_minor, row.tax_minor, row.net_minor),
                    RefundDestination(row.destination),
                    row.created_at,
                    RefundStatus(row.status),
                    row.psp_reference,
                ),
                row.reason,
            )
            for row in rows.all()
        ]


class CreditRepository:
    """Customer credit balances."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def get(self, customer_id: str, currency: str, *, lock: bool = False) -> CreditBalance:
        """The balance (zero when the customer never had credit), locked when asked."""
        if lock:
            # NOTE: create the row first so that concurrent spenders serialize on it.
            await self._c.execute(
                insert(credit_balances)
                .values(tenant_id=self._tenant, customer_id=customer_id, currency=currency, balance_minor=0)
                .on_conflict_do_nothing()
            )
        query = sa.select(credit_balances.c.balance_minor).where(
            credit_balances.c.tenant_id == self._tenant,
            credit_balances.c.customer_id == customer_id,
            credit_balances.c.currency == currency,
        )
        if lock:
            query = query.with_for_update()
        balance = (await self._c.execute(query)).scalar()
        return CreditBalance(customer_id, currency, int(balance or 0))

    async def spendable(self, customer_ids: Sequence[str]) -> dict[tuple[str, str], CreditBalance]:
        """The customers' positive balances by (customer, currency), locked; missing ones are zero."""
        query = (
            sa.select(credit_balances)
            .where(
                credit_balances.c.tenant_id == self._tenant,
                credit_balances.c.customer_id == sa.any_(_IDS),
                credit_balances.c.balance_minor > 0,
            )
            .order_by(credit_balances.c.customer_id, credit_balances.c.currency)
            .with_for_update()
        )
        rows = (await self._c.execute(query, {"b_ids": list(customer_ids)})).all()
        return {(r.customer_id, r.currency): CreditBalance(r.customer_id, r.currency, r.balance_minor) for r in rows}

    async def save(self, balance: CreditBalance) -> None:
        """Write the balance."""
        await self.save_many([balance])

    async def save_many(self, balances: Sequence[CreditBalance]) -> None:
        """Write the balances."""
        if not balances:
            return
        statement = insert(credit_balances)
        await self._c.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "customer_id", "currency"],
                set_={"balance_minor": statement.excluded.balance_minor},
            ),
            [
                {
                    "tenant_id": self._tenant,
                    "customer_id": b.customer_id,
                    "currency": b.currency,
                    "balance_minor": b.balance_minor,
                }
                for b in balances
            ],
        )


class LedgerRepository:
    """The double-entry journal."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def post(self, entry: JournalEntry) -> bool:
        """Persist an entry and its postings; False if its source was already posted."""
        return bool(await self.post_many([entry]))

    async def post_many(self, entries: Sequence[JournalEntry]) -> list[JournalEntry]:
        """Persist entries and their postings; the entries posted (a source already posted is skipped)."""
        if not entries:
            return []
        rows = [
            {
                "tenant_id": self._tenant,
                "id": entry.entry_id,
                "kind": entry.kind.value,
                "source_id": entry.source_id,
                "currency": entry.currency,
                "storefront_id": entry.dimensions.storefront_id,
                "channel": entry.dimensions.channel,
                "plan_id": entry.dimensions.plan_id,
                "period": entry.dimensions.period,
                "occurred_at": entry.occurred_at,
            }
            for entry in entries
        ]
        result = await self._c.execute(_INSERT_ENTRIES, as_arrays(rows, _ENTRY_COLUMNS))
        inserted = set(result.scalars().all())
        posted = [entry for entry in entries if entry.entry_id in inserted]
        lines = [
            {
                "tenant_id": self._tenant,
                "entry_id": entry.entry_id,
                "line": line,
                "currency": entry.currency,
                "account": posting.account.value,
                "side": posting.side.value,
                "amount_minor": posting.amount_minor,
            }
            for entry in posted
            for line, posting in enumerate(entry.postings, start=1)
        ]
        if lines:
            await self._c.execute(_INSERT_POSTINGS, as_arrays(lines, _POSTING_COLUMNS))
        return posted

    async def entry_for(self, kind: EntryKind, source_id: str) -> JournalEntry | None:
        """The entry a source caused."""
        entries = await self._entries(
            (journal_entries.c.kind == kind.value) & (journal_entries.c.source_id == source_id)
        )
        return entries[0] if entries else None

    async def entries_between(self, period_from: str, period_to: str) -> list[JournalEntry]:
        """Entries of accounting months in [period_from, period_to]."""
        return await self._entries(journal_entries.c.period.between(period_from, period_to))

    async def trial_balance(self, currency: str) -> dict[str, dict[str, int]]:
        """Debit-positive balance of every account per currency, summed in the database."""
        signed = sa.case((postings.c.side == Side.DEBIT.value, postings.c.amount_minor), else_=-postings.c.amount_minor)
        query = (
            sa.select(postings.c.currency, postings.c.account, sa.func.sum(signed).label("balance"))
            .where(postings.c.tenant_id == self._tenant)
            .group_by(postings.c.currency, postings.c.account)
            .order_by(postings.c.currency, postings.c.account)
        )
        if currency:
            query = query.where(postings.c.currency == currency)
        balances: dict[str, dict[str, int]] = {}
        for row in (await self._c.execute(query)).all():
            balances.setdefault(row.currency, {})[row.account] = int(row.balance)
        return balances

    async def _entries(self, condition: sa.ColumnElement[bool]) -> list[JournalEntry]:
        rows = (
            await self._c.execute(
                sa.select(journal_entries, postings.c.account, postings.c.side, postings.c.amount_minor)
                .join(
                    postings,
                    (postings.c.tenant_id == journal_entries.c.tenant_id)
                    & (postings.c.entry_id == journal_entries.c.id),
                )
                .where(journal_entries.c.tenant_id == self._tenant, condition)
                .order_by(journal_entries.c.occurred_at, journal_entries.c.id, postings.c.line)
            )
        ).all()
        grouped: dict[str, tuple[Any, list[Posting]]] = {}
        for row in rows:
            grouped.setdefault(row.id, (row, []))[1].append(
                Posting(Account(row.account), Side(row.side), row.amount_minor)
            )
        return [
            JournalEntry(
                row.id,
                row.tenant_id,
                EntryKind(row.kind),
                row.source_id,
                row.currency,
                Dimensions(row.storefront_id, row.channel, row.plan_id, row.period),
                row.occurred_at,
                tuple(lines),
            )
            for row, lines in grouped.values()
        ]
