"""Prepaid credit: a customer's wallet in one currency, its grants, how rated usage burns them down, and
when the wallet recharges itself.

Amounts are integer minor units. A wallet's balance is the sum of what its unexpired grants have left.
Usage burns grants in order: lowest priority number first, then the earliest expiry (a grant that never
expires last), then the oldest; an expired grant is never burned. What no grant covers is left to be
charged in arrears with the period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from azotte_platform.errors import InvalidArgument

MAX_AMOUNT_MINOR = 10**15
"""Largest grant or recharge amount (a bigint keeps sums of many far below its limit)."""
_NEVER = datetime.max


class GrantSource(StrEnum):
    """Where a credit grant comes from."""

    PURCHASE = "purchase"
    ADMIN = "admin"
    PROMOTION = "promotion"


class MovementKind(StrEnum):
    """What moved a wallet's balance."""

    GRANTED = "granted"
    BURNED = "burned"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class CreditGrant:
    """Credit put in a wallet: `remaining_minor` of `amount_minor` is left until `expires_at`."""

    grant_id: str
    amount_minor: int
    remaining_minor: int
    priority: int
    source: GrantSource
    granted_at: datetime
    expires_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        return self.remaining_minor > 0 and (self.expires_at is None or now < self.expires_at)

    def burn_order(self) -> tuple[int, datetime, datetime, str]:
        expiry = self.expires_at.replace(tzinfo=None) if self.expires_at is not None else _NEVER
        return (self.priority, expiry, self.granted_at.replace(tzinfo=None), self.grant_id)


@dataclass(frozen=True, slots=True)
class AutoRecharge:
    """When the balance falls below `threshold_minor`, buy `amount_minor` of credit with the default method."""

    threshold_minor: int
    amount_minor: int

    def __post_init__(self) -> None:
        if not 0 < self.threshold_minor <= MAX_AMOUNT_MINOR:
            raise InvalidArgument.field("auto_recharge.threshold", f"must be between 1 and {MAX_AMOUNT_MINOR}")
        if not 0 < self.amount_minor <= MAX_AMOUNT_MINOR:
            raise InvalidArgument.field("auto_recharge.amount", f"must be between 1 and {MAX_AMOUNT_MINOR}")


@dataclass(frozen=True, slots=True)
class Movement:
    """One change of a wallet's balance (negative when burned or expired); `grant_id` names the grant."""

    kind: MovementKind
    amount_minor: int
    grant_id: str
    at: datetime
    reference: str = ""
    """What caused it: the usage event, the purchase's charge, an admin's request."""


@dataclass(frozen=True, slots=True)
class Burn:
    """What burning an amount did: the grants after it, the movements, and what nothing covered."""

    grants: tuple[CreditGrant, ...]
    movements: tuple[Movement, ...]
    uncovered_minor: int


@dataclass(slots=True)
class Wallet:
    """A customer's prepaid credit in one currency."""

    customer_id: str
    currency_code: str
    storefront_id: str
    grants: list[CreditGrant] = field(default_factory=list)
    auto_recharge: AutoRecharge | None = None
    recharges: int = 0
    """How many auto-recharges were started: the next one's number makes its idempotency key."""

    def balance(self, now: datetime) -> int:
        return sum(grant.remaining_minor for grant in self.grants if grant.usable_at(now))

    def grant(
        self,
        grant_id: str,
        amount_minor: int,
        source: GrantSource,
        now: datetime,
        *,
        priority: int = 0,
        expires_at: datetime | None = None,
        reference: str = "",
    ) -> tuple[CreditGrant, Movement]:
        """Add credit; amounts and expiry are checked and named by the request's fields."""
        if not 0 < amount_minor <= MAX_AMOUNT_MINOR:
            raise InvalidArgument.field("amount.amount_minor", f"must be between 1 and {MAX_AMOUNT_MINOR}")
        if not 0 <= priority <= 1000:
            raise InvalidArgument.field("priority", "must be between 0 and 1000")
        if expires_at is not None and expires_at <= now:
            raise InvalidArgument.field("expire_time", "must be in the future")
        credit = CreditGrant(grant_id, amount_minor, amount_minor, priority, source, now, expires_at)
        self.grants.append(credit)
        return credit, Movement(MovementKind.GRANTED, amount_minor, grant_id, now, reference)

    def burn(self, amount_minor: int, now: datetime, reference: str) -> Burn:
        """Take `amount_minor` from the usable grants in burn order; the grants are updated in place."""
        result = burn(self.grants, amount_minor, now, reference)
        by_id = {grant.grant_id: grant for grant in result.grants}
        self.grants = [by_id.get(grant.grant_id, grant) for grant in self.grants]
        return result

    def needs_recharge(self, balance_before: int, balance_after: int) -> bool:
        """The balance just crossed below the auto-recharge threshold.

        NOTE: only the crossing counts (before at or above, after below), so a wallet that stays below while
        a recharge is in flight starts no second one; the burn runs under the wallet's row lock, so two
        concurrent burns cannot both see the crossing.
        """
        rule = self.auto_recharge
        return rule is not None and balance_before >= rule.threshold_minor > balance_after

    def start_recharge(self) -> str:
        """Number the next auto-recharge; its id is the idempotency key of its charge."""
        self.recharges += 1
        return recharge_id(self.customer_id, self.currency_code, self.recharges)


def recharge_id(customer_id: str, currency_code: str, number: int) -> str:
    return f"recharge:{customer_id}:{currency_code}:{number}"


def burn(grants: Sequence[CreditGrant], amount_minor: int, now: datetime, reference: str) -> Burn:
    """Burn `amount_minor` across `grants` (see the module's order); the grants that changed, and the rest."""
    if amount_minor < 0:
        raise ValueError("a burn is never negative")
    left = amount_minor
    changed: list[CreditGrant] = []
    movements: list[Movement] = []
    for grant in sorted((g for g in grants if g.usable_at(now)), key=CreditGrant.burn_order):
        if left == 0:
            break
        taken = min(left, grant.remaining_minor)
        left -= taken
        changed.append(replace(grant, remaining_minor=grant.remaining_minor - taken))
        movements.append(Movement(MovementKind.BURNED, -taken, grant.grant_id, now, reference))
    return Burn(tuple(changed), tuple(movements), left)


def expire(grants: Iterable[CreditGrant], now: datetime) -> tuple[list[CreditGrant], list[Movement]]:
    """Grants past their expiry with credit left: emptied, each with its EXPIRED movement."""
    emptied: list[CreditGrant] = []
    movements: list[Movement] = []
    for grant in grants:
        if grant.remaining_minor > 0 and grant.expires_at is not None and grant.expires_at <= now:
            emptied.append(replace(grant, remaining_minor=0))
            movements.append(Movement(MovementKind.EXPIRED, -grant.remaining_minor, grant.grant_id, grant.expires_at))
    return emptied, movements
