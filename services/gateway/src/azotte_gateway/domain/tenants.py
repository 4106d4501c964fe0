"""Tenants: the businesses that use Azotte, each in sandbox or live mode."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from azotte_gateway.errors import TenantIdInvalid, TenantNameRequired, TenantNotSandbox

_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,62}[a-z0-9]$")
DEFAULT_OPERATOR_REFUND_LIMIT_MINOR = 10_000


class TenantMode(StrEnum):
    """Whether a tenant moves real money (live) or test money on a movable clock (sandbox)."""

    SANDBOX = "sandbox"
    LIVE = "live"


@dataclass(frozen=True)
class Tenant:
    """A tenant, identified by a slug such as `acme-video`."""

    id: str
    name: str
    mode: TenantMode
    # Largest refund, in the charge's minor units, that roles without refund_any_amount may make.
    operator_refund_limit_minor: int = DEFAULT_OPERATOR_REFUND_LIMIT_MINOR
    # The tenant created at first start; its admins may create other tenants.
    is_root: bool = False
    # Signs the tenant's customer tokens (domain/customer_tokens.py); never shown.
    customer_token_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def __post_init__(self) -> None:
        if not _SLUG.fullmatch(self.id):
            raise TenantIdInvalid.field(
                "id", "must be 3-64 lowercase letters, digits or hyphens, starting with a letter"
            )
        if not self.name.strip():
            raise TenantNameRequired.field("name", "must not be empty")

    @property
    def is_sandbox(self) -> bool:
        """True for a sandbox tenant."""
        return self.mode is TenantMode.SANDBOX

    def ensure_may_advance_clock(self) -> None:
        """Raise unless this tenant may move the sandbox clock."""
        # NOTE: moving the clock runs renewals and other due work; a live tenant's money must
        # only ever move on real time.
        if not self.is_sandbox:
            raise TenantNotSandbox(f"tenant {self.id!r} is in live mode; only sandbox tenants may advance the clock")
