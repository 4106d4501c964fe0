"""The ledger of limits: every count a limit is checked against moves by one conditional UPDATE.

Under READ COMMITTED, an UPDATE that waits for another transaction's row lock re-reads the row it then
changes and re-checks its WHERE clause on it, so `held < max` is judged on the latest count: of many
reservations racing for the last unit, exactly one updates a row, the others update none and are
refused. A reservation takes every limit in one statement (promotion, code, customer uses, budget, as
CTEs); confirmations and releases move them in the same order, so transactions never wait in a cycle.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_promotions.adapters.tables import (
    promotion_budgets,
    promotion_codes,
    promotion_customer_uses,
    promotions,
)
from azotte_promotions.domain.eligibility import Reason
from azotte_promotions.ports import Exhaustion, Hold, Spend

_P, _C, _U, _B = promotions.c, promotion_codes.c, promotion_customer_uses.c, promotion_budgets.c


class PostgresLimitLedger:
    """`ports.LimitLedger` over the count columns of `promotions`, `promotion_codes`,
    `promotion_customer_uses` and `promotion_budgets`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def customer_uses(self, tenant_id: str, promotion_id: str, customer_id: str, code: str = "") -> int:
        held = await self._conn.scalar(
            sa.select(_U.held).where(
                _U.tenant_id == tenant_id,
                _U.promotion_id == promotion_id,
                _U.code == code,
                _U.customer_id == customer_id,
            )
        )
        return int(held or 0)

    async def take(self, hold: Hold) -> Reason | None:
        # NOTE: one statement, one round trip: each limit's conditional UPDATE (or upsert) is a CTE, and the
        # answer says which of them counted. Any that did not makes the caller roll the transaction back,
        # so those that did are undone with it; the promotion's row lock is held a short time.
        promotion = (
            sa.update(promotions)
            .where(
                _P.tenant_id == hold.tenant_id,
                _P.id == hold.promotion_id,
                sa.or_(_P.max_redemptions.is_(None), _P.reserved_count + _P.confirmed_count < _P.max_redemptions),
            )
            .values(reserved_count=_P.reserved_count + 1)
            .returning(_P.id)
            .cte("taken_promotion")
        )
        parts: list[tuple[Reason, sa.CTE]] = [(Reason.PROMOTION_EXHAUSTED, promotion)]
        if hold.code:
            code = (
                sa.update(promotion_codes)
                .where(
                    _C.tenant_id == hold.tenant_id,
                    _C.code == hold.code,
                    _C.revoked_at.is_(None),
                    sa.or_(_C.max_redemptions.is_(None), _C.reserved_count + _C.confirmed_count < _C.max_redemptions),
                )
                .values(reserved_count=_C.reserved_count + 1)
                .returning(_C.code)
                .cte("taken_code")
            )
            parts.append((Reason.CODE_EXHAUSTED, code))
        parts.append((Reason.CUSTOMER_LIMIT_REACHED, self._use(hold, "", hold.max_per_customer, "taken_use")))
        if hold.code and hold.code_max_per_customer is not None:
            use = self._use(hold, hold.code, hold.code_max_per_customer, "taken_code_use")
            parts.append((Reason.CUSTOMER_LIMIT_REACHED, use))
        budget = insert(promotion_budgets).values(
            tenant_id=hold.tenant_id,
            promotion_id=hold.promotion_id,
            currency_code=hold.currency_code,
            reserved_minor=hold.discount_minor,
        )
        held = _B.reserved_minor + _B.confirmed_minor + budget.excluded.reserved_minor
        taken_budget = (
            budget.on_conflict_do_update(
                index_elements=[_B.tenant_id, _B.promotion_id, _B.currency_code],
                set_={"reserved_minor": _B.reserved_minor + budget.excluded.reserved_minor},
                where=sa.or_(_B.budget_minor.is_(None), held <= _B.budget_minor),
            )
            .returning(_B.currency_code)
            .cte("taken_budget")
        )
        parts.append((Reason.BUDGET_EXHAUSTED, taken_budget))
        counted = (
            await self._conn.execute(
                sa.select(*(sa.select(sa.func.count()).select_from(cte).scalar_subquery() for _, cte in parts))
            )
        ).one()
        return next((reason for (reason, _), n in zip(parts, counted, strict=True) if not n), None)

    async def try_take(self, hold: Hold) -> Reason | None:
        # NOTE: in a savepoint: the counts a refused take moved (and the row locks it took) are given back at once.
        savepoint = await self._conn.begin_nested()
        refused = await self.take(hold)
        await (savepoint.rollback() if refused else savepoint.commit())
        return refused

    async def settle(self, hold: Hold) -> Exhaustion:
        promotion = (
            await self._conn.execute(
                sa.update(promotions)
                .where(_P.tenant_id == hold.tenant_id, _P.id == hold.promotion_id)
                .values(reserved_count=_P.reserved_count - 1, confirmed_count=_P.confirmed_count + 1)
                .returning(_P.max_redemptions, _P.confirmed_count, _P.exhausted_at)
            )
        ).one()
        if hold.code:
            await self._conn.execute(
                sa.update(promotion_codes)
                .where(_C.tenant_id == hold.tenant_id, _C.code == hold.code)
                .values(reserved_count=_C.reserved_count - 1, confirmed_count=_C.confirmed_count + 1)
            )
        budget = (
            await self._conn.execute(
                sa.update(promotion_budgets)
                .where(*self._budget_key(hold))
                .values(
                    reserved_minor=_B.reserved_minor - hold.discount_minor,
                    confirmed_minor=_B.confirmed_minor + hold.discount_minor,
                )
                .returning(_B.budget_minor, _B.confirmed_minor, _B.exhausted_at)
            )
        ).one()
        reached = Exhaustion(confirmed_count=promotion.confirmed_count, confirmed_minor=budget.confirmed_minor)
        if (
            promotion.max_redemptions is not None
            and promotion.exhausted_at is None
            and promotion.confirmed_count >= promotion.max_redemptions
        ):
            await self._conn.execute(
                sa.update(promotions)
                .where(_P.tenant_id == hold.tenant_id, _P.id == hold.promotion_id)
                .values(exhausted_at=sa.func.now())
            )
            reached = Exhaustion(promotion.max_redemptions, promotion.confirmed_count, None, budget.confirmed_minor)
        # NOTE: a budget is spent when what is left cannot pay for another discount like the one confirmed.
        if (
            budget.budget_minor is not None
            and budget.exhausted_at is None
            and hold.discount_minor > 0
            and budget.budget_minor - budget.confirmed_minor < hold.discount_minor
        ):
            await self._conn.execute(
                sa.update(promotion_budgets).where(*self._budget_key(hold)).values(exhausted_at=sa.func.now())
            )
            reached = Exhaustion(
                reached.max_redemptions, reached.confirmed_count, budget.budget_minor, budget.confirmed_minor
            )
        return reached

    async def give_back(self, hold: Hold) -> None:
        await self._conn.execute(
            sa.update(promotions)
            .where(_P.tenant_id == hold.tenant_id, _P.id == hold.promotion_id)
            .values(reserved_count=_P.reserved_count - 1)
        )
        if hold.code:
            await self._conn.execute(
                sa.update(promotion_codes)
                .where(_C.tenant_id == hold.tenant_id, _C.code == hold.code)
                .values(reserved_count=_C.reserved_count - 1)
            )
        await self._conn.execute(
            sa.update(promotion_customer_uses)
            .where(
                _U.tenant_id == hold.tenant_id,
                _U.promotion_id == hold.promotion_id,
                _U.code.in_(["", hold.code]),
                _U.customer_id == hold.customer_id,
            )
            .values(held=_U.held - 1)
        )
        await self._conn.execute(
            sa.update(promotion_budgets)
            .where(*self._budget_key(hold))
            .values(reserved_minor=_B.reserved_minor - hold.discount_minor)
        )

    async def spend(self, tenant_id: str, promotion_id: str, currency_code: str, discount_minor: int) -> Spend:
        key = (_B.tenant_id == tenant_id, _B.promotion_id == promotion_id, _B.currency_code == currency_code)
        budget = insert(promotion_budgets).values(
            tenant_id=tenant_id, promotion_id=promotion_id, currency_code=currency_code, confirmed_minor=discount_minor
        )
        held = _B.reserved_minor + _B.confirmed_minor + budget.excluded.confirmed_minor
        counted = (
            await self._conn.execute(
                budget.on_conflict_do_update(
                    index_elements=[_B.tenant_id, _B.promotion_id, _B.currency_code],
                    set_={"confirmed_minor": _B.confirmed_minor + budget.excluded.confirmed_minor},
                    where=sa.or_(_B.budget_minor.is_(None), held <= _B.budget_minor),
                ).returning(_B.budget_minor, _B.confirmed_minor, _B.exhausted_at)
            )
        ).first()
        # NOTE: as for a checkout, a budget is spent when what is left cannot pay for another discount like this one.
        if counted is not None and (
            counted.budget_minor is None
            or counted.exhausted_at is not None
            or counted.budget_minor - counted.confirmed_minor >= discount_minor
        ):
            return Spend(True)
        exhausted = (
            await self._conn.execute(
                sa.update(promotion_budgets)
                .where(*key, _B.exhausted_at.is_(None))
                .values(exhausted_at=sa.func.now())
                .returning(_B.budget_minor, _B.confirmed_minor)
            )
        ).first()
        if exhausted is None:
            return Spend(counted is not None)
        return Spend(counted is not None, exhausted.budget_minor, exhausted.confirmed_minor)

    @staticmethod
    def _use(hold: Hold, code: str, limit: int | None, name: str) -> sa.CTE:
        """Count one use by the customer (of the promotion, or of `code`) unless it reaches `limit`."""
        statement = insert(promotion_customer_uses).values(
            tenant_id=hold.tenant_id, promotion_id=hold.promotion_id, code=code, customer_id=hold.customer_id, held=1
        )
        return (
            statement.on_conflict_do_update(
                index_elements=[_U.tenant_id, _U.promotion_id, _U.code, _U.customer_id],
                set_={"held": _U.held + 1},
                where=None if limit is None else _U.held < limit,
            )
            .returning(_U.held)
            .cte(name)
        )

    @staticmethod
    def _budget_key(hold: Hold) -> tuple[sa.ColumnElement[bool], ...]:
        return (
            _B.tenant_id == hold.tenant_id,
            _B.promotion_id == hold.promotion_id,
            _B.currency_code == hold.currency_code,
        )
