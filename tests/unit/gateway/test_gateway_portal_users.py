"""Portal users over fakes: admins create and disable them, sign-in, lock-out, sessions and their expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from azotte.gateway.v1 import portal_users_pb2 as pu
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.portal_users import hash_session_token
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.errors import (
    PortalSessionInvalid,
    PortalSignInFailed,
    PortalSignInLocked,
    PortalUserExists,
    PortalUserNotFound,
    RolePermissionMissing,
)
from azotte_gateway.service_layer.portal_users import PortalUsers
from azotte_platform.clock import FixedClock
from azotte_platform.errors import InvalidArgument
from tests.unit.gateway.fakes import NOW, TENANT, caller
from tests.unit.gateway.portal_fakes import PortalWorld

OTHER = Tenant("other-tv", "Other TV", TenantMode.SANDBOX)
EMAIL = "ops@acme.example"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def world(clock: FixedClock) -> PortalWorld:
    return PortalWorld(clock, TENANT, OTHER)


@pytest.fixture
def users(world: PortalWorld) -> PortalUsers:
    return world.area()


async def create(
    users: PortalUsers,
    email: str = EMAIL,
    role: pu.PortalUserRole.ValueType = pu.PORTAL_USER_ROLE_OPERATOR,
    request_id: str = "r1",
) -> pu.CreatePortalUserResponse:
    request = pu.CreatePortalUserRequest(request_id=request_id, email=email, role=role)
    with caller().scope():
        return await users.create_portal_user(caller(), request)


async def test_an_admin_creates_a_user_whose_password_is_shown_once_and_stored_hashed(
    users: PortalUsers, world: PortalWorld
) -> None:
    created = await create(users, email="  Ops@Acme.Example ")
    assert created.portal_user.email == EMAIL and created.portal_user.role == pu.PORTAL_USER_ROLE_OPERATOR
    assert len(created.initial_password) >= 20
    stored = world.data.users[(TENANT.id, created.portal_user.id)]
    assert stored.password_hash.startswith("$argon2id$") and created.initial_password not in stored.password_hash

    repeat = await create(users, email="  Ops@Acme.Example ")
    assert repeat.portal_user == created.portal_user and repeat.initial_password == ""
    with pytest.raises(PortalUserExists):
        await create(users, request_id="r2")


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OPERATOR, Role.VIEWER])
async def test_only_admins_manage_portal_users(users: PortalUsers, role: Role) -> None:
    who = caller(role)
    with who.scope():
        with pytest.raises(RolePermissionMissing):
            await users.create_portal_user(
                who, pu.CreatePortalUserRequest(request_id="r", email=EMAIL, role=pu.PORTAL_USER_ROLE_VIEWER)
            )
        with pytest.raises(RolePermissionMissing):
            await users.list_portal_users(who, pu.ListPortalUsersRequest())
        with pytest.raises(RolePermissionMissing):
            await users.disable_portal_user(who, pu.DisablePortalUserRequest(request_id="r", portal_user_id="x"))


@pytest.mark.parametrize(
    ("email", "role", "field"),
    [
        ("not-an-email", pu.PORTAL_USER_ROLE_VIEWER, "email"),
        ("", pu.PORTAL_USER_ROLE_VIEWER, "email"),
        ("a\x00b@acme.example", pu.PORTAL_USER_ROLE_VIEWER, "email"),
        ("x" * 300 + "@acme.example", pu.PORTAL_USER_ROLE_VIEWER, "email"),
        (EMAIL, pu.PORTAL_USER_ROLE_UNSPECIFIED, "role"),
        (EMAIL, pu.PortalUserRole.ValueType(99), "role"),
    ],
)
async def test_bad_users_are_refused_naming_the_field(
    users: PortalUsers, email: str, role: pu.PortalUserRole.ValueType, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await create(users, email=email, role=role)
    assert refused.value.violations[0].field == field


async def test_users_are_listed_per_tenant(users: PortalUsers) -> None:
    await create(users, email="b@acme.example", request_id="r1")
    await create(users, email="a@acme.example", request_id="r2")
    with caller().scope():
        listed = await users.list_portal_users(caller(), pu.ListPortalUsersRequest())
    assert [u.email for u in listed.portal_users] == ["a@acme.example", "b@acme.example"]
    theirs = caller(tenant=OTHER)
    with theirs.scope():
        assert not (await users.list_portal_users(theirs, pu.ListPortalUsersRequest())).portal_users


async def test_sign_in_opens_a_session_acting_with_the_users_role(users: PortalUsers, world: PortalWorld) -> None:
    created = await create(users, role=pu.PORTAL_USER_ROLE_VIEWER)
    signed = await users.sign_in(TENANT.id, "OPS@acme.example", created.initial_password)
    principal = signed.caller.principal
    assert (principal.tenant_id, principal.role) == (TENANT.id, Role.VIEWER)
    assert principal.api_key_id == f"portal_user:{created.portal_user.id}"
    assert len(signed.token) >= 43 and signed.token not in world.data.sessions
    assert hash_session_token(signed.token) in world.data.sessions

    resumed = await users.resume(signed.token)
    assert resumed.user.id == created.portal_user.id and resumed.session.csrf_token == signed.session.csrf_token


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "unknown tenant", "other tenant"])
async def test_every_failed_sign_in_gets_the_same_answer(users: PortalUsers, case: str) -> None:
    password = (await create(users)).initial_password
    tenant, email = {
        "wrong password": (TENANT.id, EMAIL),
        "unknown email": (TENANT.id, "nobody@acme.example"),
        "unknown tenant": ("no-such-tenant", EMAIL),
        "other tenant": (OTHER.id, EMAIL),
    }[case]
    attempt = password if case != "wrong password" else password + "x"
    with pytest.raises(PortalSignInFailed) as failed:
        await users.sign_in(tenant, email, attempt)
    assert failed.value.message == "the tenant, email or password is wrong"


async def test_five_failures_in_fifteen_minutes_lock_the_email_even_with_the_right_password(
    users: PortalUsers, clock: FixedClock
) -> None:
    password = (await create(users)).initial_password
    for _ in range(5):
        with pytest.raises(PortalSignInFailed):
            await users.sign_in(TENANT.id, EMAIL, "guess")
        clock.advance(timedelta(minutes=1))
    with pytest.raises(PortalSignInLocked) as locked:
        await users.sign_in(TENANT.id, EMAIL, password)
    assert "try again in 10 minute(s)" in locked.value.message

    clock.advance(timedelta(minutes=10))
    assert (await users.sign_in(TENANT.id, EMAIL, password)).user.email == EMAIL


async def test_an_unknown_email_locks_the_same_way(users: PortalUsers) -> None:
    for _ in range(5):
        with pytest.raises(PortalSignInFailed):
            await users.sign_in(TENANT.id, "nobody@acme.example", "guess")
    with pytest.raises(PortalSignInLocked):
        await users.sign_in(TENANT.id, "nobody@acme.example", "guess")


@pytest.mark.parametrize(
    ("tenant", "password", "field"),
    [("t\x00", "p", "tenant_id"), (TENANT.id, "p" * 1025, "password"), (TENANT.id, "\ud800", "password")],
)
async def test_unclean_sign_in_input_is_refused_naming_the_field(
    users: PortalUsers, tenant: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await users.sign_in(tenant, EMAIL, password)
    assert refused.value.violations[0].field == field


async def test_sessions_expire_when_idle_and_at_their_absolute_end(users: PortalUsers, clock: FixedClock) -> None:
    password = (await create(users)).initial_password
    idle = await users.sign_in(TENANT.id, EMAIL, password)
    clock.advance(timedelta(minutes=31))
    with pytest.raises(PortalSessionInvalid):
        await users.resume(idle.token)

    busy = await users.sign_in(TENANT.id, EMAIL, password)
    for _ in range(24):  # used every 29 minutes: never idle, but 12 hours is the end
        clock.advance(timedelta(minutes=29))
        await users.resume(busy.token)
    clock.advance(timedelta(minutes=29))
    with pytest.raises(PortalSessionInvalid):
        await users.resume(busy.token)


async def test_sign_out_and_disabling_end_sessions(users: PortalUsers) -> None:
    created = await create(users)
    first = await users.sign_in(TENANT.id, EMAIL, created.initial_password)
    await users.sign_out(first.token)
    with pytest.raises(PortalSessionInvalid):
        await users.resume(first.token)

    second = await users.sign_in(TENANT.id, EMAIL, created.initial_password)
    request = pu.DisablePortalUserRequest(request_id="d1", portal_user_id=created.portal_user.id)
    with caller().scope():
        disabled = await users.disable_portal_user(caller(), request)
    assert disabled.portal_user.HasField("disable_time")
    with pytest.raises(PortalSessionInvalid):
        await users.resume(second.token)
    with pytest.raises(PortalSignInFailed):
        await users.sign_in(TENANT.id, EMAIL, created.initial_password)


async def test_another_tenants_user_cannot_be_disabled(users: PortalUsers) -> None:
    created = await create(users)
    theirs = caller(tenant=OTHER)
    request = pu.DisablePortalUserRequest(request_id="d1", portal_user_id=created.portal_user.id)
    with theirs.scope(), pytest.raises(PortalUserNotFound):
        await users.disable_portal_user(theirs, request)


@pytest.mark.parametrize("token", ["", "unknown", "\x00", "x" * 10_000])
async def test_unknown_or_unclean_session_tokens_are_not_sessions(users: PortalUsers, token: str) -> None:
    with pytest.raises(PortalSessionInvalid):
        await users.resume(token)
    await users.sign_out(token)


async def test_the_first_admin_is_created_once(users: PortalUsers) -> None:
    password = await users.add_first_admin(TENANT.id, "admin@acme.example")
    assert password is not None
    assert await users.add_first_admin(TENANT.id, "admin@acme.example") is None
    signed = await users.sign_in(TENANT.id, "admin@acme.example", password)
    assert signed.caller.principal.role is Role.ADMIN
