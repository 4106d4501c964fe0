"""PortalUsersService (Create/List/DisablePortalUser) and the portal's sign-in, sessions and sign-out.

A signed-in user acts through the very same area methods as an API key: its `Caller` carries the user's
role and tenant (`api_key_id` = `portal_user:<id>`), so every page is authorized where the API is.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from azotte.gateway.v1 import portal_users_pb2 as pu
from azotte_gateway.adapters import proto
from azotte_gateway.domain.permissions import Permission, Principal, Role, authorize
from azotte_gateway.domain.portal_users import (
    LOCKOUT_WINDOW,
    Passwords,
    PortalSession,
    PortalUser,
    hash_session_token,
    lockout_remaining,
    new_password,
    normalize_email,
    open_session,
)
from azotte_gateway.domain.tenants import Tenant
from azotte_gateway.errors import (
    PortalSessionInvalid,
    PortalSignInFailed,
    PortalSignInLocked,
    PortalUserExists,
    PortalUserNotFound,
)
from azotte_gateway.ports import PortalUnitOfWork
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require_mutation
from azotte_platform.clock import Clock, now_of, shared_now
from azotte_platform.errors import InvalidArgument
from azotte_platform.grpc.requests import MAX_ID_CHARS, text_problem
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units

MAX_PASSWORD_CHARS = 1024
SANDBOX_PORTAL_ADMIN = "admin@sandbox.local"
SANDBOX_PORTAL_ADMIN_FILE = "sandbox-portal-admin.txt"
"""The sandbox tenant's first portal user, created at the suite's first start; its email and password are in
this file of the state directory, beside the sandbox admin key."""
SIGN_IN_FAILED = "the tenant, email or password is wrong"


def new_portal_user_id(now: datetime) -> str:
    """A user id that sorts by creation time."""
    return f"pu_{int(now.timestamp() * 1000):012x}{secrets.token_hex(6)}"


def _principal(tenant: Tenant, user: PortalUser) -> Principal:
    return Principal(tenant.id, tenant.mode, f"portal_user:{user.id}", user.role)


@dataclass(frozen=True)
class SignedIn:
    """A session just opened: the cookie's token (shown once) and the caller it stands for."""

    token: str
    session: PortalSession
    user: PortalUser
    caller: Caller


@dataclass(frozen=True)
class PortalIdentity:
    """A live session's user and the caller the portal acts as."""

    session: PortalSession
    user: PortalUser
    caller: Caller


