"""Roles, the permissions each grants, and the pure authorization check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from azotte_gateway.domain.tenants import DEFAULT_OPERATOR_REFUND_LIMIT_MINOR, TenantMode
from azotte_gateway.errors import CustomerScopeViolation, RefundLimitExceeded, RolePermissionMissing


class Permission(StrEnum):
    """An operation a caller may be allowed to perform."""

    # Device-facing operations (the only ones a publishable key may call).
    CHECK_ACCESS = "check_access"
    LIST_ENTITLEMENTS = "list_entitlements"
    START_CHECKOUT = "start_checkout"
    # A device shows the discounted price before paying.
    VALIDATE_PROMOTION_CODES = "validate_promotion_codes"
    # A paywall asks whether to offer the free trial (a publishable key only for its bound customer).
    CHECK_TRIAL_ELIGIBILITY = "check_trial_eligibility"
    # Reads.
    READ_CUSTOMERS = "read_customers"
    READ_SUBSCRIPTIONS = "read_subscriptions"
    READ_CHARGES = "read_charges"
    READ_CATALOG = "read_catalog"
    READ_PROMOTIONS = "read_promotions"
    READ_PAYMENT_METHODS = "read_payment_methods"
    READ_CREDITS = "read_credits"
    READ_LIFECYCLE_POLICY = "read_lifecycle_policy"
    # Meters, a customer's usage and the raw usage events (audit, CSV export).
    READ_USAGE = "read_usage"
    # Usage prices, wallets and their history, limits and the upcoming usage charges.
    READ_USAGE_BILLING = "read_usage_billing"
    # A subscription's upcoming charge and pending price change (a device app: bound to its customer).
    READ_PRICE_CHANGES = "read_price_changes"
    # MRR, churn, payment and campaign figures and the revenue stream behind them.
    READ_ANALYTICS = "read_analytics"
    # The webhook endpoints (never their secrets) and the delivery log.
    READ_WEBHOOKS = "read_webhooks"
    # Invoices, credit notes, their PDFs and the bank transfers received.
    READ_INVOICES = "read_invoices"
    # Enterprise contracts and their versions.
    READ_CONTRACTS = "read_contracts"
    # Day-to-day customer operations.
    CANCEL_SUBSCRIPTION = "cancel_subscription"
    PAUSE_SUBSCRIPTION = "pause_subscription"
    RESUME_SUBSCRIPTION = "resume_subscription"
    REACTIVATE_SUBSCRIPTION = "reactivate_subscription"
    REFUND_CHARGE = "refund_charge"
    # A backend reports usage events (secret keys only: a publishable key could inflate anyone's usage).
    INGEST_USAGE = "ingest_usage"
    # The subscriber's answer to a price increase (a device app bound to its customer, or support for them).
    CONSENT_TO_PRICE_CHANGES = "consent_to_price_changes"
    # NOTE: not start_checkout: a publishable key is public, so it registers nobody and changes no
    # stored card; it attaches a card only inside its own checkout (the checkout's token).
    CREATE_CUSTOMER = "create_customer"
    MANAGE_PAYMENT_METHODS = "manage_payment_methods"
    LINK_CHANNEL_IDENTITY = "link_channel_identity"
    # A backend vouches for a device's customer (domain/customer_tokens.py).
    ISSUE_CUSTOMER_TOKENS = "issue_customer_tokens"
    # A support gesture: a single-use code of an existing promotion for one customer.
    ISSUE_GOODWILL_CODES = "issue_goodwill_codes"
    # Referrals: a customer's referral code (a publishable key only for its bound customer), reads, the program.
    ISSUE_REFERRAL_CODES = "issue_referral_codes"
    READ_REFERRALS = "read_referrals"
    MANAGE_REFERRALS = "manage_referrals"
    # Lifecycle-triggered campaigns and the retention offers they issued.
    READ_CAMPAIGNS = "read_campaigns"
    MANAGE_CAMPAIGNS = "manage_campaigns"
    # A/B experiments: a customer's variant (a publishable key only for its bound customer), reads, configuration.
    ASSIGN_EXPERIMENT_VARIANTS = "assign_experiment_variants"
    READ_EXPERIMENTS = "read_experiments"
    MANAGE_EXPERIMENTS = "manage_experiments"
    # Families: a publishable key only when bound to the customer (see CUSTOMER_BOUND_ONLY).
    READ_FAMILIES = "read_families"
    INVITE_FAMILY_MEMBERS = "invite_family_members"
    ACCEPT_FAMILY_INVITES = "accept_family_invites"
    MANAGE_FAMILIES = "manage_families"
    # Entitlements by hand: comps, revocations, suspensions, drift reconciliation.
    READ_GRANTS = "read_grants"
    MANAGE_GRANTS = "manage_grants"
    RECONCILE_GRANTS = "reconcile_grants"
    SUSPEND_FEATURES = "suspend_features"
    RECONCILE_ALL_GRANTS = "reconcile_all_grants"
    # Catalog, pricing and campaign configuration; plan changes.
    CHANGE_SUBSCRIPTION_PLAN = "change_subscription_plan"
    APPLY_CATALOG = "apply_catalog"
    SCHEDULE_PRICES = "schedule_prices"
    MANAGE_PLANS = "manage_plans"
    MANAGE_STOREFRONTS = "manage_storefronts"
    MANAGE_FEATURES = "manage_features"
    MANAGE_CHANNEL_MAPPINGS = "manage_channel_mappings"
    # The channel apps (App Store apps) whose notifications the gateway accepts, and their trusted roots.
    MANAGE_CHANNELS = "manage_channels"
    MANAGE_PROMOTIONS = "manage_promotions"
    # The App Store subscription key that signs promotional offers (admin only: a signing secret).
    MANAGE_STORE_OFFER_KEYS = "manage_store_offer_keys"
    # An App Store promotional offer signed for a purchase on a device.
    SIGN_STORE_OFFERS = "sign_store_offers"
    MANAGE_METERS = "manage_meters"
    # Usage prices and limits (alerts and cut-offs).
    MANAGE_USAGE_BILLING = "manage_usage_billing"
    # Prepaid credit for usage: grants, top-ups (charged), auto-recharge.
    GRANT_USAGE_CREDIT = "grant_usage_credit"
    MANAGE_LIFECYCLE_POLICY = "manage_lifecycle_policy"
    # What scheduled price changes did per cohort (consent, churn, revenue before/after).
    READ_PRICE_CHANGE_IMPACT = "read_price_change_impact"
    # Tenant administration and finance.
    MANAGE_TENANT = "manage_tenant"
    MANAGE_API_KEYS = "manage_api_keys"
    # The tenant's own PSP accounts and their credentials (admin only: they move the tenant's money).
    MANAGE_PSP_ACCOUNTS = "manage_psp_accounts"
    # The people who sign in to the portal, and their roles.
    MANAGE_PORTAL_USERS = "manage_portal_users"
    REFUND_ANY_AMOUNT = "refund_any_amount"
    ISSUE_CREDITS = "issue_credits"
    READ_REVENUE_REPORTS = "read_revenue_reports"
    ADVANCE_SANDBOX_CLOCK = "advance_sandbox_clock"
    # Webhook endpoints and their signing secrets, replays and test events.
    MANAGE_WEBHOOKS = "manage_webhooks"
    # Bank transfers: recorded by hand, imported from statements, queued ones assigned to invoices.
    RECORD_INVOICE_PAYMENTS = "record_invoice_payments"
    # Invoices and credit notes, and the seller details and bank account invoices print.
    MANAGE_INVOICES = "manage_invoices"
    # Voiding an invoice and writing one off as uncollectible (admin only: they cancel revenue).
    VOID_INVOICES = "void_invoices"
    # Enterprise contracts: sign, amend, end.
    MANAGE_CONTRACTS = "manage_contracts"


class Role(StrEnum):
    """A role carried by an API key or a portal user."""

    ADMIN = "admin"
    MANAGER = "manager"
    OPERATOR = "operator"
    VIEWER = "viewer"
    PUBLISHABLE = "publishable"


_PUBLISHABLE = frozenset(
    {
        Permission.CHECK_ACCESS,
        Permission.LIST_ENTITLEMENTS,
        Permission.START_CHECKOUT,
        Permission.VALIDATE_PROMOTION_CODES,
        Permission.SIGN_STORE_OFFERS,
        Permission.CHECK_TRIAL_ELIGIBILITY,
        Permission.ISSUE_REFERRAL_CODES,
        Permission.ASSIGN_EXPERIMENT_VARIANTS,
        Permission.READ_FAMILIES,
        Permission.INVITE_FAMILY_MEMBERS,
        Permission.ACCEPT_FAMILY_INVITES,
        Permission.READ_PRICE_CHANGES,
        Permission.CONSENT_TO_PRICE_CHANGES,
    }
)
# NOTE: a publishable key is public, so these need a customer token binding it to the customer they
# name (the family's owner, or the invitee accepting); an unbound publishable key is refused.
CUSTOMER_BOUND_ONLY = frozenset(
    {
        Permission.READ_FAMILIES,
        Permission.INVITE_FAMILY_MEMBERS,
        Permission.ACCEPT_FAMILY_INVITES,
        Permission.CHECK_TRIAL_ELIGIBILITY,
        Permission.ISSUE_REFERRAL_CODES,
        Permission.ASSIGN_EXPERIMENT_VARIANTS,
        Permission.READ_PRICE_CHANGES,
        Permission.CONSENT_TO_PRICE_CHANGES,
    }
)
_VIEWER = frozenset(
    {
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
        Permission.READ_USAGE,
        Permission.READ_USAGE_BILLING,
        Permission.READ_PRICE_CHANGES,
        Permission.READ_WEBHOOKS,
        Permission.READ_ANALYTICS,
        Permission.READ_INVOICES,
        Permission.READ_CONTRACTS,
    }
)
_OPERATOR = _VIEWER | {
    Permission.START_CHECKOUT,
    Permission.CANCEL_SUBSCRIPTION,
    Permission.PAUSE_SUBSCRIPTION,
    Permission.RESUME_SUBSCRIPTION,
    Permission.REACTIVATE_SUBSCRIPTION,
    Permission.REFUND_CHARGE,
    Permission.CREATE_CUSTOMER,
    Permission.MANAGE_PAYMENT_METHODS,
    Permission.LINK_CHANNEL_IDENTITY,
    Permission.ISSUE_CUSTOMER_TOKENS,
    Permission.ISSUE_GOODWILL_CODES,
    Permission.SIGN_STORE_OFFERS,
    Permission.ISSUE_REFERRAL_CODES,
    Permission.ASSIGN_EXPERIMENT_VARIANTS,
    Permission.MANAGE_GRANTS,
    Permission.RECONCILE_GRANTS,
    Permission.INVITE_FAMILY_MEMBERS,
    Permission.ACCEPT_FAMILY_INVITES,
    Permission.MANAGE_FAMILIES,
    Permission.CONSENT_TO_PRICE_CHANGES,
    Permission.INGEST_USAGE,
    Permission.GRANT_USAGE_CREDIT,
    Permission.RECORD_INVOICE_PAYMENTS,
}
_MANAGER = _OPERATOR | {
    Permission.MANAGE_LIFECYCLE_POLICY,
    Permission.SUSPEND_FEATURES,
    Permission.CHANGE_SUBSCRIPTION_PLAN,
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
    Permission.READ_PRICE_CHANGE_IMPACT,
    Permission.MANAGE_INVOICES,
    Permission.MANAGE_CONTRACTS,
}
_ADMIN = _MANAGER | {
    Permission.RECONCILE_ALL_GRANTS,
    Permission.MANAGE_TENANT,
    Permission.MANAGE_API_KEYS,
    Permission.MANAGE_PSP_ACCOUNTS,
    Permission.MANAGE_STORE_OFFER_KEYS,
    Permission.MANAGE_PORTAL_USERS,
    Permission.REFUND_ANY_AMOUNT,
    Permission.ISSUE_CREDITS,
    Permission.READ_REVENUE_REPORTS,
    Permission.ADVANCE_SANDBOX_CLOCK,
    Permission.MANAGE_WEBHOOKS,
    Permission.VOID_INVOICES,
}

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMIN: _ADMIN,
        Role.MANAGER: _MANAGER,
        Role.OPERATOR: _OPERATOR,
        Role.VIEWER: _VIEWER,
        Role.PUBLISHABLE: _PUBLISHABLE,
    }
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, the API key used and the role it carries."""

    tenant_id: str
    tenant_mode: TenantMode
    api_key_id: str
    role: Role
    # A publishable key acts for one customer once a customer token has bound it; None = unbound.
    customer_id: str | None = None

    def acting_for(self, customer_id: str) -> Principal:
        """This principal bound to one customer (from a verified customer token)."""
        return Principal(self.tenant_id, self.tenant_mode, self.api_key_id, self.role, customer_id)


