"""Checkout rules that do not depend on any service: the charge's idempotency key and trials."""

from __future__ import annotations

from datetime import datetime, timedelta


def charge_idempotency_key(tenant_id: str, request_id: str) -> str:
    """The payments idempotency key of a checkout: one charge per (tenant, request id), whatever the retries."""
    return f"checkout:{tenant_id}:{request_id}"


def trial_end(now: datetime, trial_days: int) -> datetime | None:
    """When a trial started now ends, or None for a plan without a trial."""
    # NOTE: a trial starts without a charge; the first charge happens when the trial converts.
    return now + timedelta(days=trial_days) if trial_days > 0 else None