@dataclass(frozen=True)
class PortalUsers:
    """Portal users (admins only, `manage_portal_users`) and the sign-in of those users.

    NOTE: sessions live in real time (the time before any tenant's sandbox offset), like API keys.
    """

    units: Units[PortalUnitOfWork]
    clock: Clock
    passwords: Passwords

    async def create_portal_user(
        self, caller: Caller, request: pu.CreatePortalUserRequest
    ) -> pu.CreatePortalUserResponse:
        authorize(caller.principal, Permission.MANAGE_PORTAL_USERS)
        email = normalize_email(request.email)
        role = proto.portal_user_role(request.role)
        require_mutation(request)
        password = new_password()
        password_hash = await asyncio.to_thread(self.passwords.hash, password)
        issued: list[str] = []

        async def work(uow: PortalUnitOfWork, tenant_id: str) -> pu.CreatePortalUserResponse:
            now = shared_now(self.clock)
            user = PortalUser(tenant_id, new_portal_user_id(now), email, role, password_hash, now)
            if not await uow.portal_users.add(user):
                raise PortalUserExists(f"a portal user with email {email!r} already exists")
            issued.append(password)
            return pu.CreatePortalUserResponse(portal_user=proto.portal_user(user))

        # NOTE: like an API key's secret, the password is never stored in the request id's record: only the call
        # that created the user shows it.
        response = await self.units.mutate(request, pu.CreatePortalUserResponse, work)
        if issued:
            response.initial_password = issued[0]
        return response

    async def list_portal_users(self, caller: Caller, request: pu.ListPortalUsersRequest) -> pu.ListPortalUsersResponse:
        authorize(caller.principal, Permission.MANAGE_PORTAL_USERS)

        async def work(uow: PortalUnitOfWork, tenant_id: str) -> pu.ListPortalUsersResponse:
            page = await uow.portal_users.list_page(tenant_id, PageRequest.of(request, "portal_users", tenant_id))
            return pu.ListPortalUsersResponse(
                portal_users=[proto.portal_user(u) for u in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def disable_portal_user(
        self, caller: Caller, request: pu.DisablePortalUserRequest
    ) -> pu.DisablePortalUserResponse:
        authorize(caller.principal, Permission.MANAGE_PORTAL_USERS)
        require_mutation(request, "portal_user_id")

        async def work(uow: PortalUnitOfWork, tenant_id: str) -> pu.DisablePortalUserResponse:
            user = await uow.portal_users.get(tenant_id, request.portal_user_id, for_update=True)
            if user is None:
                raise PortalUserNotFound(f"portal user {request.portal_user_id!r} not found")
            if user.disabled_at is None:
                user.disable(shared_now(self.clock))
                await uow.portal_users.save_disable(user)
            await uow.portal_sessions.delete_of_user(tenant_id, user.id)
            return pu.DisablePortalUserResponse(portal_user=proto.portal_user(user))

        return await self.units.mutate(request, pu.DisablePortalUserResponse, work)

    def tenant_now(self, tenant_id: str) -> datetime:
        """The tenant's time (a sandbox tenant's moved clock included), which the portal's reports end at."""
        return now_of(self.clock, tenant_id)

    async def add_first_admin(self, tenant_id: str, email: str, password_file: Path | None = None) -> str | None:
        """Create the tenant's first admin user; its password (also written to `password_file`, with the email),
        or None when the tenant is unknown or already has that user."""
        password = new_password()
        password_hash = await asyncio.to_thread(self.passwords.hash, password)
        async with self.units.factory() as uow:
            now = shared_now(self.clock)
            user = PortalUser(
                tenant_id, new_portal_user_id(now), normalize_email(email), Role.ADMIN, password_hash, now
            )
            if await uow.tenants.get(tenant_id) is None or not await uow.portal_users.add(user):
                return None
            if password_file is not None:
                # NOTE: written before the commit, so a first admin in the database always has its file.
                await asyncio.to_thread(_write_secret, password_file, f"{user.email}\n{password}\n")
            await uow.commit()
        return password

    async def sign_in(self, tenant_id: str, email: str, password: str) -> SignedIn:
        """Open a session, or raise PortalSignInFailed (the same for an unknown tenant, email or a wrong password)
        or PortalSignInLocked after too many failures for the email lately."""
        _check_text("tenant_id", tenant_id, MAX_ID_CHARS)
        _check_text("password", password, MAX_PASSWORD_CHARS)
        email = normalize_email(email)
        async with self.units.factory() as uow:
            now = shared_now(self.clock)
            tenant = await uow.tenants.get(tenant_id) if tenant_id else None
            if tenant is not None:
                failures = await uow.portal_users.failures_since(tenant.id, email, now - LOCKOUT_WINDOW)
                remaining = lockout_remaining(failures, now)
                if remaining is not None:
                    minutes = max(1, -(-int(remaining.total_seconds()) // 60))
                    raise PortalSignInLocked(
                        f"too many failed sign-ins for this email; try again in {minutes} minute(s)",
                        metadata={"retry_after_seconds": str(max(1, int(remaining.total_seconds())))},
                    )
            user = await uow.portal_users.by_email(tenant.id, email) if tenant is not None else None
            live = user if user is not None and user.disabled_at is None else None
            matches = await asyncio.to_thread(self.passwords.verify, live.password_hash if live else None, password)
            if tenant is None or live is None or not matches:
                if tenant is not None:
                    await uow.portal_users.record_failure(tenant.id, email, now)
                    await uow.commit()
                raise PortalSignInFailed(SIGN_IN_FAILED)
            opened = open_session(tenant.id, live.id, now)
            await uow.portal_sessions.add(opened.session)
            await uow.commit()
        return SignedIn(opened.token, opened.session, live, Caller(_principal(tenant, live), tenant))

    async def resume(self, token: str) -> PortalIdentity:
        """The identity of a live session, or PortalSessionInvalid (unknown, expired, or its user disabled)."""
        if not token or text_problem(token, MAX_ID_CHARS) is not None:
            raise PortalSessionInvalid("sign in to the portal")
        token_hash = hash_session_token(token)
        async with self.units.factory() as uow:
            now = shared_now(self.clock)
            session = await uow.portal_sessions.get(token_hash)
            user = await uow.portal_users.get(session.tenant_id, session.user_id) if session else None
            tenant = await uow.tenants.get(session.tenant_id) if session else None
            if session is None or user is None or tenant is None or user.disabled_at is not None:
                raise PortalSessionInvalid("sign in to the portal")
            if not session.is_live(now):
                await uow.portal_sessions.delete(token_hash)
                await uow.commit()
                raise PortalSessionInvalid("the session has expired; sign in again")
            if session.needs_touch(now):
                session.last_seen_at = now
                await uow.portal_sessions.touch(token_hash, now)
                await uow.commit()
        return PortalIdentity(session, user, Caller(_principal(tenant, user), tenant))

    async def sign_out(self, token: str) -> None:
        """End the session of this token (nothing when there is none)."""
        if not token or text_problem(token, MAX_ID_CHARS) is not None:
            return
        async with self.units.factory() as uow:
            await uow.portal_sessions.delete(hash_session_token(token))
            await uow.commit()


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(text)


def _check_text(field: str, value: str, limit: int) -> None:
    problem = text_problem(value, limit)
    if problem is not None:
        raise InvalidArgument.field(field, problem)
