"""Connect a tenant's own PSP account, read accounts back (hints only), re-wrap their keys after a KEK rotation."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_payments.domain.psp_account import (
    PspAccount,
    PspCredentials,
    PspKind,
    PspMode,
    sealing_binding,
    validate_account,
)
from azotte_payments.errors import InvalidPspAccount, PspAccountAlreadyExists
from azotte_payments.ports import CredentialSealer, PaymentsUnitOfWork

MAX_DISPLAY_NAME = 200


@dataclass(frozen=True)
class ConnectPspAccount:
    """A new account: its id (the name routing rules use), kind, mode and plaintext credentials."""

    account_id: str
    kind: PspKind
    mode: PspMode
    display_name: str
    credentials: PspCredentials


async def connect_psp_account(
    uow: PaymentsUnitOfWork, sealer: CredentialSealer, tenant_id: str, command: ConnectPspAccount
) -> PspAccount:
    """Seal the credentials and store the account; ALREADY_EXISTS when the tenant has one of that id."""
    validate_account(command.account_id, command.kind, command.mode, command.credentials)
    if len(command.display_name) > MAX_DISPLAY_NAME:
        raise InvalidPspAccount.field("account.display_name", f"must be at most {MAX_DISPLAY_NAME} characters")
    now = uow.clock.now()
    account = PspAccount(
        account_id=command.account_id,
        kind=command.kind,
        mode=command.mode,
        display_name=command.display_name,
        credential_hints=command.credentials.hints(),
        sealed=sealer.seal(command.credentials, sealing_binding(tenant_id, command.account_id)),
        created_at=now,
        updated_at=now,
    )
    if not await uow.psp_accounts(tenant_id).add(account):
        raise PspAccountAlreadyExists(f"PSP account {command.account_id!r} already exists")
    return account


async def get_psp_account(uow: PaymentsUnitOfWork, tenant_id: str, account_id: str) -> PspAccount:
    """One account of the tenant (PspAccountNotFound otherwise)."""
    return await uow.psp_accounts(tenant_id).get(account_id)


async def list_psp_accounts(uow: PaymentsUnitOfWork, tenant_id: str) -> list[PspAccount]:
    """Every account of the tenant, by id."""
    return await uow.psp_accounts(tenant_id).list()


async def rewrap_psp_accounts(uow: PaymentsUnitOfWork, sealer: CredentialSealer, tenant_id: str) -> int:
    """Wrap every account's data key with the active KEK; how many accounts changed."""
    accounts = uow.psp_accounts(tenant_id)
    changed = 0
    for account in await accounts.list():
        rewrapped = sealer.rewrap(account.sealed, sealing_binding(tenant_id, account.account_id))
        if rewrapped is None:
            continue
        account.sealed = rewrapped
        account.updated_at = uow.clock.now()
        await accounts.save(account)
        changed += 1
    return changed
