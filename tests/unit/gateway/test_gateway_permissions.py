"""The role matrix and the authorization check."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azotte_gateway.domain.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Role,
    authorize,
)
from azotte_gateway.domain.tenants import DEFAULT_OPERATOR_REFUND_LIMIT_MINOR, TenantMode
from azotte_platform.errors import PermissionDenied

READS = {
    Permission.CHECK_ACCESS,
    Permission.LIST_ENTITLEMENTS,
    Permission.READ_CUSTOMERS,
    Permission.READ_SUBSCRIPTIONS,
    Permission.READ_CHARGES,
    Permission.READ_CATALOG,
    Permission.READ_PROMOTIONS,
    Permission.VALIDATE_PROMOTION_CODES,
    Permission.CHECK_TRIAL_ELIGIBILITY,
    Permission.READ_REFERRALS,
    Permission.READ_CAMPAIGNS,
    Permission.READ_EXPERIMENTS,
    Permission.READ_GRANTS,
    Permission.READ_FAMILIES,
    Permission.READ_PAYMENT_METHODS,
    Permission.READ_CREDITS,
    Permission.READ_LIFECYCLE_POLICY,
    Permission.READ_WEBHOOKS,
    Permission.READ_INVOICES,
    Permission.READ_CONTRACTS,
    Permission.READ_PRICE_CHANGES,
    Permission.READ_USAGE,
    Permission.READ_USAGE_BILLING,
    Permission.READ_ANALYTICS,
}
CUSTOMER_OPERATIONS = {
    Permission.CANCEL_SUBSCRIPTION,
    Permission.PAUSE_SUBSCRIPTION,
    Permission.RESUME_SUBSCRIPTION,
    Permission.REACTIVATE_SUBSCRIPTION,
    Permission.START_CHECKOUT,
    Permission.CREATE_CUSTOMER,
    Permission.MANAGE_PAYMENT_METHODS,
    Permission.MANAGE_GRANTS,
    Permission.RECONCILE_GRANTS,
    Permission.INVITE_FAMILY_MEMBERS,
    Permission.ACCEPT_FAMILY_INVITES,
    Permission.MANAGE_FAMILIES,
    Permission.LINK_CHANNEL_IDENTITY,
    Permission.ISSUE_CUSTOMER_TOKENS,
    Permission.ISSUE_GOODWILL_CODES,
    Permission.SIGN_STORE_OFFERS,
    Permission.ISSUE_REFERRAL_CODES,
    Permission.ASSIGN_EXPERIMENT_VARIANTS,
    Permission.CONSENT_TO_PRICE_CHANGES,
    Permission.INGEST_USAGE,
    Permission.GRANT_USAGE_CREDIT,
    Permission.RECORD_INVOICE_PAYMENTS,
}
CONFIGURATION = {
    Permission.APPLY_CATALOG,
    Permission.SCHEDULE_PRICES,
    Permission.MANAGE_PLANS,
    Permission.MANAGE_STOREFRONTS,
    Permission.MANAGE_FEATURES,
    Permission.MANAGE_CHANNEL_MAPPINGS,
    Permission.MANAGE_CHANNELS,
    Permission.MANAGE_PROMOTIONS,
    Permission.MANAGE_REFERRALS,
    Permission.MANAGE_CAMPAIGNS,
    Permission.MANAGE_EXPERIMENTS,
    Permission.MANAGE_METERS,
    Permission.MANAGE_USAGE_BILLING,
    Permission.SUSPEND_FEATURES,
    Permission.CHANGE_SUBSCRIPTION_PLAN,
    Permission.MANAGE_LIFECYCLE_POLICY,
    Permission.READ_PRICE_CHANGE_IMPACT,
    Permission.MANAGE_INVOICES,
    Permission.MANAGE_CONTRACTS,
}
ADMINISTRATION = {
    Permission.MANAGE_TENANT,
    Permission.MANAGE_API_KEYS,
    Permission.MANAGE_PSP_ACCOUNTS,
    Permission.MANAGE_STORE_OFFER_KEYS,
    Permission.MANAGE_PORTAL_USERS,
    Permission.REFUND_ANY_AMOUNT,
    Permission.ISSUE_CREDITS,
    Permission.READ_REVENUE_REPORTS,
    Permission.ADVANCE_SANDBOX_CLOCK,
    Permission.RECONCILE_ALL_GRANTS,
    Permission.MANAGE_WEBHOOKS,
    Permission.VOID_INVOICES,
}
DEVICE_OPERATIONS = {
    Permission.CHECK_ACCESS,
    Permission.LIST_ENTITLEMENTS,
    Permission.START_CHECKOUT,
    Permission.VALIDATE_PROMOTION_CODES,
    Permission.SIGN_STORE_OFFERS,
}


def principal(role: Role, customer_id: str | None = None) -> Principal:
    return Principal("acme", TenantMode.SANDBOX, "key-1", role, customer_id)


def allowed(role: Role, permission: Permission) -> bool:
    try:
        authorize(principal(role), permission, amount_minor=1)
    except PermissionDenied:
        return False
    return True


def test_every_permission_belongs_to_exactly_one_group_of_the_matrix() -> None:
    groups = [READS, CUSTOMER_OPERATIONS | {Permission.REFUND_CHARGE}, CONFIGURATION, ADMINISTRATION]
    assert sorted(p for g in groups for p in g) == sorted(Permission)


@pytest.mark.parametrize(
    ("role", "granted"),
    [
        (Role.VIEWER, READS),
        (Role.OPERATOR, READS | CUSTOMER_OPERATIONS | {Permission.REFUND_CHARGE}),
        (Role.MANAGER, READS | CUSTOMER_OPERATIONS | {Permission.REFUND_CHARGE} | CONFIGURATION),
        (Role.ADMIN, set(Permission)),
        (Role.PUBLISHABLE, DEVICE_OPERATIONS),
    ],
)
def test_each_role_is_allowed_exactly_its_column_of_the_matrix(role: Role, granted: set[Permission]) -> None:
    assert {p for p in Permission if allowed(role, p)} == granted


def test_roles_are_nested_from_viewer_to_admin() -> None:
    chain = [Role.VIEWER, Role.OPERATOR, Role.MANAGER, Role.ADMIN]
    for lower, higher in itertools.pairwise(chain):
        assert ROLE_PERMISSIONS[lower] < ROLE_PERMISSIONS[higher]


def test_viewer_cannot_cancel_and_the_message_names_role_and_permission() -> None:
    with pytest.raises(PermissionDenied) as caught:
        authorize(principal(Role.VIEWER), Permission.CANCEL_SUBSCRIPTION)
    assert "'viewer'" in caught.value.message
    assert "'cancel_subscription'" in caught.value.message
    assert caught.value.reason == "ROLE_PERMISSION_MISSING"


@pytest.mark.parametrize("permission", sorted(CONFIGURATION))
def test_operator_cannot_change_configuration(permission: Permission) -> None:
    with pytest.raises(PermissionDenied):
        authorize(principal(Role.OPERATOR), permission)


@given(amount=st.integers(min_value=0, max_value=DEFAULT_OPERATOR_REFUND_LIMIT_MINOR))
def test_operator_may_refund_up_to_the_limit(amount: int) -> None:
    authorize(principal(Role.OPERATOR), Permission.REFUND_CHARGE, amount_minor=amount)


@given(amount=st.integers(min_value=DEFAULT_OPERATOR_REFUND_LIMIT_MINOR + 1, max_value=10**12))
def test_operator_refund_above_the_limit_is_denied_but_admin_allowed(amount: int) -> None:
    with pytest.raises(PermissionDenied) as caught:
        authorize(principal(Role.OPERATOR), Permission.REFUND_CHARGE, amount_minor=amount)
    assert caught.value.reason == "REFUND_LIMIT_EXCEEDED"
    authorize(principal(Role.ADMIN), Permission.REFUND_CHARGE, amount_minor=amount)


def test_refund_limit_is_configurable_per_tenant() -> None:
    authorize(
        principal(Role.MANAGER), Permission.REFUND_CHARGE, amount_minor=50_000, operator_refund_limit_minor=50_000
    )
    with pytest.raises(PermissionDenied):
        authorize(
            principal(Role.MANAGER), Permission.REFUND_CHARGE, amount_minor=50_001, operator_refund_limit_minor=50_000
        )


def test_operator_refund_of_unknown_amount_is_denied() -> None:
    with pytest.raises(PermissionDenied):
        authorize(principal(Role.OPERATOR), Permission.REFUND_CHARGE)
    authorize(principal(Role.ADMIN), Permission.REFUND_CHARGE)


@pytest.mark.parametrize("permission", sorted(set(Permission) - DEVICE_OPERATIONS))
def test_publishable_key_cannot_read_or_change_anything_else(permission: Permission) -> None:
    with pytest.raises(PermissionDenied):
        authorize(principal(Role.PUBLISHABLE), permission, amount_minor=1)


def test_publishable_key_bound_to_a_customer_cannot_act_for_another() -> None:
    bound = principal(Role.PUBLISHABLE).acting_for("cus_1")
    authorize(bound, Permission.CHECK_ACCESS, customer_id="cus_1")
    with pytest.raises(PermissionDenied) as caught:
        authorize(bound, Permission.CHECK_ACCESS, customer_id="cus_2")
    assert caught.value.reason == "CUSTOMER_SCOPE_VIOLATION"


@pytest.mark.parametrize("permission", [Permission.CREATE_CUSTOMER, Permission.MANAGE_PAYMENT_METHODS])
def test_registering_customers_and_storing_cards_is_for_operators_and_above(permission: Permission) -> None:
    assert {role for role in Role if allowed(role, permission)} == {Role.OPERATOR, Role.MANAGER, Role.ADMIN}


FAMILY_DEVICE_OPERATIONS = {
    Permission.READ_FAMILIES,
    Permission.INVITE_FAMILY_MEMBERS,
    Permission.ACCEPT_FAMILY_INVITES,
}


def test_a_publishable_key_uses_family_operations_only_when_bound_and_only_for_its_customer() -> None:
    device = principal(Role.PUBLISHABLE, customer_id="c1")
    for permission in FAMILY_DEVICE_OPERATIONS:
        authorize(device, permission, customer_id="c1")
        with pytest.raises(PermissionDenied) as foreign:
            authorize(device, permission, customer_id="c2")
        assert foreign.value.reason == "CUSTOMER_SCOPE_VIOLATION"
        with pytest.raises(PermissionDenied) as unbound:
            authorize(principal(Role.PUBLISHABLE), permission, customer_id="c1")
        assert unbound.value.reason == "CUSTOMER_SCOPE_VIOLATION"
    with pytest.raises(PermissionDenied):
        authorize(device, Permission.MANAGE_FAMILIES, customer_id="c1")
