"""Checkout rules that do not depend on any service: derived keys, trials, decline errors."""

from __future__ import annotations

from datetime import datetime, timedelta

from azotte_platform.errors import FailedPrecondition
from azotte_platform.idempotency import derive_request_id

PAYMENT_DECLINED = "PAYMENT_DECLINED"


class PaymentDeclined(FailedPrecondition):
    """The payment provider refused the charge; `metadata['decline_reason']` says why."""

    default_reason = PAYMENT_DECLINED


def charge_idempotency_key(tenant_id: str, request_id: str) -> str:
    """The payments idempotency key of a checkout: one charge per (tenant, request id), whatever the retries."""
    return f"checkout:{tenant_id}:{request_id}"


def derived_request_id(request_id: str, step: str) -> str:
    """The request id a checkout step sends to a service, so that each step is retried safely."""
    return derive_request_id("checkout", request_id, step)


def trial_end(now: datetime, trial_days: int) -> datetime | None:
    """When a trial started now ends, or None for a plan without a trial."""
    # NOTE: a trial starts without a charge; the first charge happens when the trial converts.
    return now + timedelta(days=trial_days) if trial_days > 0 else None
