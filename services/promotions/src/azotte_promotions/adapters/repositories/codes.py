"""Codes and code batches; a batch's codes are inserted in one statement of unnested arrays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_platform.db.bulk import as_arrays, insert_unnested
from azotte_promotions.adapters.tables import code_batches, promotion_codes
from azotte_promotions.domain.codes import CodeBatch, PromotionCode
from azotte_promotions.errors import CodeExists

_BATCH_COLUMNS = ("tenant_id", "code", "promotion_id", "batch_id", "max_redemptions", "expires_at", "created_at")
# NOTE: a code another batch (or a shared code) already has is skipped; the caller draws that many again.
_INSERT_BATCH_CODES = insert_unnested(promotion_codes, _BATCH_COLUMNS).on_conflict_do_nothing()


class PostgresCodeRepository:
    """`ports.CodeRepository` over `promotion_codes` and `code_batches`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, code: PromotionCode) -> None:
        inserted = await self._conn.execute(
            insert(promotion_codes)
            .values(
                tenant_id=code.tenant_id,
                code=code.code,
                promotion_id=code.promotion_id,
                batch_id=code.batch_id,
                max_redemptions=code.max_redemptions,
                max_per_customer=code.max_per_customer,
                expires_at=code.expires_at,
                created_at=code.created_at,
            )
            .on_conflict_do_nothing()
            .returning(promotion_codes.c.code)
        )
        if inserted.first() is None:
            raise CodeExists(f"the code {code.code!r} is taken")

    async def add_batch(self, batch: CodeBatch, codes: Sequence[str]) -> int:
        await self._conn.execute(
            insert(code_batches)
            .values(
                tenant_id=batch.tenant_id,
                id=batch.id,
                promotion_id=batch.promotion_id,
                prefix=batch.prefix,
                code_count=batch.code_count,
                expires_at=batch.expires_at,
                created_at=batch.created_at,
            )
            .on_conflict_do_nothing()
        )
        rows = [
            {
                "tenant_id": batch.tenant_id,
                "code": code,
                "promotion_id": batch.promotion_id,
                "batch_id": batch.id,
                "max_redemptions": 1,
                "expires_at": batch.expires_at,
                "created_at": batch.created_at,
            }
            for code in codes
        ]
        inserted = await self._conn.execute(_INSERT_BATCH_CODES, as_arrays(rows, _BATCH_COLUMNS))
        return int(inserted.rowcount)

    async def get(self, tenant_id: str, code: str) -> PromotionCode | None:
        c, b = promotion_codes.c, code_batches.c
        row = (
            await self._conn.execute(
                sa.select(promotion_codes, b.revoked_at.label("batch_revoked_at"))
                .select_from(
                    promotion_codes.outerjoin(code_batches, sa.and_(b.tenant_id == c.tenant_id, b.id == c.batch_id))
                )
                .where(c.tenant_id == tenant_id, c.code == code)
            )
        ).first()
        return None if row is None else _code(row, row.batch_revoked_at is not None)

    async def find(self, tenant_id: str, promotion_id: str, limit: int, after: str | None) -> list[PromotionCode]:
        c = promotion_codes.c
        select = (
            sa.select(promotion_codes)
            .where(c.tenant_id == tenant_id, c.promotion_id == promotion_id, c.batch_id == "")
            .order_by(c.code)
            .limit(limit)
        )
        if after is not None:
            select = select.where(c.code > after)
        return [_code(row) for row in await self._conn.execute(select)]

    async def revoke(self, tenant_id: str, code: str, now: datetime) -> None:
        c = promotion_codes.c
        await self._conn.execute(
            sa.update(promotion_codes)
            .where(c.tenant_id == tenant_id, c.code == code, c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def bind(self, tenant_id: str, code: str, customer_id: str) -> None:
        c = promotion_codes.c
        await self._conn.execute(
            sa.update(promotion_codes).where(c.tenant_id == tenant_id, c.code == code).values(customer_id=customer_id)
        )

    async def get_batch(self, tenant_id: str, batch_id: str) -> CodeBatch | None:
        b = code_batches.c
        row = (
            await self._conn.execute(sa.select(code_batches).where(b.tenant_id == tenant_id, b.id == batch_id))
        ).first()
        if row is None:
            return None
        return CodeBatch(
            row.tenant_id,
            row.id,
            row.promotion_id,
            row.code_count,
            row.prefix,
            row.expires_at,
            row.revoked_at is not None,
            row.created_at,
        )

    async def revoke_batch(self, tenant_id: str, batch_id: str, now: datetime) -> None:
        b = code_batches.c
        await self._conn.execute(
            sa.update(code_batches)
            .where(b.tenant_id == tenant_id, b.id == batch_id, b.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def export(self, tenant_id: str, batch_id: str, limit: int, after: str | None) -> list[str]:
        c = promotion_codes.c
        select = sa.select(c.code).where(c.tenant_id == tenant_id, c.batch_id == batch_id).order_by(c.code).limit(limit)
        if after is not None:
            select = select.where(c.code > after)
        return list((await self._conn.execute(select)).scalars())


def _code(row: Any, batch_revoked: bool = False) -> PromotionCode:
    return PromotionCode(
        row.tenant_id,
        row.code,
        row.promotion_id,
        row.batch_id,
        row.max_redemptions,
        row.max_per_customer,
        row.expires_at,
        row.revoked_at is not None or batch_revoked,
        row.reserved_count,
        row.confirmed_count,
        row.created_at,
        row.customer_id,
    )
