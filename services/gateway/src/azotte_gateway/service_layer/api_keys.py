"""Use cases of tenant administration: tenants, API keys and the first-start bootstrap."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from azotte_gateway.domain.api_keys import ApiKey, IssuedApiKey, issue_api_key
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.service_layer.unit_of_work import GatewayUnitOfWork
from azotte_platform.errors import AlreadyExists, NotFound, PermissionDenied
from azotte_platform.paging import Page

log = logging.getLogger(__name__)

SANDBOX_TENANT_ID = "sandbox"
SANDBOX_KEY_FILE = "sandbox-admin.key"
UowFactory = Callable[[], GatewayUnitOfWork]


def new_api_key_id(now: datetime) -> str:
    """A key id that sorts by creation time."""
    return f"key_{int(now.timestamp() * 1000):012x}{secrets.token_hex(6)}"


@dataclass(frozen=True)
class CreatedTenant:
    """A new tenant and its first admin key (the secret is shown once)."""

    tenant: Tenant
    admin_key: IssuedApiKey


async def _create_tenant(uow: GatewayUnitOfWork, tenant: Tenant, now: datetime) -> CreatedTenant:
    if not await uow.tenants.add(tenant, now):
        raise AlreadyExists(f"tenant {tenant.id!r} already exists", reason="TENANT_EXISTS")
    issued = issue_api_key(tenant=tenant, key_id=new_api_key_id(now), name="first admin key", role=Role.ADMIN, now=now)
    await uow.api_keys.add(issued.api_key)
    return CreatedTenant(tenant, issued)


async def create_tenant(
    uow: GatewayUnitOfWork, *, creator: Tenant, tenant_id: str, name: str, mode: TenantMode, now: datetime
) -> CreatedTenant:
    """Create a tenant with its first admin key in `uow` (not committed); only the root tenant's admins may."""
    if not creator.is_root:
        raise PermissionDenied(
            f"only administrators of the root tenant may create tenants; {creator.id!r} is not the root tenant",
            reason="ROOT_TENANT_REQUIRED",
        )
    return await _create_tenant(uow, Tenant(id=tenant_id, name=name, mode=mode), now)


async def bootstrap(uow_factory: UowFactory, state_dir: Path, now: datetime) -> CreatedTenant | None:
    """On the very first start, create the `sandbox` root tenant and write its admin key to the state dir."""
    async with uow_factory() as uow:
        await uow.tenants.lock_bootstrap()
        if await uow.tenants.any_exists():
            return None
        tenant = Tenant(id=SANDBOX_TENANT_ID, name="Sandbox", mode=TenantMode.SANDBOX, is_root=True)
        created = await _create_tenant(uow, tenant, now)
        key_file = state_dir / SANDBOX_KEY_FILE
        # NOTE: the file is written before the commit, so a key in the database always has its file.
        await asyncio.to_thread(_write_secret, key_file, created.admin_key.plaintext)
        await uow.commit()
    log.info("created the sandbox tenant; its admin key is in %s", key_file)
    return created


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")


async def create_api_key(
    uow: GatewayUnitOfWork, *, tenant: Tenant, name: str, role: Role, now: datetime, expires_at: datetime | None
) -> IssuedApiKey:
    """Issue a key for the tenant in `uow` (not committed); its secret is returned once."""
    issued = issue_api_key(
        tenant=tenant, key_id=new_api_key_id(now), name=name, role=role, now=now, expires_at=expires_at
    )
    await uow.api_keys.add(issued.api_key)
    return issued


async def list_api_keys(
    uow_factory: UowFactory, *, tenant_id: str, size: int, page_token: str, show_revoked: bool
) -> Page:
    """One page of the tenant's keys (prefixes, never secrets)."""
    async with uow_factory() as uow:
        return await uow.api_keys.list(tenant_id, size=size, page_token=page_token, show_revoked=show_revoked)


async def revoke_api_key(uow_factory: UowFactory, *, tenant_id: str, api_key_id: str, now: datetime) -> ApiKey:
    """Revoke a key of the tenant; revoking again returns it unchanged."""
    async with uow_factory() as uow:
        key = await uow.api_keys.get(tenant_id, api_key_id, for_update=True)
        if key is None:
            raise NotFound(f"API key {api_key_id!r} not found", reason="API_KEY_NOT_FOUND")
        if key.revoked_at is None:
            key.revoke(now)
            await uow.api_keys.save_revocation(key)
            await uow.commit()
    return key
