"""Wallets with their grants, movements and auto-recharges (`billing_ports.WalletRepository`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_metering.adapters.tables import credit_grants, wallet_movements, wallet_recharges, wallets
from azotte_metering.billing_ports import MovementEntry, Recharge, RechargeState
from azotte_metering.domain.wallets import AutoRecharge, CreditGrant, GrantSource, Movement, MovementKind, Wallet

_W = wallets.c
_G = credit_grants.c
_M = wallet_movements.c
_R = wallet_recharges.c
_TEXTS = ARRAY(sa.Text)


class PostgresWalletRepository:
    """`billing_ports.WalletRepository`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def get(self, tenant_id: str, customer_id: str, currency_code: str) -> Wallet | None:
        row = (
            await self._conn.execute(
                sa.select(wallets).where(
                    _W.tenant_id == tenant_id, _W.customer_id == customer_id, _W.currency_code == currency_code
                )
            )
        ).first()
        if row is None:
            return None
        grants = await self._grants(tenant_id, [customer_id], [currency_code])
        return _wallet(row, grants.get((customer_id, currency_code), []))

    async def of_customers(self, tenant_id: str, customer_ids: Sequence[str]) -> dict[str, list[Wallet]]:
        rows = (
            await self._conn.execute(
                sa.select(wallets)
                .where(_W.tenant_id == tenant_id, _W.customer_id == sa.any_(sa.literal(list(customer_ids), _TEXTS)))
                .order_by(_W.customer_id, _W.currency_code)
            )
        ).all()
        grants = await self._grants(tenant_id, list(customer_ids), sorted({row.currency_code for row in rows}))
        found: dict[str, list[Wallet]] = {}
        for row in rows:
            wallet = _wallet(row, grants.get((row.customer_id, row.currency_code), []))
            found.setdefault(row.customer_id, []).append(wallet)
        return found

    async def _grants(
        self, tenant_id: str, customer_ids: Sequence[str], currencies: Sequence[str]
    ) -> dict[tuple[str, str], list[CreditGrant]]:
        """The grants with credit left of those customers' wallets in those currencies, by (customer, currency).

        NOTE: only grants with credit left: emptied ones no longer move the balance (their history stays).
        """
        rows = await self._conn.execute(
            sa.select(credit_grants)
            .where(
                _G.tenant_id == tenant_id,
                _G.customer_id == sa.any_(sa.literal(list(customer_ids), _TEXTS)),
                _G.currency_code.in_(currencies),
                _G.remaining_minor > 0,
            )
            .order_by(_G.granted_at, _G.grant_id)
        )
        found: dict[tuple[str, str], list[CreditGrant]] = {}
        for row in rows:
            found.setdefault((row.customer_id, row.currency_code), []).append(
                CreditGrant(
                    row.grant_id,
                    row.amount_minor,
                    row.remaining_minor,
                    row.priority,
                    GrantSource(row.source),
                    row.granted_at,
                    row.expires_at,
                )
            )
        return found

    async def save(self, tenant_id: str, wallet: Wallet, now: datetime) -> None:
        rule = wallet.auto_recharge
        values = {
            "storefront_id": wallet.storefront_id,
            "recharge_threshold_minor": rule.threshold_minor if rule is not None else None,
            "recharge_amount_minor": rule.amount_minor if rule is not None else None,
            "recharges": wallet.recharges,
            "updated_at": now,
        }
        statement = insert(wallets).values(
            tenant_id=tenant_id,
            customer_id=wallet.customer_id,
            currency_code=wallet.currency_code,
            created_at=now,
            **values,
        )
        await self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=[_W.tenant_id, _W.customer_id, _W.currency_code], set_=values
            )
        )
        if not wallet.grants:
            return
        grants = insert(credit_grants).values(
            [
                {
                    "tenant_id": tenant_id,
                    "grant_id": grant.grant_id,
                    "customer_id": wallet.customer_id,
                    "currency_code": wallet.currency_code,
                    "amount_minor": grant.amount_minor,
                    "remaining_minor": grant.remaining_minor,
                    "priority": grant.priority,
                    "source": grant.source.value,
                    "granted_at": grant.granted_at,
                    "expires_at": grant.expires_at,
                }
                for grant in wallet.grants
            ]
        )
        await self._conn.execute(
            grants.on_conflict_do_update(
                index_elements=[_G.tenant_id, _G.grant_id], set_={"remaining_minor": grants.excluded.remaining_minor}
            )
        )

    async def record(
        self, tenant_id: str, wallet: Wallet, movements: Sequence[Movement], balance_after_minor: int
    ) -> None:
        if not movements:
            return
        await self._conn.execute(
            sa.insert(wallet_movements),
            [
                {
                    "tenant_id": tenant_id,
                    "customer_id": wallet.customer_id,
                    "currency_code": wallet.currency_code,
                    "kind": movement.kind.value,
                    "amount_minor": movement.amount_minor,
                    "grant_id": movement.grant_id,
                    "reference": movement.reference,
                    "balance_after_minor": balance_after_minor,
                    "at": movement.at,
                }
                for movement in movements
            ],
        )

    async def movements(
        self, tenant_id: str, customer_id: str, currency_code: str, limit: int, before_seq: int | None
    ) -> list[MovementEntry]:
        select = (
            sa.select(wallet_movements)
            .where(_M.tenant_id == tenant_id, _M.customer_id == customer_id, _M.currency_code == currency_code)
            .order_by(_M.seq.desc())
            .limit(limit)
        )
        if before_seq is not None:
            select = select.where(_M.seq < before_seq)
        return [
            MovementEntry(
                row.seq,
                row.currency_code,
                Movement(MovementKind(row.kind), row.amount_minor, row.grant_id, row.at, row.reference),
                row.balance_after_minor,
            )
            for row in await self._conn.execute(select)
        ]

    async def add_recharge(self, recharge: Recharge, now: datetime) -> None:
        await self._conn.execute(
            insert(wallet_recharges)
            .values(**_recharge_row(recharge), created_at=now, updated_at=now)
            .on_conflict_do_nothing()
        )

    async def lock_recharge(self, tenant_id: str, recharge_id: str) -> Recharge | None:
        row = (
            await self._conn.execute(
                sa.select(wallet_recharges)
                .where(_R.tenant_id == tenant_id, _R.recharge_id == recharge_id)
                .with_for_update()
            )
        ).first()
        return None if row is None else _recharge(row)

    async def save_recharge(self, recharge: Recharge, now: datetime) -> None:
        await self._conn.execute(
            sa.update(wallet_recharges)
            .where(_R.tenant_id == recharge.tenant_id, _R.recharge_id == recharge.recharge_id)
            .values(state=recharge.state.value, charge_id=recharge.charge_id, failure=recharge.failure, updated_at=now)
        )

    async def pending_recharges(self, limit: int) -> list[Recharge]:
        rows = await self._conn.execute(
            sa.select(wallet_recharges)
            .where(_R.state == RechargeState.PENDING.value)
            .order_by(_R.created_at)
            .limit(limit)
        )
        return [_recharge(row) for row in rows]


def _wallet(row: Any, grants: list[CreditGrant]) -> Wallet:
    rule = None
    if row.recharge_threshold_minor is not None and row.recharge_amount_minor is not None:
        rule = AutoRecharge(row.recharge_threshold_minor, row.recharge_amount_minor)
    return Wallet(row.customer_id, row.currency_code, row.storefront_id, grants, rule, row.recharges)


def _recharge_row(recharge: Recharge) -> dict[str, Any]:
    return {
        "tenant_id": recharge.tenant_id,
        "recharge_id": recharge.recharge_id,
        "customer_id": recharge.customer_id,
        "currency_code": recharge.currency_code,
        "storefront_id": recharge.storefront_id,
        "amount_minor": recharge.amount_minor,
        "state": recharge.state.value,
        "charge_id": recharge.charge_id,
        "failure": recharge.failure,
    }


def _recharge(row: Any) -> Recharge:
    return Recharge(
        row.tenant_id,
        row.recharge_id,
        row.customer_id,
        row.currency_code,
        row.storefront_id,
        row.amount_minor,
        RechargeState(row.state),
        row.charge_id,
        row.failure,
    )
