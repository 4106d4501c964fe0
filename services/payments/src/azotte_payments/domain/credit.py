"""Customer credit balances: granted by refunds to credit or goodwill, spent before charging, with their movements."""

from __future__ import annotations

import uuid
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


class CreditMovementKind(StrEnum):
    """What moved a balance."""

    GRANT = "grant"
    REFUND = "refund"
    SPEND = "spend"
    RELEASE = "release"


_GRANT_KINDS = {CreditReason.GOODWILL: CreditMovementKind.GRANT, CreditReason.REFUND: CreditMovementKind.REFUND}


@dataclass(frozen=True)
class CreditMovement:
    """One change of a balance: positive when credit was added, negative when it was spent."""

    movement_id: str
    customer_id: str
    currency: str
    kind: CreditMovementKind
    amount_minor: int
    balance_after_minor: int
    occurred_at: datetime
    charge_id: str = ""
    note: str = ""


@dataclass
class CreditBalance:
    """One customer's credit in one currency."""

    customer_id: str
    currency: str
    balance_minor: int = 0
    events: list[CreditGranted] = field(default_factory=list)
    # Movements made since the balance was loaded; the repository stores them with the balance.
    movements: list[CreditMovement] = field(default_factory=list)

    def grant(
        self, amount_minor: int, reason: CreditReason, now: datetime, *, charge_id: str = "", note: str = ""
    ) -> None:
        """Add credit (goodwill, or a refund of `charge_id` to credit)."""
        if amount_minor <= 0:
            raise InvalidArgument.field("amount", "must be positive")
        self.balance_minor += amount_minor
        self._moved(_GRANT_KINDS[reason], amount_minor, now, charge_id, note)
        self.events.append(
            CreditGranted(self.customer_id, self.currency, amount_minor, self.balance_minor, reason, now)
        )

    def spend(self, amount_minor: int, now: datetime, *, charge_id: str = "") -> None:
        """Reserve credit applied to a charge; released again if the charge does not succeed."""
        if amount_minor < 0:
            raise InvalidArgument.field("amount", "must not be negative")
        # NOTE: credit is taken when the charge is created so that two charges cannot spend it twice.
        if amount_minor > self.balance_minor:
            raise InsufficientCredit(f"credit balance {self.balance_minor} {self.currency} is below {amount_minor}")
        self.balance_minor -= amount_minor
        if amount_minor:
            self._moved(CreditMovementKind.SPEND, -amount_minor, now, charge_id, "")

    def release(self, amount_minor: int, now: datetime, *, charge_id: str = "") -> None:
        """Give back credit reserved for a charge that did not succeed (or was voided)."""
        if amount_minor < 0:
            raise InvalidArgument.field("amount", "must not be negative")
        self.balance_minor += amount_minor
        if amount_minor:
            self._moved(CreditMovementKind.RELEASE, amount_minor, now, charge_id, "")

    def _moved(self, kind: CreditMovementKind, amount_minor: int, now: datetime, charge_id: str, note: str) -> None:
        movement_id = f"cm_{uuid.uuid4().hex}"
        self.movements.append(
            CreditMovement(
                movement_id,
                self.customer_id,
                self.currency,
                kind,
                amount_minor,
                self.balance_minor,
                now,
                charge_id,
                note,
            )
        )
