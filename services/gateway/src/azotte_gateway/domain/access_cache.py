"""Access answers kept at the edge, so a repeated check needs no hop to the entitlement service.

An answer stays until the customer's entitlements change (an entitlement event names the customer),
its `valid_until` passes, or `ttl_seconds` elapse, whichever comes first. The time-to-live bounds
what a missed event could leave stale.

Two races are closed with a ticket: `ticket()` is taken before asking the entitlement service, and
`put()` keeps the answer only if the customer was not invalidated meanwhile (the answer may predate
the change) and the last invalidation is older than `settle_seconds` (another entitlement replica may
not have applied the change yet).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

V = TypeVar("V")
CustomerRef = tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Answer(Generic[V]):
    value: V
    expires_at: float
    valid_until: datetime | None


@dataclass(slots=True)
class Ticket(Generic[V]):
    """What is cached for one customer since their last invalidation."""

    settles_at: float
    answers: dict[str, _Answer[V]] = field(default_factory=dict)


class AccessCache(Generic[V]):
    """(tenant, customer) -> feature -> answer, bounded to `max_customers` (oldest dropped first)."""

    def __init__(
        self, *, ttl_seconds: float, settle_seconds: float, max_customers: int, monotonic: Callable[[], float]
    ):
        self._ttl = ttl_seconds
        self._settle = settle_seconds
        self._max_customers = max_customers
        self._monotonic = monotonic
        self._customers: dict[CustomerRef, Ticket[V]] = {}

    def get(self, customer: CustomerRef, feature_key: str, now: datetime) -> V | None:
        """The kept answer, or None when there is none or it may be out of date."""
        ticket = self._customers.get(customer)
        answer = ticket.answers.get(feature_key) if ticket is not None else None
        if answer is None:
            return None
        if answer.expires_at <= self._monotonic() or (answer.valid_until is not None and now >= answer.valid_until):
            return None
        return answer.value

    def ticket(self, customer: CustomerRef) -> Ticket[V]:
        """Taken before fetching an answer, handed back to `put`."""
        ticket = self._customers.get(customer)
        return ticket if ticket is not None else self._insert(customer, Ticket(settles_at=0.0))

    def put(
        self, customer: CustomerRef, ticket: Ticket[V], feature_key: str, value: V, valid_until: datetime | None
    ) -> None:
        """Keep an answer fetched under `ticket`, unless the customer changed since or is still settling."""
        now = self._monotonic()
        if self._customers.get(customer) is ticket and now >= ticket.settles_at:
            ticket.answers[feature_key] = _Answer(value, now + self._ttl, valid_until)

    def invalidate(self, customer: CustomerRef) -> None:
        """The customer's entitlements changed: forget their answers and hold off caching for a moment."""
        self._customers.pop(customer, None)
        self._insert(customer, Ticket(settles_at=self._monotonic() + self._settle))

    def clear(self) -> None:
        """Forget everything (e.g. events may have been missed while the broker was away)."""
        self._customers.clear()

    def forget_tenant(self, tenant_id: str) -> None:
        """Forget one tenant's answers (e.g. its sandbox clock moved: grants may have ended)."""
        for customer in [c for c in self._customers if c[0] == tenant_id]:
            del self._customers[customer]

    def __len__(self) -> int:
        return len(self._customers)

    def _insert(self, customer: CustomerRef, ticket: Ticket[V]) -> Ticket[V]:
        if len(self._customers) >= self._max_customers:
            del self._customers[next(iter(self._customers))]
        self._customers[customer] = ticket
        return ticket


WriterRef = tuple[str, str, str]  # (tenant, API key, customer)


class RecentWrites:
    """The consistency token of the last entitlement-changing write each API key made for a customer, kept
    `ttl_seconds`, so the key's next checks read their own write without passing the token (bounded, oldest
    dropped first)."""

    def __init__(self, *, ttl_seconds: float, max_entries: int, monotonic: Callable[[], float]):
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._tokens: dict[WriterRef, tuple[str, float]] = {}

    def remember(self, writer: WriterRef, token: str) -> None:
        """`writer` just made a write named by `token`."""
        self._tokens.pop(writer, None)
        if len(self._tokens) >= self._max_entries:
            del self._tokens[next(iter(self._tokens))]
        self._tokens[writer] = (token, self._monotonic() + self._ttl)

    def token(self, writer: WriterRef) -> str:
        """The token of the writer's last write, or "" when none is recent (one dict lookup, no I/O)."""
        kept = self._tokens.get(writer)
        if kept is None:
            return ""
        if kept[1] <= self._monotonic():
            del self._tokens[writer]
            return ""
        return kept[0]
