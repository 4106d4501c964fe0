"""What the promotions use cases need: repositories, the ledger of limits, and the unit of work.

The adapters implement these over PostgreSQL; the unit tests with fakes (`tests/unit/promotions/fakes.py`).
The ledger is where exactness under concurrency lives: each of its counts moves by a conditional UPDATE
in the reservation's transaction, so no two checkouts can take the same last unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from azotte_platform.clock import TenantTimes
from azotte_platform.ports import AbstractUnitOfWork
from azotte_promotions.domain.codes import CodeBatch, PromotionCode
from azotte_promotions.domain.eligibility import Reason, Usage
from azotte_promotions.domain.promotion import DiscountKind, Promotion, PromotionState
from azotte_promotions.domain.redemption import Redemption

# ---------------------------------------------------------------------------------------- list queries


@dataclass(frozen=True, slots=True)
class TimeBound:
    """A comparison of a time with `at`: op is one of =, !=, <, <=, >, >=."""

    op: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PromotionQuery:
    """Which promotions a list shows (every condition must hold) and their order (id breaks ties)."""

    state: PromotionState | None = None
    stackable: bool | None = None
    discount_kind: DiscountKind | None = None
    created: tuple[TimeBound, ...] = ()
    order_by: str = "created_at"
    """created_at, updated_at or display_name."""
    descending: bool = False


# ---------------------------------------------------------------------------------------- repositories


class PromotionRepository(Protocol):
    """Promotions and their usage counts."""

    async def add(self, promotion: Promotion) -> None:
        """Insert a new promotion; an id taken in the tenant is `PromotionExists`."""
        ...

    async def get(self, tenant_id: str, promotion_id: str, *, for_update: bool = False) -> Promotion | None:
        """The promotion, its row locked until the unit of work ends when `for_update` (reservations of one
        promotion take their counts one after the other)."""
        ...

    async def save(self, promotion: Promotion, expected_version: int) -> None:
        """Write back a changed promotion, if it is still at `expected_version` (else `PromotionVersionMismatch`)."""
        ...

    async def usage(self, tenant_id: str, promotion_ids: Sequence[str]) -> dict[str, Usage]:
        """The usage counts of promotions."""
        ...

    async def find(
        self, tenant_id: str, limit: int, *, query: PromotionQuery, after: Sequence[str] | None = None
    ) -> list[Promotion]:
        """Promotions matching `query` in its order, after the sort key `after` ([value, id])."""
        ...


class CodeRepository(Protocol):
    """Codes (stored normalized) and code batches."""

    async def add(self, code: PromotionCode) -> None:
        """Insert a shared code; a code taken in the tenant is `CodeExists`."""
        ...

    async def add_batch(self, batch: CodeBatch, codes: Sequence[str]) -> int:
        """Insert a batch, if new, and those of `codes` not taken yet in the tenant; how many codes were inserted."""
        ...

    async def get(self, tenant_id: str, code: str) -> PromotionCode | None:
        """A code by its normalized form; a batch code carries its batch's expiry and revocation."""
        ...

    async def find(self, tenant_id: str, promotion_id: str, limit: int, after: str | None) -> list[PromotionCode]:
        """The shared codes of a promotion in code order, after the code `after`."""
        ...

    async def revoke(self, tenant_id: str, code: str, now: datetime) -> None: ...

    async def get_batch(self, tenant_id: str, batch_id: str) -> CodeBatch | None: ...

    async def revoke_batch(self, tenant_id: str, batch_id: str, now: datetime) -> None: ...

    async def export(self, tenant_id: str, batch_id: str, limit: int, after: str | None) -> list[str]:
        """The codes of a batch in code order, after the code `after`."""
        ...


@dataclass(frozen=True, slots=True)
class Hold:
    """What one reservation takes: a unit of the promotion (and of its code) for a customer, and its discount.

    The limits are the promotion's and the code's as read under the promotion's row lock; the ledger
    checks them again in each conditional UPDATE.
    """

    tenant_id: str
    promotion_id: str
    customer_id: str
    currency_code: str
    discount_minor: int
    max_per_customer: int | None = None
    code: str = ""
    code_max_per_customer: int | None = None


@dataclass(frozen=True, slots=True)
class Exhaustion:
    """What a confirmation used up: the promotion's last redemption, or a currency's budget."""

    max_redemptions: int | None = None
    confirmed_count: int = 0
    budget_minor: int | None = None
    confirmed_minor: int = 0


class LimitLedger(Protocol):
    """The counts limits are checked against, moved only by conditional updates in the caller's transaction."""

    async def customer_uses(self, tenant_id: str, promotion_id: str, customer_id: str, code: str = "") -> int:
        """How many redemptions the customer holds (reserved or confirmed) of the promotion, or of `code`."""
        ...

    async def take(self, hold: Hold) -> Reason | None:
        """Count `hold` against every limit at once; the first limit that does not allow it (nothing is
        counted then: the caller's transaction must roll back), else None."""
        ...

    async def settle(self, hold: Hold) -> Exhaustion:
        """Move a held reservation to confirmed; what the promotion and the currency's budget reached first now."""
        ...

    async def give_back(self, hold: Hold) -> None:
        """Release a held reservation's counts and discount."""
        ...


class RedemptionRepository(Protocol):
    """Redemptions, one per reserving request id."""

    async def add(self, redemption: Redemption) -> None: ...

    async def get(self, tenant_id: str, redemption_id: str, *, for_update: bool = False) -> Redemption | None: ...

    async def save(self, redemption: Redemption) -> None: ...

    async def claim_expired(self, times: TenantTimes, limit: int) -> list[Redemption]:
        """Lock up to `limit` reservations past their expiry (each by its tenant's now) that nobody holds,
        ordered by promotion (so that sweeps lock promotions in one order)."""
        ...


class PromotionsUnitOfWork(AbstractUnitOfWork, Protocol):
    """The repositories and the ledger over one transaction; events emitted are published if it commits."""

    @property
    def promotions(self) -> PromotionRepository: ...

    @property
    def codes(self) -> CodeRepository: ...

    @property
    def ledger(self) -> LimitLedger: ...

    @property
    def redemptions(self) -> RedemptionRepository: ...
