"""The gateway's typed errors, one class per reason; callers match on the class, never on the reason.

A declined card is the platform's shared `errors.PaymentDeclined` (raised here and by lifecycle and
payments, rebuilt by `from_rpc_error`), so it is not declared again here.
"""

from __future__ import annotations

from azotte_platform.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

# --- authentication and rate limits ---------------------------------------------------------------


class ApiKeyMissing(Unauthenticated):
    """The call carried no `Authorization` header or metadata."""

    reason = "API_KEY_MISSING"


class ApiKeyMalformed(Unauthenticated):
    """The authorization is not `Bearer <key>`, or the key is not shaped like `azk_<mode>_<prefix>_<secret>`."""

    reason = "API_KEY_MALFORMED"


class AuthorizationRepeated(Unauthenticated):
    """The call carried more than one `Authorization` header or `authorization` metadata entry."""

    reason = "AUTHORIZATION_REPEATED"


class ApiKeyInvalid(Unauthenticated):
    """No key has this prefix and secret."""

    reason = "API_KEY_INVALID"


class CustomerTokenInvalid(Unauthenticated):
    """The customer token is forged, another tenant's, malformed or expired."""

    reason = "CUSTOMER_TOKEN_INVALID"


class CustomerTokenRepeated(Unauthenticated):
    """The call carried more than one customer token."""

    reason = "CUSTOMER_TOKEN_REPEATED"


class ApiKeyRevoked(Unauthenticated):
    """The key was revoked."""

    reason = "API_KEY_REVOKED"


class ApiKeyExpired(Unauthenticated):
    """The key's expiry time has passed."""

    reason = "API_KEY_EXPIRED"


class RateLimited(ResourceExhausted):
    """The key's token bucket is empty; `retry_after_seconds` in the metadata says when to retry."""

    reason = "RATE_LIMITED"


# --- authorization --------------------------------------------------------------------------------


class RolePermissionMissing(PermissionDenied):
    """The key's role does not grant the operation's permission."""

    reason = "ROLE_PERMISSION_MISSING"


class CustomerScopeViolation(PermissionDenied):
    """A key bound to one customer acted for another."""

    reason = "CUSTOMER_SCOPE_VIOLATION"


class RefundLimitExceeded(PermissionDenied):
    """The refund is above the tenant's operator refund limit and the role may not refund any amount."""

    reason = "REFUND_LIMIT_EXCEEDED"


class RootTenantRequired(PermissionDenied):
    """Only administrators of the root tenant may create tenants."""

    reason = "ROOT_TENANT_REQUIRED"


# --- tenants and API keys -------------------------------------------------------------------------


class TenantIdInvalid(InvalidArgument):
    """A tenant id is not a 3-64 character lowercase slug."""

    reason = "TENANT_ID_INVALID"


class TenantNameRequired(InvalidArgument):
    """A tenant needs a display name."""

    reason = "TENANT_NAME_REQUIRED"


class TenantExists(AlreadyExists):
    """A tenant with this id already exists."""

    reason = "TENANT_EXISTS"


class TenantNotSandbox(FailedPrecondition):
    """Only sandbox tenants may move the sandbox clock."""

    reason = "TENANT_NOT_SANDBOX"


class ApiKeyNameRequired(InvalidArgument):
    """An API key needs a display name."""

    reason = "API_KEY_NAME_REQUIRED"


class ApiKeyExpiryInPast(InvalidArgument):
    """An API key's expiry time must be in the future."""

    reason = "API_KEY_EXPIRY_IN_PAST"


class ApiKeyNotFound(NotFound):
    """The tenant has no API key with this id."""

    reason = "API_KEY_NOT_FOUND"


# --- sandbox clock --------------------------------------------------------------------------------


class NoSandboxClock(FailedPrecondition):
    """The suite runs on wall time; its clock cannot move."""

    reason = "NO_SANDBOX_CLOCK"


class ClockBackward(InvalidArgument):
    """The sandbox clock only moves forward."""

    reason = "CLOCK_BACKWARD"


# --- checkout -------------------------------------------------------------------------------------


class ChannelNotEnabled(InvalidArgument):
    """The storefront does not sell on the checkout's channel."""

    reason = "CHANNEL_NOT_ENABLED"


class PlanNotInStorefront(InvalidArgument):
    """The plan is unknown or has no price in the storefront."""

    reason = "PLAN_NOT_IN_STOREFRONT"


class PlanNotActive(InvalidArgument):
    """The plan is a draft or retired: not for sale."""

    reason = "PLAN_NOT_ACTIVE"


class PromotionCodeUnknown(InvalidArgument):
    """The checkout names a promotion code that no promotion has."""

    reason = "PROMOTION_CODE_UNKNOWN"


class PromotionCodeNotEligible(InvalidArgument):
    """The checkout's promotion code does not apply to it; `reasons` lists every failed rule."""

    reason = "PROMOTION_CODE_NOT_ELIGIBLE"


class PromotionLimitReached(FailedPrecondition):
    """The checkout's promotion code reached a limit (total, code, per customer, budget); `limit` names it."""

    reason = "PROMOTION_LIMIT_REACHED"


class ReferralCodeUnknown(InvalidArgument):
    """The checkout names a referral code no customer has."""

    reason = "REFERRAL_CODE_UNKNOWN"


