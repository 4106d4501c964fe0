"""A tenant's PSP accounts (credentials stored sealed only) and the PSP webhook events already applied."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.tables import psp_accounts, psp_webhook_events
from azotte_payments.domain.psp_account import PspAccount, PspKind, PspMode
from azotte_payments.errors import PspAccountNotFound
from azotte_platform.sealing import Sealed


class PostgresPspAccountRepository:
    """One tenant's PSP accounts (implements `ports.PspAccountRepository`)."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def add(self, account: PspAccount) -> bool:
        """Store a new account; False when the tenant already has one of its id."""
        row = {"tenant_id": self._tenant, "id": account.account_id, **_columns(account)}
        result = await self._c.execute(insert(psp_accounts).values(row).on_conflict_do_nothing())
        return bool(result.rowcount)

    async def get(self, account_id: str) -> PspAccount:
        """The account, or PspAccountNotFound."""
        row = (await self._c.execute(sa.select(psp_accounts).where(*self._is(account_id)))).first()
        if row is None:
            raise PspAccountNotFound(f"PSP account {account_id!r} not found")
        return _account(row)

    async def list(self) -> list[PspAccount]:
        """Every account of the tenant, by id."""
        query = sa.select(psp_accounts).where(psp_accounts.c.tenant_id == self._tenant).order_by(psp_accounts.c.id)
        return [_account(row) for row in await self._c.execute(query)]

    async def save(self, account: PspAccount) -> None:
        """Write the account's sealed credentials and hints."""
        await self._c.execute(psp_accounts.update().where(*self._is(account.account_id)).values(_columns(account)))

    async def claim_webhook_event(self, account_id: str, event_id: str, event_type: str, now: datetime) -> bool:
        """Record a webhook event as applied; False when it already was (a redelivery)."""
        row = {
            "tenant_id": self._tenant,
            "account_id": account_id,
            "event_id": event_id,
            "event_type": event_type,
            "received_at": now,
        }
        result = await self._c.execute(insert(psp_webhook_events).values(row).on_conflict_do_nothing())
        return bool(result.rowcount)

    def _is(self, account_id: str) -> Sequence[sa.ColumnElement[bool]]:
        return (psp_accounts.c.tenant_id == self._tenant, psp_accounts.c.id == account_id)


def _columns(account: PspAccount) -> dict[str, Any]:
    return {
        "kind": account.kind.value,
        "mode": account.mode.value,
        "display_name": account.display_name,
        "credential_hints": account.credential_hints,
        "kek_id": account.sealed.kek_id,
        "wrapped_key": account.sealed.wrapped_key,
        "nonce": account.sealed.nonce,
        "ciphertext": account.sealed.ciphertext,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def _account(row: Any) -> PspAccount:
    return PspAccount(
        account_id=row.id,
        kind=PspKind(row.kind),
        mode=PspMode(row.mode),
        display_name=row.display_name,
        credential_hints=dict(row.credential_hints),
        sealed=Sealed(row.kek_id, bytes(row.wrapped_key), bytes(row.nonce), bytes(row.ciphertext)),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
