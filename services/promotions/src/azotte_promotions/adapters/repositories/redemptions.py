"""Redemptions: one row per reserving request id, and the claim of timed-out reservations by the sweep."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_platform.clock import TenantTimes
from azotte_platform.enums import Channel
from azotte_promotions.adapters.tables import redemptions
from azotte_promotions.domain.promotion import DiscountDuration
from azotte_promotions.domain.redemption import Redemption, RedemptionState

_R = redemptions.c


class PostgresRedemptionRepository:
    """`ports.RedemptionRepository` over `redemptions`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, redemption: Redemption) -> None:
        await self._conn.execute(sa.insert(redemptions).values(**_row(redemption)))

    async def get(self, tenant_id: str, redemption_id: str, *, for_update: bool = False) -> Redemption | None:
        select = sa.select(redemptions).where(_R.tenant_id == tenant_id, _R.id == redemption_id)
        if for_update:
            select = select.with_for_update()
        row = (await self._conn.execute(select)).first()
        return None if row is None else _redemption(row)

    async def save(self, redemption: Redemption) -> None:
        await self._conn.execute(
            sa.update(redemptions)
            .where(_R.tenant_id == redemption.tenant_id, _R.id == redemption.id)
            .values(
                state=redemption.state.value,
                charge_id=redemption.charge_id,
                release_reason=redemption.release_reason,
                confirmed_at=redemption.confirmed_at,
                released_at=redemption.released_at,
            )
        )

    async def claim_expired(self, times: TenantTimes, limit: int) -> list[Redemption]:
        # NOTE: `times.latest` bounds every tenant's now; each row is then judged by its own tenant's now.
        # SKIP LOCKED: two sweeping replicas, or a confirmation in flight, never wait on each other here.
        select = (
            sa.select(redemptions)
            .where(_R.state == RedemptionState.RESERVED.value, _R.expires_at <= times.latest)
            .order_by(_R.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = [_redemption(row) for row in await self._conn.execute(select)]
        due = [r for r in rows if r.expires_at <= times.of(r.tenant_id)]
        return sorted(due, key=lambda r: (r.tenant_id, r.promotion_id, r.code, r.id))


def _row(r: Redemption) -> dict[str, Any]:
    return {
        "tenant_id": r.tenant_id,
        "id": r.id,
        "request_id": r.request_id,
        "promotion_id": r.promotion_id,
        "code": r.code,
        "batch_id": r.batch_id,
        "customer_id": r.customer_id,
        "plan_id": r.plan_id,
        "product_line": r.product_line,
        "storefront_id": r.storefront_id,
        "channel": r.channel.value if r.channel else "",
        "currency_code": r.currency_code,
        "gross_minor": r.gross_minor,
        "discount_minor": r.discount_minor,
        "duration": r.duration.value,
        "duration_periods": r.duration_periods,
        "extra_trial_days": r.extra_trial_days,
        "renewal_percent_basis_points": r.renewal_percent_basis_points,
        "renewal_amount_off_minor": r.renewal_amount_off_minor,
        "state": r.state.value,
        "expires_at": r.expires_at,
        "charge_id": r.charge_id,
        "release_reason": r.release_reason,
        "created_at": r.created_at,
        "confirmed_at": r.confirmed_at,
        "released_at": r.released_at,
    }


def _redemption(row: Any) -> Redemption:
    return Redemption(
        tenant_id=row.tenant_id,
        id=row.id,
        request_id=row.request_id,
        promotion_id=row.promotion_id,
        customer_id=row.customer_id,
        currency_code=row.currency_code,
        gross_minor=row.gross_minor,
        discount_minor=row.discount_minor,
        expires_at=row.expires_at,
        created_at=row.created_at,
        code=row.code,
        batch_id=row.batch_id,
        plan_id=row.plan_id,
        product_line=row.product_line,
        storefront_id=row.storefront_id,
        channel=Channel(row.channel) if row.channel else None,
        duration=DiscountDuration(row.duration),
        duration_periods=row.duration_periods,
        extra_trial_days=row.extra_trial_days,
        renewal_percent_basis_points=row.renewal_percent_basis_points,
        renewal_amount_off_minor=row.renewal_amount_off_minor,
        state=RedemptionState(row.state),
        charge_id=row.charge_id,
        release_reason=row.release_reason,
        confirmed_at=row.confirmed_at,
        released_at=row.released_at,
    )