def is_allowed(role: Role, permission: Permission) -> bool:
    """True when the role grants the permission (ignoring amount limits)."""
    return permission in ROLE_PERMISSIONS[role]


def authorize(
    principal: Principal,
    permission: Permission,
    *,
    amount_minor: int | None = None,
    customer_id: str | None = None,
    operator_refund_limit_minor: int = DEFAULT_OPERATOR_REFUND_LIMIT_MINOR,
) -> None:
    """Raise PermissionDenied unless the principal may perform the operation."""
    role = principal.role
    if not is_allowed(role, permission):
        raise RolePermissionMissing(
            f"role {role.value!r} does not have permission {permission.value!r}",
            metadata={"role": role.value, "permission": permission.value},
        )
    if role is Role.PUBLISHABLE and principal.customer_id is None and permission in CUSTOMER_BOUND_ONLY:
        raise CustomerScopeViolation(
            f"role {role.value!r} may use permission {permission.value!r} only when bound to a customer",
            metadata={"role": role.value, "permission": permission.value},
        )
    if principal.customer_id is not None and customer_id != principal.customer_id:
        raise CustomerScopeViolation(
            f"role {role.value!r} is bound to one customer and may not act for customer {customer_id!r}",
            metadata={"role": role.value, "permission": permission.value},
        )
    # NOTE: roles without refund_any_amount refund at most the tenant's limit per refund, in the
    # charge's minor units; an unknown amount (e.g. a full refund not yet resolved) is refused.
    needs_any_amount = permission is Permission.REFUND_CHARGE and (
        amount_minor is None or amount_minor > operator_refund_limit_minor
    )
    if needs_any_amount and not is_allowed(role, Permission.REFUND_ANY_AMOUNT):
        amount = "an unspecified amount" if amount_minor is None else f"{amount_minor} minor units"
        raise RefundLimitExceeded(
            f"role {role.value!r} may refund at most {operator_refund_limit_minor} minor units per refund; "
            f"permission {Permission.REFUND_ANY_AMOUNT.value!r} is needed to refund {amount}",
            metadata={"role": role.value, "permission": Permission.REFUND_ANY_AMOUNT.value},
        )