class ReferralCodeNotEligible(InvalidArgument):
    """The checkout's referral code cannot be used by its customer; `reason` says why (self referral, ...)."""

    reason = "REFERRAL_CODE_NOT_ELIGIBLE"


class TrialAlreadyUsed(FailedPrecondition):
    """The customer took the product line's free trial already (on any channel); `match` names what matched."""

    reason = "TRIAL_ALREADY_USED"


class CheckoutCompensated(Aborted):
    """This checkout's charge was already given back; a new checkout needs a new request id."""

    reason = "CHECKOUT_COMPENSATED"


class PaymentRequiresAction(FailedPrecondition):
    """The card's issuer wants the customer to authenticate (3-D Secure) with the `client_secret` first."""

    reason = "PAYMENT_REQUIRES_ACTION"


class PaymentPending(Unavailable):
    """The payment's outcome is not known yet; retry with the same request id."""

    reason = "PAYMENT_PENDING"


# --- billing --------------------------------------------------------------------------------------


class LastPaymentMethodOfLiveSubscription(FailedPrecondition):
    """Deleting the customer's last payment method would leave a live subscription nothing to renew with."""

    reason = "LAST_PAYMENT_METHOD_OF_LIVE_SUBSCRIPTION"


# --- families -------------------------------------------------------------------------------------


class FamilyNotFound(NotFound):
    """The customer owns no plan with seats, so has no family."""

    reason = "FAMILY_NOT_FOUND"


class FamilyMemberNotFound(NotFound):
    """The customer is not a member of the owner's family."""

    reason = "FAMILY_MEMBER_NOT_FOUND"


# --- channel notifications ------------------------------------------------------------------------


class ChannelNotSupported(NotFound):
    """No adapter for this channel's notifications is registered."""

    reason = "CHANNEL_NOT_SUPPORTED"


class ChannelNotificationRejected(Unauthenticated):
    """A channel notification failed verification (signature, certificate or shape)."""

    reason = "CHANNEL_NOTIFICATION_REJECTED"


class ChannelAppNotFound(NotFound):
    """The tenant has no channel app (e.g. App Store app) of this id."""

    reason = "CHANNEL_APP_NOT_FOUND"


class ChannelAppAlreadyExists(AlreadyExists):
    """The tenant already has a channel app of this id."""

    reason = "CHANNEL_APP_ALREADY_EXISTS"


class ChannelCustomerUnknown(FailedPrecondition):
    """No customer has the notification's channel identities linked (yet): the channel redelivers later."""

    reason = "CHANNEL_CUSTOMER_UNKNOWN"


class ChannelApiUnavailable(Unavailable):
    """A channel's own API (e.g. the Play Developer API) did not answer as expected: the channel redelivers later."""

    reason = "CHANNEL_API_UNAVAILABLE"


class ChannelNotificationNotFound(NotFound):
    """The tenant's notification inbox holds no notification of that name."""

    reason = "CHANNEL_NOTIFICATION_NOT_FOUND"


class ChannelNotificationNotReplayable(FailedPrecondition):
    """Only a failed or parked notification is replayed; an applied or ignored one has nothing left to apply."""

    reason = "CHANNEL_NOTIFICATION_NOT_REPLAYABLE"


# --- webhooks ---------------------------------------------------------------------------------------


class WebhookEndpointNotFound(NotFound):
    """The tenant has no webhook endpoint of this id."""

    reason = "WEBHOOK_ENDPOINT_NOT_FOUND"


class WebhookMessageNotFound(NotFound):
    """The tenant has no webhook message of this id."""

    reason = "WEBHOOK_MESSAGE_NOT_FOUND"


class WebhookEndpointDisabled(FailedPrecondition):
    """The endpoint is disabled: enable it before replaying or testing."""

    reason = "WEBHOOK_ENDPOINT_DISABLED"


class WebhookUrlRefused(InvalidArgument):
    """The endpoint URL is malformed, not https for a live tenant, or reaches a non-public address."""

    reason = "WEBHOOK_URL_REFUSED"


class WebhookEventTypeUnknown(InvalidArgument):
    """An endpoint's event-type filter names a type no service publishes."""

    reason = "WEBHOOK_EVENT_TYPE_UNKNOWN"


# --- portal users and sign-in ---------------------------------------------------------------------


class PortalUserNotFound(NotFound):
    """The tenant has no portal user of this id."""

    reason = "PORTAL_USER_NOT_FOUND"


class PortalUserExists(AlreadyExists):
    """The tenant already has a portal user with this email."""

    reason = "PORTAL_USER_EXISTS"


class PortalSignInFailed(Unauthenticated):
    """The tenant, email or password is wrong (the answer never says which)."""

    reason = "PORTAL_SIGN_IN_FAILED"


class PortalSignInLocked(ResourceExhausted):
    """Too many failed sign-ins for this email lately; wait before trying again."""

    reason = "PORTAL_SIGN_IN_LOCKED"


class PortalSessionInvalid(Unauthenticated):
    """The portal session is unknown, expired or signed out, or its user was disabled."""

    reason = "PORTAL_SESSION_INVALID"


class PortalCsrfTokenInvalid(PermissionDenied):
    """A portal form was posted without its session's CSRF token."""

    reason = "PORTAL_CSRF_TOKEN_INVALID"
