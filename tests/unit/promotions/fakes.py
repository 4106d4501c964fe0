"""In-memory fakes of the promotions ports: repositories and the ledger of limits over one unit of work.

`FakePromotionsUnitOfWork` works on a copy of what it committed at each `async with`: `commit()` keeps the
copy and leaving without it drops it, as a transaction would (a refused reservation counts nothing).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Self

from azotte_platform.clock import Clock, TenantTimes
from azotte_promotions.adapters.proto import to_event
from azotte_promotions.domain.codes import CodeBatch, PromotionCode
from azotte_promotions.domain.eligibility import Reason, Usage
from azotte_promotions.domain.promotion import Promotion
from azotte_promotions.domain.redemption import Redemption, RedemptionState
from azotte_promotions.errors import CodeExists, PromotionExists, PromotionVersionMismatch
from azotte_promotions.ports import Exhaustion, Hold, PromotionQuery
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency

Key = tuple[str, str]


@dataclass
class Budget:
    budget: int | None = None
    reserved: int = 0
    confirmed: int = 0
    exhausted: bool = False


@dataclass
class PromotionsData:
    """What the promotions database holds, in memory."""

    promotions: dict[Key, Promotion] = field(default_factory=dict)
    counts: dict[Key, list[int]] = field(default_factory=dict)
    """[reserved, confirmed, exhausted] per promotion."""
    budgets: dict[tuple[str, str, str], Budget] = field(default_factory=dict)
    uses: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    codes: dict[Key, PromotionCode] = field(default_factory=dict)
    batches: dict[Key, CodeBatch] = field(default_factory=dict)
    redemptions: dict[Key, Redemption] = field(default_factory=dict)


class FakePromotionRepository:
    def __init__(self, data: PromotionsData):
        self.data = data

    async def add(self, promotion: Promotion) -> None:
        key = (promotion.tenant_id, promotion.id)
        if key in self.data.promotions:
            raise PromotionExists(f"a promotion with id {promotion.id!r} already exists")
        self.data.promotions[key] = promotion.snapshot()
        self.data.counts[key] = [0, 0, 0]
        self._budgets(promotion)

    async def get(self, tenant_id: str, promotion_id: str, *, for_update: bool = False) -> Promotion | None:
        found = self.data.promotions.get((tenant_id, promotion_id))
        return None if found is None else found.snapshot()

    async def save(self, promotion: Promotion, expected_version: int) -> None:
        key = (promotion.tenant_id, promotion.id)
        if self.data.promotions[key].version != expected_version:
            raise PromotionVersionMismatch("changed meanwhile")
        self.data.promotions[key] = promotion.snapshot()
        self._budgets(promotion)

    async def usage(self, tenant_id: str, promotion_ids: Sequence[str]) -> dict[str, Usage]:
        found = {}
        for pid in promotion_ids:
            reserved, confirmed, _ = self.data.counts[(tenant_id, pid)]
            money = {cur: b for (t, p, cur), b in self.data.budgets.items() if (t, p) == (tenant_id, pid)}
            found[pid] = Usage(
                reserved,
                confirmed,
                {cur: b.reserved for cur, b in money.items()},
                {cur: b.confirmed for cur, b in money.items()},
            )
        return found

    async def find(
        self, tenant_id: str, limit: int, *, query: PromotionQuery, after: Sequence[str] | None = None
    ) -> list[Promotion]:
        rows = [p for (t, _), p in self.data.promotions.items() if t == tenant_id]
        if query.state is not None:
            rows = [p for p in rows if p.state is query.state]
        rows.sort(key=lambda p: (p.created_at, p.id), reverse=query.descending)
        return rows[:limit]

    def _budgets(self, promotion: Promotion) -> None:
        for (t, p, cur), budget in self.data.budgets.items():
            if (t, p) == (promotion.tenant_id, promotion.id):
                budget.budget = promotion.definition.limits.budgets.get(cur)
        for cur, amount in promotion.definition.limits.budgets.items():
            self.data.budgets.setdefault((promotion.tenant_id, promotion.id, cur), Budget()).budget = amount


class FakeCodeRepository:
    def __init__(self, data: PromotionsData):
        self.data = data

    async def add(self, code: PromotionCode) -> None:
        if (code.tenant_id, code.code) in self.data.codes:
            raise CodeExists(f"the code {code.code!r} is taken")
        self.data.codes[(code.tenant_id, code.code)] = code

    async def add_batch(self, batch: CodeBatch, codes: Sequence[str]) -> int:
        self.data.batches.setdefault((batch.tenant_id, batch.id), batch)
        added = 0
        for code in codes:
            if (batch.tenant_id, code) not in self.data.codes:
                self.data.codes[(batch.tenant_id, code)] = PromotionCode(
                    batch.tenant_id,
                    code,
                    batch.promotion_id,
                    batch.id,
                    1,
                    None,
                    batch.expires_at,
                    False,
                    0,
                    0,
                    batch.created_at,
                )
                added += 1
        return added

    async def get(self, tenant_id: str, code: str) -> PromotionCode | None:
        found = self.data.codes.get((tenant_id, code))
        if found is not None and found.batch_id and self.data.batches[(tenant_id, found.batch_id)].revoked:
            found = replace(found, revoked=True)
        return found

    async def find(self, tenant_id: str, promotion_id: str, limit: int, after: str | None) -> list[PromotionCode]:
        rows = sorted(
            (
                c
                for (t, _), c in self.data.codes.items()
                if t == tenant_id and c.promotion_id == promotion_id and not c.batch_id
            ),
            key=lambda c: c.code,
        )
        return [c for c in rows if after is None or c.code > after][:limit]

    async def revoke(self, tenant_id: str, code: str, now: datetime) -> None:
        self.data.codes[(tenant_id, code)] = replace(self.data.codes[(tenant_id, code)], revoked=True)

    async def get_batch(self, tenant_id: str, batch_id: str) -> CodeBatch | None:
        return self.data.batches.get((tenant_id, batch_id))

    async def revoke_batch(self, tenant_id: str, batch_id: str, now: datetime) -> None:
        self.data.batches[(tenant_id, batch_id)] = replace(self.data.batches[(tenant_id, batch_id)], revoked=True)

    async def export(self, tenant_id: str, batch_id: str, limit: int, after: str | None) -> list[str]:
        rows = sorted(c.code for (t, _), c in self.data.codes.items() if t == tenant_id and c.batch_id == batch_id)
        return [c for c in rows if after is None or c > after][:limit]


class FakeLimitLedger:
    def __init__(self, data: PromotionsData):
        self.data = data

    async def customer_uses(self, tenant_id: str, promotion_id: str, customer_id: str, code: str = "") -> int:
        return self.data.uses.get((tenant_id, promotion_id, code, customer_id), 0)

    async def take(self, hold: Hold) -> Reason | None:
        d = self.data
        counts = d.counts[(hold.tenant_id, hold.promotion_id)]
        limit = d.promotions[(hold.tenant_id, hold.promotion_id)].definition.limits.max_redemptions
        if limit is not None and counts[0] + counts[1] >= limit:
            return Reason.PROMOTION_EXHAUSTED
        counts[0] += 1
        if hold.code:
            code = d.codes[(hold.tenant_id, hold.code)]
            if code.revoked or (code.max_redemptions is not None and code.held >= code.max_redemptions):
                return Reason.CODE_EXHAUSTED
            d.codes[(hold.tenant_id, hold.code)] = replace(code, reserved_count=code.reserved_count + 1)
        scopes = [("", hold.max_per_customer)]
        if hold.code and hold.code_max_per_customer is not None:
            scopes.append((hold.code, hold.code_max_per_customer))
        for code_key, max_uses in scopes:
            key = (hold.tenant_id, hold.promotion_id, code_key, hold.customer_id)
            if max_uses is not None and d.uses.get(key, 0) >= max_uses:
                return Reason.CUSTOMER_LIMIT_REACHED
            d.uses[key] = d.uses.get(key, 0) + 1
        budget = d.budgets.setdefault((hold.tenant_id, hold.promotion_id, hold.currency_code), Budget())
        if budget.budget is not None and budget.reserved + budget.confirmed + hold.discount_minor > budget.budget:
            return Reason.BUDGET_EXHAUSTED
        budget.reserved += hold.discount_minor
        return None

    async def settle(self, hold: Hold) -> Exhaustion:
        d = self.data
        counts = d.counts[(hold.tenant_id, hold.promotion_id)]
        counts[0] -= 1
        counts[1] += 1
        if hold.code:
            code = d.codes[(hold.tenant_id, hold.code)]
            d.codes[(hold.tenant_id, hold.code)] = replace(
                code, reserved_count=code.reserved_count - 1, confirmed_count=code.confirmed_count + 1
            )
        budget = d.budgets[(hold.tenant_id, hold.promotion_id, hold.currency_code)]
        budget.reserved -= hold.discount_minor
        budget.confirmed += hold.discount_minor
        limit = d.promotions[(hold.tenant_id, hold.promotion_id)].definition.limits.max_redemptions
        reached = Exhaustion(confirmed_count=counts[1], confirmed_minor=budget.confirmed)
        if limit is not None and not counts[2] and counts[1] >= limit:
            counts[2] = 1
            reached = Exhaustion(limit, counts[1], None, budget.confirmed)
        if (
            budget.budget is not None
            and not budget.exhausted
            and hold.discount_minor > 0
            and budget.budget - budget.confirmed < hold.discount_minor
        ):
            budget.exhausted = True
            reached = replace(reached, budget_minor=budget.budget)
        return reached

    async def give_back(self, hold: Hold) -> None:
        d = self.data
        d.counts[(hold.tenant_id, hold.promotion_id)][0] -= 1
        if hold.code:
            code = d.codes[(hold.tenant_id, hold.code)]
            d.codes[(hold.tenant_id, hold.code)] = replace(code, reserved_count=code.reserved_count - 1)
        for code_key in {"", hold.code}:
            key = (hold.tenant_id, hold.promotion_id, code_key, hold.customer_id)
            if key in d.uses:
                d.uses[key] -= 1
        d.budgets[(hold.tenant_id, hold.promotion_id, hold.currency_code)].reserved -= hold.discount_minor


class FakeRedemptionRepository:
    def __init__(self, data: PromotionsData):
        self.data = data

    async def add(self, redemption: Redemption) -> None:
        self.data.redemptions[(redemption.tenant_id, redemption.id)] = redemption.snapshot()

    async def get(self, tenant_id: str, redemption_id: str, *, for_update: bool = False) -> Redemption | None:
        found = self.data.redemptions.get((tenant_id, redemption_id))
        return None if found is None else found.snapshot()

    async def save(self, redemption: Redemption) -> None:
        self.data.redemptions[(redemption.tenant_id, redemption.id)] = redemption.snapshot()

    async def claim_expired(self, times: TenantTimes, limit: int) -> list[Redemption]:
        due = [
            r.snapshot()
            for r in self.data.redemptions.values()
            if r.state is RedemptionState.RESERVED and r.expires_at <= times.of(r.tenant_id)
        ]
        return sorted(due, key=lambda r: (r.tenant_id, r.promotion_id, r.code, r.id))[:limit]


class FakePromotionsUnitOfWork(FakeUnitOfWork):
    """`ports.PromotionsUnitOfWork` in memory; `data` is what it committed."""

    def __init__(self, clock: Clock, idempotency: InMemoryIdempotency | None = None):
        super().__init__(clock, idempotency, to_event)
        self.data = PromotionsData()
        self._work = self.data

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._work = copy.deepcopy(self.data)
        self.promotions = FakePromotionRepository(self._work)
        self.codes = FakeCodeRepository(self._work)
        self.ledger = FakeLimitLedger(self._work)
        self.redemptions = FakeRedemptionRepository(self._work)
        return self

    async def commit(self) -> None:
        self.data = self._work
        await super().commit()
        self._work = copy.deepcopy(self.data)
        self.promotions = FakePromotionRepository(self._work)
        self.codes = FakeCodeRepository(self._work)
        self.ledger = FakeLimitLedger(self._work)
        self.redemptions = FakeRedemptionRepository(self._work)
