"""The referral program (JSONB), customers' referral codes and referrals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_platform.enums import Channel
from azotte_promotions.adapters.tables import referral_codes, referral_programs, referrals
from azotte_promotions.domain.referrals import (
    Conversion,
    GivenReward,
    Referral,
    ReferralCode,
    ReferralProgram,
    ReferralState,
    Reward,
    RewardKind,
    RewardRule,
)
from azotte_promotions.errors import AlreadyReferred, ReferralProgramVersionMismatch
from azotte_promotions.ports import ReferralQuery

# NOTE: built once, for the consumer of every subscription event: building a statement costs more than running it.
_OF_REFERRED = sa.select(referrals).where(
    referrals.c.tenant_id == sa.bindparam("tenant"), referrals.c.referred_customer_id == sa.bindparam("customer")
)
_OF_REFERRED_LOCKED = _OF_REFERRED.with_for_update()


def _reward_to_json(reward: Reward | None) -> dict[str, Any] | None:
    if reward is None:
        return None
    return {
        "kind": reward.kind.value,
        "amounts": [list(a) for a in reward.amounts],
        "promotion_id": reward.promotion_id,
    }


def _reward_from_json(data: dict[str, Any] | None) -> Reward | None:
    if data is None:
        return None
    amounts = tuple((str(c), int(a)) for c, a in data["amounts"])
    return Reward(RewardKind(data["kind"]), amounts, data["promotion_id"])


def program_to_json(program: ReferralProgram) -> dict[str, Any]:
    return {
        "enabled": program.enabled,
        "conversion": program.conversion.value,
        "max_rewards_per_referrer": program.max_rewards_per_referrer,
        "rules": [
            {
                "plan_ids": list(rule.plan_ids),
                "storefront_ids": list(rule.storefront_ids),
                "channels": [c.value for c in rule.channels],
                "referrer": _reward_to_json(rule.referrer),
                "referred": _reward_to_json(rule.referred),
            }
            for rule in program.rules
        ],
    }


def program_from_row(row: Any) -> ReferralProgram:
    data = row.definition
    rules = tuple(
        RewardRule(
            tuple(rule["plan_ids"]),
            tuple(rule["storefront_ids"]),
            tuple(Channel(c) for c in rule["channels"]),
            _reward_from_json(rule["referrer"]),
            _reward_from_json(rule["referred"]),
        )
        for rule in data["rules"]
    )
    return ReferralProgram(
        tenant_id=row.tenant_id,
        enabled=data["enabled"],
        conversion=Conversion(data["conversion"]),
        max_rewards_per_referrer=data["max_rewards_per_referrer"],
        rules=rules,
        version=row.version,
        updated_at=row.updated_at,
    )


def _given_to_json(given: GivenReward) -> dict[str, Any]:
    return {
        "kind": given.kind.value if given.kind else "",
        "currency_code": given.currency_code,
        "amount_minor": given.amount_minor,
        "promotion_id": given.promotion_id,
        "code": given.code,
        "skipped": given.skipped,
    }


def _given_from_json(data: dict[str, Any]) -> GivenReward:
    kind = RewardKind(data["kind"]) if data["kind"] else None
    fields = {k: v for k, v in data.items() if k != "kind"}
    return GivenReward(kind, **fields)


def _referral_row(referral: Referral) -> dict[str, Any]:
    return {
        "tenant_id": referral.tenant_id,
        "id": referral.id,
        "code": referral.code,
        "referrer_customer_id": referral.referrer_customer_id,
        "referred_customer_id": referral.referred_customer_id,
        "subscription_id": referral.subscription_id,
        "plan_id": referral.plan_id,
        "storefront_id": referral.storefront_id,
        "channel": referral.channel.value,
        "state": referral.state.value,
        "currency_code": referral.currency_code,
        "rewards": {side: _given_to_json(given) for side, given in referral.rewards.items()},
        "created_at": referral.created_at,
        "converted_at": referral.converted_at,
    }


def _referral(row: Any) -> Referral:
    return Referral(
        tenant_id=row.tenant_id,
        id=row.id,
        code=row.code,
        referrer_customer_id=row.referrer_customer_id,
        referred_customer_id=row.referred_customer_id,
        subscription_id=row.subscription_id,
        plan_id=row.plan_id,
        storefront_id=row.storefront_id,
        channel=Channel(row.channel),
        created_at=row.created_at,
        state=ReferralState(row.state),
        converted_at=row.converted_at,
        currency_code=row.currency_code,
        rewards={side: _given_from_json(given) for side, given in row.rewards.items()},
    )


def _code(row: Any) -> ReferralCode:
    return ReferralCode(row.tenant_id, row.customer_id, row.code, row.created_at, row.rewarded_count)


class PostgresReferralRepository:
    """`ports.ReferralRepository` over `referral_programs`, `referral_codes` and `referrals`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def get_program(self, tenant_id: str) -> ReferralProgram | None:
        row = (
            await self._conn.execute(sa.select(referral_programs).where(referral_programs.c.tenant_id == tenant_id))
        ).first()
        return None if row is None else program_from_row(row)

    async def save_program(self, program: ReferralProgram) -> None:
        p = referral_programs.c
        values = {"version": program.version, "definition": program_to_json(program), "updated_at": program.updated_at}
        statement = (
            insert(referral_programs)
            .values(tenant_id=program.tenant_id, **values)
            .on_conflict_do_update(index_elements=[p.tenant_id], set_=values, where=p.version == program.version - 1)
            .returning(p.version)
        )
        if (await self._conn.execute(statement)).first() is None:
            raise ReferralProgramVersionMismatch(f"the referral program moved past version {program.version - 1}")

    async def add_code(self, code: ReferralCode) -> bool:
        inserted = await self._conn.execute(
            insert(referral_codes)
            .values(tenant_id=code.tenant_id, customer_id=code.customer_id, code=code.code, created_at=code.created_at)
            .on_conflict_do_nothing()
            .returning(referral_codes.c.code)
        )
        return inserted.first() is not None

    async def code_of(self, tenant_id: str, customer_id: str) -> ReferralCode | None:
        c = referral_codes.c
        row = (
            await self._conn.execute(
                sa.select(referral_codes).where(c.tenant_id == tenant_id, c.customer_id == customer_id)
            )
        ).first()
        return None if row is None else _code(row)

    async def find_code(self, tenant_id: str, code: str) -> ReferralCode | None:
        c = referral_codes.c
        row = (
            await self._conn.execute(sa.select(referral_codes).where(c.tenant_id == tenant_id, c.code == code))
        ).first()
        return None if row is None else _code(row)

    async def take_reward(self, tenant_id: str, customer_id: str, cap: int | None) -> bool:
        c = referral_codes.c
        statement = (
            sa.update(referral_codes)
            .where(c.tenant_id == tenant_id, c.customer_id == customer_id)
            .values(rewarded_count=c.rewarded_count + 1)
            .returning(c.rewarded_count)
        )
        if cap is not None:
            statement = statement.where(c.rewarded_count < cap)
        return (await self._conn.execute(statement)).first() is not None

    async def add(self, referral: Referral) -> None:
        inserted = await self._conn.execute(
            insert(referrals).values(**_referral_row(referral)).on_conflict_do_nothing().returning(referrals.c.id)
        )
        if inserted.first() is None:
            raise AlreadyReferred(f"customer {referral.referred_customer_id!r} was referred before")

    async def get(self, tenant_id: str, referral_id: str) -> Referral | None:
        r = referrals.c
        row = (
            await self._conn.execute(sa.select(referrals).where(r.tenant_id == tenant_id, r.id == referral_id))
        ).first()
        return None if row is None else _referral(row)

    async def of_referred(self, tenant_id: str, customer_id: str, *, for_update: bool = False) -> Referral | None:
        query = _OF_REFERRED_LOCKED if for_update else _OF_REFERRED
        row = (await self._conn.execute(query, {"tenant": tenant_id, "customer": customer_id})).first()
        return None if row is None else _referral(row)

    async def save(self, referral: Referral) -> None:
        r = referrals.c
        values = _referral_row(referral)
        await self._conn.execute(
            sa.update(referrals).where(r.tenant_id == referral.tenant_id, r.id == referral.id).values(**values)
        )

    async def find(
        self, tenant_id: str, limit: int, *, query: ReferralQuery, after: Sequence[str] | None = None
    ) -> list[Referral]:
        r = referrals.c
        statement = sa.select(referrals).where(r.tenant_id == tenant_id)
        if query.referrer_customer_id is not None:
            statement = statement.where(r.referrer_customer_id == query.referrer_customer_id)
        if query.referred_customer_id is not None:
            statement = statement.where(r.referred_customer_id == query.referred_customer_id)
        if query.state is not None:
            statement = statement.where(r.state == query.state.value)
        if after is not None:
            at = datetime.fromisoformat(str(after[0]))
            statement = statement.where(sa.tuple_(r.created_at, r.id) < sa.tuple_(sa.literal(at), sa.literal(after[1])))
        rows = await self._conn.execute(statement.order_by(r.created_at.desc(), r.id.desc()).limit(limit))
        return [_referral(row) for row in rows]
