"""The tenant's dispute access policy: what a chargeback does to the access its subscription gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DisputeAccess(StrEnum):
    """Keep access, suspend it until the dispute is won, or revoke it for good."""

    KEEP = "keep"
    SUSPEND = "suspend"
    REVOKE = "revoke"


@dataclass(frozen=True)
class DisputePolicy:
    """What a newly opened dispute does to access; a tenant that never set one keeps access."""

    on_dispute_opened: DisputeAccess = DisputeAccess.KEEP
    updated_at: datetime | None = None
