"""Tenant administration: tenants, API keys, the sandbox clock, and the first-start bootstrap."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte_gateway.adapters import proto
from azotte_gateway.domain import customer_tokens
from azotte_gateway.domain.api_keys import API_KEY_ORDER_FIELDS, ApiKeyListing, IssuedApiKey, issue_api_key
from azotte_gateway.domain.permissions import Permission, Role, authorize
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.errors import ApiKeyNotFound, ClockBackward, NoSandboxClock, RootTenantRequired, TenantExists
from azotte_gateway.ports import GatewayUnitOfWork
from azotte_gateway.service_layer.auth import Authenticator, Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform import convert
from azotte_platform.clock import Clock, SandboxClock, shared_now
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import EQUALITY, Filter, Ordering
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units
from azotte_platform.validation import field_names

log = logging.getLogger(__name__)
MAX_ADVANCE = timedelta(days=100 * 366)
"""How far one call may move a sandbox clock (a larger jump is no test of anything, and past year 9999 no time)."""

SANDBOX_TENANT_ID = "sandbox"
SANDBOX_KEY_FILE = "sandbox-admin.key"


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
        raise TenantExists(f"tenant {tenant.id!r} already exists")
    issued = issue_api_key(tenant=tenant, key_id=new_api_key_id(now), name="first admin key", role=Role.ADMIN, now=now)
    await uow.api_keys.add(issued.api_key)
    return CreatedTenant(tenant, issued)


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")


@dataclass(frozen=True)
class Admin:
    """TenantAdminService (CreateTenant, CreateApiKey, ListApiKeys, RevokeApiKey, CreateCustomerToken) and
    AdvanceSandboxClock."""

    units: Units[GatewayUnitOfWork]
    clock: Clock
    authenticator: Authenticator
    customers: KnownCustomers

    async def bootstrap(self, state_dir: Path) -> CreatedTenant | None:
        """On the very first start, create the `sandbox` root tenant and write its admin key to the state dir."""
        async with self.units.factory() as uow:
            await uow.tenants.lock_bootstrap()
            if await uow.tenants.any_exists():
                return None
            tenant = Tenant(id=SANDBOX_TENANT_ID, name="Sandbox", mode=TenantMode.SANDBOX, is_root=True)
            created = await _create_tenant(uow, tenant, self.clock.now())
            key_file = state_dir / SANDBOX_KEY_FILE
            # NOTE: the file is written before the commit, so a key in the database always has its file.
            await asyncio.to_thread(_write_secret, key_file, created.admin_key.plaintext)
            await uow.commit()
        log.info("created the sandbox tenant; its admin key is in %s", key_file)
        return created

    async def create_tenant(self, caller: Caller, request: ta.CreateTenantRequest) -> ta.CreateTenantResponse:
        authorize(caller.principal, Permission.MANAGE_TENANT)
        mode = proto.tenant_mode(request.mode)
        require_mutation(request)
        if not caller.tenant.is_root:
            raise RootTenantRequired(
                "only administrators of the root tenant may create tenants; "
                f"{caller.tenant.id!r} is not the root tenant"
            )
        issued: list[str] = []

        async def work(uow: GatewayUnitOfWork, _: str) -> ta.CreateTenantResponse:
            tenant = Tenant(id=request.tenant_id, name=request.display_name, mode=mode)
            created = await _create_tenant(uow, tenant, self.clock.now())
            issued.append(created.admin_key.plaintext)
            return ta.CreateTenantResponse(
                tenant=proto.tenant(created.tenant), admin_api_key=proto.api_key(created.admin_key.api_key)
            )

        # NOTE: the operation name request ids of this call were stored under since the first release.
        response = await self.units.mutate(request, ta.CreateTenantResponse, work, operation="CreateTenantRequest")
        if issued:  # the call that created the tenant shows its key's secret; a repeat does not (see create_api_key)
            response.admin_secret = issued[0]
        return response

    async def create_api_key(self, caller: Caller, request: ta.CreateApiKeyRequest) -> ta.CreateApiKeyResponse:
        authorize(caller.principal, Permission.MANAGE_API_KEYS)
        role = proto.role(request.role)
        require_mutation(request)
        expires_at = convert.optional_from_timestamp(request, "expire_time")
        issued: list[str] = []

        async def work(uow: GatewayUnitOfWork, _: str) -> ta.CreateApiKeyResponse:
            now = self.clock.now()
            with field_names({"expires_at": "expire_time"}):  # NOTE: the domain's name, the request's name
                key = issue_api_key(
                    tenant=caller.tenant,
                    key_id=new_api_key_id(now),
                    name=request.display_name,
                    role=role,
                    now=now,
                    expires_at=expires_at,
                )
            await uow.api_keys.add(key.api_key)
            issued.append(key.plaintext)
            return ta.CreateApiKeyResponse(api_key=proto.api_key(key.api_key))

        # NOTE: secrets are shown once and never stored, not even in the idempotency record: the work
        # answers without the secret, and only the call that issued it adds it back.
        response = await self.units.mutate(request, ta.CreateApiKeyResponse, work, operation="CreateApiKeyRequest")
        if issued:
            response.secret = issued[0]
        return response

    async def list_api_keys(self, caller: Caller, request: ta.ListApiKeysRequest) -> ta.ListApiKeysResponse:
        authorize(caller.principal, Permission.MANAGE_API_KEYS)

        listing, query = api_key_listing(request)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ta.ListApiKeysResponse:
            page_request = PageRequest.of(request, "api_keys", tenant_id, *query)
            page = await uow.api_keys.list_page(tenant_id, page_request, listing)
            return ta.ListApiKeysResponse(
                api_keys=[proto.api_key(k) for k in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def revoke_api_key(self, caller: Caller, request: ta.RevokeApiKeyRequest) -> ta.RevokeApiKeyResponse:
        authorize(caller.principal, Permission.MANAGE_API_KEYS)
        require_mutation(request, "api_key_id")

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ta.RevokeApiKeyResponse:
            key = await uow.api_keys.get(tenant_id, request.api_key_id, for_update=True)
            if key is None:
                raise ApiKeyNotFound(f"API key {request.api_key_id!r} not found")
            # NOTE: revoking again keeps the first revocation time.
            if key.revoked_at is None:
                key.revoke(self.clock.now())
                await uow.api_keys.save_revocation(key)
            return ta.RevokeApiKeyResponse(api_key=proto.api_key(key))

        response = await self.units.mutate(request, ta.RevokeApiKeyResponse, work)
        self.authenticator.forget(request.api_key_id)
        return response

    async def create_customer_token(
        self, caller: Caller, request: ta.CreateCustomerTokenRequest
    ) -> ta.CreateCustomerTokenResponse:
        authorize(caller.principal, Permission.ISSUE_CUSTOMER_TOKENS, customer_id=request.customer_id)
        require(request, "customer_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        ttl = convert.optional_from_duration(request, "ttl")
        # NOTE: like API keys, a token lives in real time: the time before any tenant's sandbox offset.
        issued = customer_tokens.issue(caller.tenant, request.customer_id, shared_now(self.clock), ttl)
        return ta.CreateCustomerTokenResponse(
            token=issued.token, customer_id=request.customer_id, expire_time=convert.timestamp(issued.expire_time)
        )

    async def advance_sandbox_clock(
        self, caller: Caller, request: gw.AdvanceSandboxClockRequest
    ) -> gw.AdvanceSandboxClockResponse:
        authorize(caller.principal, Permission.ADVANCE_SANDBOX_CLOCK)
        caller.tenant.ensure_may_advance_clock()
        clock = self.clock
        if not isinstance(clock, SandboxClock):
            raise NoSandboxClock("this suite runs on wall time; its clock cannot move")
        by = convert.optional_from_duration(request, "advance_by")
        to = convert.optional_from_timestamp(request, "advance_to")
        if by is not None:
            target, delta = "advance_by", by
        elif to is not None:
            target, delta = "advance_to", to - clock.now()
        else:
            raise InvalidArgument.field("advance_by", "set advance_by or advance_to")
        if delta < timedelta():
            raise ClockBackward.field(target, "the sandbox clock only moves forward")
        if delta > MAX_ADVANCE:
            raise InvalidArgument.field(target, f"moves the sandbox clock at most {MAX_ADVANCE.days} days at a time")
        require_mutation(request)

        tenant_id = caller.tenant.id

        async def work(_: GatewayUnitOfWork, __: str) -> gw.AdvanceSandboxClockResponse:
            # NOTE: only the caller's tenant's clock moves (sandbox time is per tenant); no other tenant's work runs.
            now = await clock.advance(delta, tenant_id)
            response = gw.AdvanceSandboxClockResponse(now=convert.timestamp(now))
            response.offset.FromTimedelta(clock.offset_of(tenant_id))
            return response

        # NOTE: the operation name request ids of this call were stored under since the first release.
        return await self.units.mutate(request, gw.AdvanceSandboxClockResponse, work, operation="advance_sandbox_clock")


def api_key_listing(request: ta.ListApiKeysRequest) -> tuple[ApiKeyListing, tuple[object, ...]]:
    """The keys a ListApiKeys request shows (filter `role = viewer AND revoked = false`, or `show_revoked`)
    and their order (`order_by`: create_time, display_name, role), with the query its page tokens are bound to."""
    parsed = Filter.parse(request.filter, {"role": EQUALITY, "revoked": EQUALITY})
    ordering = Ordering.parse(request.order_by, API_KEY_ORDER_FIELDS, "create_time")
    role_text, revoked_text = parsed.value("role"), parsed.value("revoked")
    role = None
    if role_text is not None:
        try:
            role = Role(role_text.lower().removeprefix("api_key_role_"))
        except ValueError:
            raise InvalidArgument.field("filter", f"role: {role_text!r} is not one of {', '.join(Role)}") from None
    if revoked_text is not None and revoked_text.lower() not in ("true", "false"):
        raise InvalidArgument.field("filter", f"revoked: {revoked_text!r} is not true or false")
    # NOTE: without `revoked` in the filter, show_revoked decides whether revoked keys are listed too.
    revoked = (
        (revoked_text.lower() == "true") if revoked_text is not None else (None if request.show_revoked else False)
    )
    listing = ApiKeyListing(role=role, revoked=revoked, order=ordering.keys)
    return listing, (request.show_revoked, parsed.canonical(), ordering.text)
