"""Customer credit balances: granted by refunds to credit or goodwill, spent before charging."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from azotte_payments.domain.events import CreditGranted
from azotte_payments.errors import InsufficientCredit
from azotte_platform.errors import InvalidArgument


class CreditReason(StrEnum):
    """Why a balance grew."""

    REFUND = "refund"
    GOODWILL = "goodwill"


@dataclass
class CreditBalance:
    """One customer's credit in one currency."""

    customer_id: str
    currency: str
    balance_minor: int = 0
    events: list[CreditGranted] = field(default_factory=list)

    def grant(self, amount_minor: int, reason: CreditReason, now: datetime) -> None:
        """Add credit."""
        if amount_minor <= 0:
            raise InvalidArgument.field("amount", "must be positive")
        self.balance_minor += amount_minor
        self.events.append(
            CreditGranted(self.customer_id, self.currency, amount_minor, self.balance_minor, reason, now)
        )

    def spend(self, amount_minor: int) -> None:
        """Reserve credit applied to a charge; released again if the charge does not succeed."""
        if amount_minor < 0:
            raise InvalidArgument.field("amount", "must not be negative")
        # NOTE: credit is taken when the charge is created so that two charges cannot spend it twice.
        if amount_minor > self.balance_minor:
            raise InsufficientCredit(f"credit balance {self.balance_minor} {self.currency} is below {amount_minor}")
        self.balance_minor -= amount_minor

    def release(self, amount_minor: int) -> None:
        """Give back credit reserved for a charge that did not succeed."""
        if amount_minor < 0:
            raise InvalidArgument.field("amount", "must not be negative")
        self.balance_minor += amount_minor
