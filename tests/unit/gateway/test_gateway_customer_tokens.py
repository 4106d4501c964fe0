"""Customer tokens: a backend vouches for a device's customer; the key presenting the token acts for that
customer only, and a forged, foreign, tampered or expired token is refused."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte_gateway.domain import customer_tokens
from azotte_gateway.domain.api_keys import issue_api_key
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.errors import CustomerScopeViolation, CustomerTokenInvalid, CustomerTokenRepeated
from azotte_gateway.service_layer.auth import single_customer_token
from azotte_platform.errors import InvalidArgument, NotFound, PermissionDenied
from tests.unit.gateway.fakes import NOW, TENANT, FakeSuite, caller

OTHER = Tenant("globex", "Globex", TenantMode.SANDBOX)


def test_a_token_names_its_customer_until_it_expires() -> None:
    issued = customer_tokens.issue(TENANT, "cus_1", NOW, timedelta(minutes=5))
    assert issued.expire_time == NOW + timedelta(minutes=5)
    assert customer_tokens.verify(TENANT, issued.token, NOW + timedelta(minutes=4)) == "cus_1"
    with pytest.raises(CustomerTokenInvalid, match="expired"):
        customer_tokens.verify(TENANT, issued.token, NOW + timedelta(minutes=5))


def test_another_tenants_token_or_a_tampered_one_is_refused() -> None:
    foreign = customer_tokens.issue(OTHER, "cus_1", NOW).token
    with pytest.raises(CustomerTokenInvalid):
        customer_tokens.verify(TENANT, foreign, NOW)
    header, _, signature = customer_tokens.issue(TENANT, "cus_1", NOW).token.split(".")
    other_claims = customer_tokens.issue(TENANT, "cus_2", NOW).token.split(".")[1]
    with pytest.raises(CustomerTokenInvalid):
        customer_tokens.verify(TENANT, f"{header}.{other_claims}.{signature[::-1]}", NOW)
    with pytest.raises(CustomerTokenInvalid):
        customer_tokens.verify(TENANT, f"{header}.{other_claims}.{signature}", NOW)


def test_an_unsigned_token_or_one_signed_with_another_algorithm_is_refused() -> None:
    claims = {"iss": "azotte", "aud": TENANT.id, "sub": "cus_1", "exp": int((NOW + timedelta(hours=1)).timestamp())}
    unsigned = jwt.encode(claims, key="", algorithm="none")
    hs512 = jwt.encode(claims, TENANT.customer_token_secret * 2, algorithm="HS512")
    for token in (unsigned, hs512, "not-a-token", ""):
        with pytest.raises(CustomerTokenInvalid):
            customer_tokens.verify(TENANT, token, NOW)


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(hours=24, seconds=1)])
def test_a_lifetime_out_of_bounds_names_ttl(ttl: timedelta) -> None:
    with pytest.raises(InvalidArgument, match="ttl"):
        customer_tokens.issue(TENANT, "cus_1", NOW, ttl)


def test_the_tenants_secret_is_never_in_its_representation() -> None:
    assert TENANT.customer_token_secret.hex() not in repr(TENANT)


def test_two_tokens_on_one_call_are_refused() -> None:
    with pytest.raises(CustomerTokenRepeated):
        single_customer_token(["a", "b"])
    assert single_customer_token([]) is None


async def _publishable_key(suite: FakeSuite) -> str:
    issued = issue_api_key(tenant=TENANT, key_id="key-pub", name="tv app", role=Role.PUBLISHABLE, now=NOW)
    async with suite.uow() as uow:
        await uow.api_keys.add(issued.api_key)
        await uow.commit()
    return issued.plaintext


async def test_a_backend_token_binds_a_publishable_key_to_its_customer() -> None:
    suite = FakeSuite()
    gateway = suite.gateway()
    alice, bob = "alice", "bob"
    suite.lifecycle.add_customer(alice)
    suite.lifecycle.add_customer(bob)
    operator = caller(Role.OPERATOR)
    with operator.scope():
        issued = await gateway.admin.create_customer_token(operator, ta.CreateCustomerTokenRequest(customer_id=alice))
    assert issued.customer_id == alice and issued.expire_time.ToDatetime().year == NOW.year
    key = await _publishable_key(suite)
    bound = await gateway.authenticator.authenticate(f"Bearer {key}", issued.token)
    assert bound.principal.customer_id == alice
    with bound.scope():
        await gateway.access.list_entitlements(bound, gw.ListEntitlementsRequest(customer_id=alice))
        with pytest.raises(CustomerScopeViolation):
            await gateway.access.list_entitlements(bound, gw.ListEntitlementsRequest(customer_id=bob))
    with pytest.raises(CustomerTokenInvalid):
        await gateway.authenticator.authenticate(f"Bearer {key}", issued.token + "x")


async def test_only_operators_and_above_issue_tokens_and_only_for_their_own_customers() -> None:
    suite = FakeSuite()
    gateway = suite.gateway()
    alice = "alice"
    suite.lifecycle.add_customer(alice)
    asking = ta.CreateCustomerTokenRequest(customer_id=alice)
    for who, request, refusal in (
        (caller(Role.VIEWER), asking, PermissionDenied),
        (caller(Role.PUBLISHABLE), asking, PermissionDenied),
        (caller(Role.ADMIN, tenant=OTHER), asking, NotFound),
        (caller(Role.ADMIN), ta.CreateCustomerTokenRequest(), InvalidArgument),
    ):
        with who.scope(), pytest.raises(refusal):
            await gateway.admin.create_customer_token(who, request)
