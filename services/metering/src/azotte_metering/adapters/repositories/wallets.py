"""Wallets with their grants, movements and auto-recharges (`billing_ports.WalletRepository`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_metering.adapters.tables import credit_grants, wallet_movements, wallet_recharges, wallets
from azotte_metering.billing_ports import MovementEntry, Recharge, RechargeState, WalletChange
from azotte_metering.domain.wallets import AutoRecharge, CreditGrant, GrantSource, Movement, MovementKind, Wallet
from azotte_platform.db.bulk import as_arrays, insert_unnested

_W = wallets.c
_G = credit_grants.c
_M = wallet_movements.c
_R = wallet_recharges.c
_TEXTS = ARRAY(sa.Text)
_WALLETS_OF = (
    sa.select(wallets)
    .where(
        _W.tenant_id == sa.bindparam("tenant_id"), _W.customer_id == sa.any_(sa.bindparam("customer_ids", type_=_TEXTS))
    )
    .order_by(_W.customer_id, _W.currency_code)
)
_GRANTS_OF = (
    sa.select(credit_grants)
    .where(
        _G.tenant_id == sa.bindparam("tenant_id"),
        _G.customer_id == sa.any_(sa.bindparam("customer_ids", type_=_TEXTS)),
        _G.currency_code == sa.any_(sa.bindparam("currencies", type_=_TEXTS)),
        _G.remaining_minor > 0,
    )
    .order_by(_G.granted_at, _G.grant_id)
)
"""NOTE: only grants with credit left: emptied ones no longer move the balance (their history stays)."""


def _upsert(table: sa.Table, updated: Sequence[str]) -> Insert:
    """Insert rows of every column of `table` (`as_arrays`), updating `updated` of those its key names already."""
    statement = insert_unnested(table, [column.name for column in table.c])
    return statement.on_conflict_do_update(
        index_elements=list(table.primary_key.columns), set_={name: statement.excluded[name] for name in updated}
    )


_WALLET_COLUMNS = [column.name for column in wallets.c]
_SAVE_WALLETS = _upsert(
    wallets, ("storefront_id", "recharge_threshold_minor", "recharge_amount_minor", "recharges", "updated_at")
)
_GRANT_COLUMNS = [column.name for column in credit_grants.c]
_SAVE_GRANTS = _upsert(credit_grants, ("remaining_minor",))
_MOVEMENT_COLUMNS = [column.name for column in wallet_movements.c if column.name != "seq"]
_RECORD = insert_unnested(wallet_movements, _MOVEMENT_COLUMNS)
"""NOTE: a movement's seq (its place in the history) is drawn as its row is inserted, in the order given."""


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
            await self._conn.execute(_WALLETS_OF, {"tenant_id": tenant_id, "customer_ids": list(customer_ids)})
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
        """The grants with credit left of those customers' wallets in those currencies, by (customer, currency)."""
        rows = await self._conn.execute(
            _GRANTS_OF, {"tenant_id": tenant_id, "customer_ids": list(customer_ids), "currencies": list(currencies)}
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

    async def save(self, tenant_id: str, changes: Sequence[WalletChange], now: datetime) -> None:
        if not changes:
            return
        wallet_rows = [_wallet_row(tenant_id, change.wallet, now) for change in changes]
        await self._conn.execute(_SAVE_WALLETS, as_arrays(wallet_rows, _WALLET_COLUMNS))
        grant_rows = [
            _grant_row(tenant_id, change.wallet, grant) for change in changes for grant in change.wallet.grants
        ]
        if grant_rows:
            await self._conn.execute(_SAVE_GRANTS, as_arrays(grant_rows, _GRANT_COLUMNS))
        movement_rows = [
            _movement_row(tenant_id, change, movement) for change in changes for movement in change.movements
        ]
        if movement_rows:
            await self._conn.execute(_RECORD, as_arrays(movement_rows, _MOVEMENT_COLUMNS))

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


def _wallet_row(tenant_id: str, wallet: Wallet, now: datetime) -> dict[str, Any]:
    rule = wallet.auto_recharge
    return {
        "tenant_id": tenant_id,
        "customer_id": wallet.customer_id,
        "currency_code": wallet.currency_code,
        "storefront_id": wallet.storefront_id,
        "recharge_threshold_minor": rule.threshold_minor if rule is not None else None,
        "recharge_amount_minor": rule.amount_minor if rule is not None else None,
        "recharges": wallet.recharges,
        "created_at": now,
        "updated_at": now,
    }


def _grant_row(tenant_id: str, wallet: Wallet, grant: CreditGrant) -> dict[str, Any]:
    return {
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


def _movement_row(tenant_id: str, change: WalletChange, movement: Movement) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "customer_id": change.wallet.customer_id,
        "currency_code": change.wallet.currency_code,
        "kind": movement.kind.value,
        "amount_minor": movement.amount_minor,
        "grant_id": movement.grant_id,
        "reference": movement.reference,
        "balance_after_minor": change.balance_after_minor,
        "at": movement.at,
    }


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
