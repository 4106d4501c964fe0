"""The errors lifecycle raises, one class per reason; callers match on the class.

A payment declined by a plan change is the platform's shared `PaymentDeclined` (the gateway maps it); an unknown
subscription the shared `SubscriptionNotFound` (the gateway's channel inbox recovers the channel's history on it).
"""

from __future__ import annotations

from azotte_platform.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from azotte_platform.errors import SubscriptionNotFound as SubscriptionNotFound


class CustomerNotFound(NotFound):
    """No customer of the tenant has that id or channel identity."""

    reason = "CUSTOMER_NOT_FOUND"


class ContractNotFound(NotFound):
    """No contract of the tenant has that id."""

    reason = "CONTRACT_NOT_FOUND"


class CustomerExists(AlreadyExists):
    """A customer with that external id already exists in the tenant."""

    reason = "CUSTOMER_EXISTS"


class SubscriptionExists(AlreadyExists):
    """The caller-chosen subscription id is taken in the tenant."""

    reason = "SUBSCRIPTION_EXISTS"


class AlreadySubscribed(AlreadyExists):
    """The customer already holds a live subscription to the plan or to another base plan of its family."""

    reason = "ALREADY_SUBSCRIBED"


class IdentityLinked(AlreadyExists):
    """The channel identity is linked to another customer."""

    reason = "IDENTITY_LINKED"


class PauseTooLong(InvalidArgument):
    """The pause would last longer than the policy's maximum."""

    reason = "PAUSE_TOO_LONG"


class CurrencyMismatch(InvalidArgument):
    """The new plan is priced in another currency than the subscription."""

    reason = "CURRENCY_MISMATCH"


class SamePlan(InvalidArgument):
    """The subscription is already on that plan."""

    reason = "SAME_PLAN"


class IllegalTransition(FailedPrecondition):
    """The subscription's state does not allow the command; `state` in the metadata names it."""

    reason = "ILLEGAL_TRANSITION"


class StoreBilledSubscription(FailedPrecondition):
    """The subscription is billed by its store, which manages it."""

    reason = "STORE_BILLED_SUBSCRIPTION"


class NotStoreBilled(FailedPrecondition):
    """Channel events apply only to store-billed subscriptions."""

    reason = "NOT_STORE_BILLED"


class StaleCharge(FailedPrecondition):
    """A charge result answers a charge that is no longer the one due."""

    reason = "STALE_CHARGE"


class StaleWork(FailedPrecondition):
    """The due work is not (or no longer) due."""

    reason = "STALE_WORK"


class ChargeRequired(FailedPrecondition):
    """The due work charges: its charge result must be applied instead."""

    reason = "CHARGE_REQUIRED"


class RefundNotCovered(FailedPrecondition):
    """The charges of the current period cannot pay back the refund."""

    reason = "REFUND_NOT_COVERED"


class PlanNotBillable(FailedPrecondition):
    """The catalog plan has no billing interval."""

    reason = "PLAN_NOT_BILLABLE"


class RefundLimitExceeded(PermissionDenied):
    """The prorated refund is above the caller's `max_refund_minor`."""

    reason = "REFUND_LIMIT_EXCEEDED"


class EventInFlight(Aborted):
    """The same channel event is being applied concurrently."""

    reason = "EVENT_IN_FLIGHT"


class PolicyVersionMismatch(Aborted):
    """The lifecycle policy changed since the version the update was based on."""

    reason = "POLICY_VERSION_MISMATCH"


class PaymentPending(Unavailable):
    """A payment's outcome is not known yet; retry with the same request id."""

    reason = "PAYMENT_PENDING"


class NoUpcomingCharge(FailedPrecondition):
    """The subscription renews no more (ended, cancelled at period end, store-billed, or a refused increase)."""

    reason = "NO_UPCOMING_CHARGE"
