"""The double-entry journal: entries, their postings, and balances summed in the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.tables import journal_entries, postings
from azotte_payments.domain.ledger import Account, Dimensions, EntryKind, JournalEntry, Posting, Side
from azotte_platform.db.bulk import as_arrays, insert_unnested

_ENTRY_COLUMNS = tuple(column.name for column in journal_entries.c)
_INSERT_ENTRIES = (
    insert_unnested(journal_entries, _ENTRY_COLUMNS)
    .on_conflict_do_nothing(constraint="journal_entries_once_per_source")
    .returning(journal_entries.c.id)
)
_POSTING_COLUMNS = tuple(column.name for column in postings.c)
_INSERT_POSTINGS = insert_unnested(postings, _POSTING_COLUMNS)


class PostgresLedgerRepository:
    """The double-entry journal (implements `ports.PostgresLedgerRepository`)."""

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
