"""Campaigns (their conditions and caps as JSONB), the offers they issued, and the trials whose end they await."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_platform.clock import TenantTimes
from azotte_platform.enums import Channel
from azotte_promotions.adapters.tables import campaign_offers, campaigns, trial_endings
from azotte_promotions.domain.campaigns import (
    Campaign,
    CampaignAction,
    CampaignOffer,
    CampaignState,
    Conditions,
    Moment,
    TrialEnding,
    Trigger,
)
from azotte_promotions.errors import CampaignExists


def _definition(campaign: Campaign) -> dict[str, Any]:
    c = campaign.conditions
    return {
        "plan_ids": list(c.plan_ids),
        "storefront_ids": list(c.storefront_ids),
        "channels": [channel.value for channel in c.channels],
        "min_tenure_days": c.min_tenure_days,
        "max_tenure_days": c.max_tenure_days,
        "min_usage_percent": c.min_usage_percent,
        "action": campaign.action.value,
        "trial_extension_days": campaign.trial_extension_days,
        "days_before_trial_end": campaign.days_before_trial_end,
        "offer_valid_days": campaign.offer_valid_days,
        "max_offers_per_customer": campaign.max_offers_per_customer,
        "quiet_period_days": campaign.quiet_period_days,
    }


def _campaign(row: Any, offers_issued: int = 0) -> Campaign:
    d = row.definition
    conditions = Conditions(
        tuple(d["plan_ids"]),
        tuple(d["storefront_ids"]),
        tuple(Channel(c) for c in d["channels"]),
        d["min_tenure_days"],
        d["max_tenure_days"],
        d.get("min_usage_percent", 0),
    )
    return Campaign(
        tenant_id=row.tenant_id,
        id=row.id,
        display_name=row.display_name,
        trigger=Trigger(row.trigger),
        promotion_id=row.promotion_id,
        created_at=row.created_at,
        conditions=conditions,
        offer_valid_days=d["offer_valid_days"],
        max_offers_per_customer=d["max_offers_per_customer"],
        quiet_period_days=d["quiet_period_days"],
        state=CampaignState(row.state),
        updated_at=row.updated_at,
        offers_issued=offers_issued,
        action=CampaignAction(d.get("action", CampaignAction.ISSUE_OFFER.value)),
        trial_extension_days=d.get("trial_extension_days", 0),
        days_before_trial_end=d.get("days_before_trial_end", 0),
    )


def _offer(row: Any) -> CampaignOffer:
    moment = Moment(
        event_id=row.trigger_event_id,
        trigger=Trigger(row.trigger),
        customer_id=row.customer_id,
        subscription_id=row.subscription_id,
        plan_id=row.plan_id,
        storefront_id=row.storefront_id,
        channel=Channel(row.channel) if row.channel else None,
        subscribed_at=row.subscribed_at,
        at=row.issued_at,
    )
    return CampaignOffer(
        row.tenant_id,
        row.id,
        row.campaign_id,
        moment,
        row.promotion_id,
        row.code,
        row.expires_at,
        row.ordinal,
        row.trial_extension_days,
    )


def _trial_ending(row: Any) -> TrialEnding:
    return TrialEnding(
        row.tenant_id,
        row.subscription_id,
        row.customer_id,
        row.plan_id,
        row.storefront_id,
        Channel(row.channel),
        row.subscribed_at,
        row.trial_end,
    )


class PostgresCampaignRepository:
    """`ports.CampaignRepository` over `campaigns` and `campaign_offers`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, campaign: Campaign) -> None:
        inserted = await self._conn.execute(
            insert(campaigns)
            .values(
                tenant_id=campaign.tenant_id,
                id=campaign.id,
                display_name=campaign.display_name,
                trigger=campaign.trigger.value,
                promotion_id=campaign.promotion_id,
                state=campaign.state.value,
                definition=_definition(campaign),
                created_at=campaign.created_at,
                updated_at=campaign.updated_at,
            )
            .on_conflict_do_nothing()
            .returning(campaigns.c.id)
        )
        if inserted.first() is None:
            raise CampaignExists(f"a campaign with id {campaign.id!r} already exists")

    async def get(self, tenant_id: str, campaign_id: str) -> Campaign | None:
        c, o = campaigns.c, campaign_offers.c
        issued = (
            sa.select(sa.func.count())
            .where(o.tenant_id == c.tenant_id, o.campaign_id == c.id)
            .scalar_subquery()
            .label("offers_issued")
        )
        row = (
            await self._conn.execute(sa.select(campaigns, issued).where(c.tenant_id == tenant_id, c.id == campaign_id))
        ).first()
        return None if row is None else _campaign(row, row.offers_issued)

    async def save(self, campaign: Campaign) -> None:
        c = campaigns.c
        await self._conn.execute(
            sa.update(campaigns)
            .where(c.tenant_id == campaign.tenant_id, c.id == campaign.id)
            .values(state=campaign.state.value, updated_at=campaign.updated_at)
        )

    async def active_for(self, tenant_id: str, trigger: Trigger) -> list[Campaign]:
        c = campaigns.c
        rows = await self._conn.execute(
            sa.select(campaigns)
            .where(c.tenant_id == tenant_id, c.trigger == trigger.value, c.state == CampaignState.ACTIVE.value)
            .order_by(c.created_at, c.id)
        )
        return [_campaign(row) for row in rows]

    async def find(self, tenant_id: str, limit: int, after: Sequence[str] | None = None) -> list[Campaign]:
        c = campaigns.c
        query = sa.select(campaigns).where(c.tenant_id == tenant_id)
        if after is not None:
            at = datetime.fromisoformat(str(after[0]))
            query = query.where(sa.tuple_(c.created_at, c.id) > sa.tuple_(sa.literal(at), sa.literal(after[1])))
        rows = await self._conn.execute(query.order_by(c.created_at, c.id).limit(limit))
        return [_campaign(row) for row in rows]

    async def offers_of(self, tenant_id: str, campaign_id: str, customer_id: str) -> int:
        o = campaign_offers.c
        count = await self._conn.scalar(
            sa.select(sa.func.count()).where(
                o.tenant_id == tenant_id, o.campaign_id == campaign_id, o.customer_id == customer_id
            )
        )
        return int(count or 0)

    async def last_offer_at(self, tenant_id: str, customer_id: str) -> datetime | None:
        o = campaign_offers.c
        last: datetime | None = await self._conn.scalar(
            sa.select(sa.func.max(o.issued_at)).where(o.tenant_id == tenant_id, o.customer_id == customer_id)
        )
        return last

    async def add_offer(self, offer: CampaignOffer) -> bool:
        m = offer.moment
        inserted = await self._conn.execute(
            insert(campaign_offers)
            .values(
                tenant_id=offer.tenant_id,
                id=offer.id,
                campaign_id=offer.campaign_id,
                customer_id=m.customer_id,
                ordinal=offer.ordinal,
                trigger_event_id=m.event_id,
                trigger=m.trigger.value,
                subscription_id=m.subscription_id,
                plan_id=m.plan_id,
                storefront_id=m.storefront_id,
                channel=m.channel.value if m.channel else "",
                subscribed_at=m.subscribed_at,
                promotion_id=offer.promotion_id,
                code=offer.code,
                expires_at=offer.expires_at,
                issued_at=m.at,
                trial_extension_days=offer.trial_extension_days,
            )
            .on_conflict_do_nothing()
            .returning(campaign_offers.c.id)
        )
        return inserted.first() is not None

    async def has_offer(self, tenant_id: str, offer_id: str) -> bool:
        o = campaign_offers.c
        found = await self._conn.scalar(sa.select(o.id).where(o.tenant_id == tenant_id, o.id == offer_id))
        return found is not None

    async def note_trial_ending(self, ending: TrialEnding) -> None:
        values = {
            "tenant_id": ending.tenant_id,
            "subscription_id": ending.subscription_id,
            "customer_id": ending.customer_id,
            "plan_id": ending.plan_id,
            "storefront_id": ending.storefront_id,
            "channel": ending.channel.value,
            "subscribed_at": ending.subscribed_at,
            "trial_end": ending.trial_end,
        }
        upsert = insert(trial_endings).values(values)
        await self._conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["tenant_id", "subscription_id"], set_={"trial_end": upsert.excluded.trial_end}
            )
        )

    async def forget_trial_ending(self, tenant_id: str, subscription_id: str) -> None:
        t = trial_endings.c
        await self._conn.execute(
            sa.delete(trial_endings).where(t.tenant_id == tenant_id, t.subscription_id == subscription_id)
        )

    async def due_trial_endings(self, times: TenantTimes, limit: int) -> list[tuple[TrialEnding, tuple[str, ...]]]:
        t, c = trial_endings.c, campaigns.c
        # NOTE: each tenant by its own now (sandbox clocks move forward only: the base time is everyone's least).
        now = (
            sa.case(
                {tenant: sa.literal(times.of(tenant)) for tenant in times.offsets}, value=t.tenant_id, else_=times.base
            )
            if times.offsets
            else sa.literal(times.base)
        )
        days = sa.func.make_interval(0, 0, 0, c.definition["days_before_trial_end"].as_integer())
        due = sa.and_(
            c.tenant_id == t.tenant_id,
            c.trigger == Trigger.TRIAL_ENDING.value,
            c.state == CampaignState.ACTIVE.value,
            sa.not_(c.id == sa.any_(t.judged_campaign_ids)),
            t.trial_end - days <= now,
        )
        campaign_ids = sa.select(sa.func.array_agg(c.id)).where(due).scalar_subquery().label("campaign_ids")
        # NOTE: the trials are claimed (FOR UPDATE SKIP LOCKED, held until the sweep commits what it judged), so
        # replicas sweeping together judge each trial once.
        query = (
            sa.select(trial_endings, campaign_ids)
            .where(t.trial_end > now, sa.exists(sa.select(c.id).where(due)))
            .order_by(t.trial_end)
            .limit(limit)
            .with_for_update(of=trial_endings, skip_locked=True)
        )
        return [(_trial_ending(row), tuple(row.campaign_ids)) for row in await self._conn.execute(query)]

    async def judged_trial_ending(self, tenant_id: str, subscription_id: str, campaign_ids: Sequence[str]) -> None:
        t = trial_endings.c
        await self._conn.execute(
            sa.update(trial_endings)
            .where(t.tenant_id == tenant_id, t.subscription_id == subscription_id)
            .values(
                judged_campaign_ids=sa.func.array_cat(
                    t.judged_campaign_ids, sa.cast(list(campaign_ids), ARRAY(sa.Text))
                )
            )
        )

    async def find_offers(
        self,
        tenant_id: str,
        limit: int,
        *,
        campaign_id: str | None = None,
        customer_id: str | None = None,
        after: Sequence[str] | None = None,
    ) -> list[CampaignOffer]:
        o = campaign_offers.c
        query = sa.select(campaign_offers).where(o.tenant_id == tenant_id)
        if campaign_id is not None:
            query = query.where(o.campaign_id == campaign_id)
        if customer_id is not None:
            query = query.where(o.customer_id == customer_id)
        if after is not None:
            at = datetime.fromisoformat(str(after[0]))
            query = query.where(sa.tuple_(o.issued_at, o.id) < sa.tuple_(sa.literal(at), sa.literal(after[1])))
        rows = await self._conn.execute(query.order_by(o.issued_at.desc(), o.id.desc()).limit(limit))
        return [_offer(row) for row in rows]
