"""In-memory fakes of the promotions ports: repositories and the ledger of limits over one unit of work.

`FakePromotionsUnitOfWork` works on a copy of what it committed at each `async with`: `commit()` keeps the
copy and leaving without it drops it, as a transaction would (a refused reservation counts nothing).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Self

from azotte_platform.clock import Clock, TenantTimes
from azotte_platform.enums import Channel
from azotte_platform.errors import NotFound
from azotte_promotions.adapters.proto import to_event
from azotte_promotions.domain.campaigns import Campaign, CampaignOffer, CampaignState, TrialEnding, Trigger
from azotte_promotions.domain.codes import CodeBatch, PromotionCode
from azotte_promotions.domain.eligibility import Reason, Usage
from azotte_promotions.domain.experiments import Assignment, Experiment, ExperimentState, VariantCounts
from azotte_promotions.domain.promotion import Promotion, PromotionState
from azotte_promotions.domain.redemption import Redemption, RedemptionState
from azotte_promotions.domain.referrals import Referral, ReferralCode, ReferralProgram
from azotte_promotions.domain.store_offers import SubscriptionKey
from azotte_promotions.domain.trials import Marker, Trial, TrialMatch, markers_of
from azotte_promotions.errors import (
    AlreadyReferred,
    CampaignExists,
    CodeExists,
    ExperimentExists,
    PromotionExists,
    PromotionVersionMismatch,
    ReferralProgramVersionMismatch,
)
from azotte_promotions.ports import Exhaustion, Hold, PromotionQuery, ReferralQuery, Spend
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
    trials: dict[Key, Trial] = field(default_factory=dict)
    programs: dict[str, ReferralProgram] = field(default_factory=dict)
    referral_codes: dict[Key, ReferralCode] = field(default_factory=dict)
    referrals: dict[Key, Referral] = field(default_factory=dict)
    campaigns: dict[Key, Campaign] = field(default_factory=dict)
    offers: dict[Key, CampaignOffer] = field(default_factory=dict)
    trial_endings: dict[Key, tuple[TrialEnding, set[str]]] = field(default_factory=dict)
    subscription_keys: dict[str, SubscriptionKey] = field(default_factory=dict)
    """Each trial awaited by trial-ending campaigns, with the campaigns that judged it."""
    experiments: dict[Key, Experiment] = field(default_factory=dict)
    assignments: dict[tuple[str, str, str], tuple[Assignment, int, int]] = field(default_factory=dict)
    """(assignment, payments, revenue) per (tenant, experiment, customer)."""


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

    async def active_automatic(self, tenant_id: str) -> list[Promotion]:
        rows = [
            p
            for (t, _), p in self.data.promotions.items()
            if t == tenant_id and p.definition.automatic and p.state is PromotionState.ACTIVE
        ]
        return [p.snapshot() for p in sorted(rows, key=lambda p: (p.created_at, p.id))]

    async def find_by_store_offer(self, tenant_id: str, channel: Channel, offer_id: str) -> Promotion | None:
        field = "app_store_offer_id" if channel is Channel.APP_STORE else "google_play_offer_id"
        mapped = [
            p
            for (t, _), p in self.data.promotions.items()
            if t == tenant_id and getattr(p.definition.store_offers, field) == offer_id
        ]
        return mapped[-1].snapshot() if mapped else None  # NOTE: dicts keep creation order

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

    async def bind(self, tenant_id: str, code: str, customer_id: str) -> None:
        self.data.codes[(tenant_id, code)] = replace(self.data.codes[(tenant_id, code)], customer_id=customer_id)

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

    async def try_take(self, hold: Hold) -> Reason | None:
        d = self.data
        before = copy.deepcopy((d.counts, d.codes, d.uses, d.budgets))
        refused = await self.take(hold)
        if refused is not None:
            d.counts, d.codes, d.uses, d.budgets = before
        return refused

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

    async def spend(self, tenant_id: str, promotion_id: str, currency_code: str, discount_minor: int) -> Spend:
        budget = self.data.budgets.setdefault((tenant_id, promotion_id, currency_code), Budget())
        granted = budget.budget is None or budget.reserved + budget.confirmed + discount_minor <= budget.budget
        if granted:
            budget.confirmed += discount_minor
            if budget.budget is None or budget.budget - budget.confirmed >= discount_minor:
                return Spend(True)
        if budget.exhausted:
            return Spend(granted)
        budget.exhausted = True
        return Spend(granted, budget.budget, budget.confirmed)


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


class FakeTrialRepository:
    def __init__(self, data: PromotionsData):
        self.data = data

    async def add(self, trial: Trial) -> bool:
        key = (trial.tenant_id, trial.subscription_id)
        if key in self.data.trials:
            return False
        self.data.trials[key] = trial
        return True

    async def matching(self, tenant_id: str, product_line: str, markers: Sequence[Marker]) -> list[TrialMatch]:
        return [
            TrialMatch(marker, trial)
            for (t, _), trial in self.data.trials.items()
            if t == tenant_id and trial.product_line == product_line
            for marker in trial.markers
            if marker in markers
        ]


class FakePeople:
    """`ports.People` in memory: plans' product lines and customers' markers, set by the test."""

    def __init__(self) -> None:
        self.product_lines: dict[str, str] = {}
        self.identities: dict[str, list[str]] = {}
        self.fingerprints: dict[str, list[str]] = {}
        self.emails: dict[str, str] = {}
        self.unknown: set[str] = set()

    async def product_line(self, plan_id: str) -> str:
        if plan_id not in self.product_lines:
            raise NotFound(f"plan {plan_id!r} not found")
        return self.product_lines[plan_id]

    async def markers(self, customer_id: str, *, with_email: bool = False) -> tuple[Marker, ...]:
        if customer_id in self.unknown:
            raise NotFound(f"customer {customer_id!r} not found")
        email = self.emails.get(customer_id, "") if with_email else ""
        identities, fingerprints = self.identities.get(customer_id, []), self.fingerprints.get(customer_id, [])
        return markers_of(customer_id, identities, fingerprints, email)


class FakeTrialExtensions:
    """`ports.TrialExtensions` in memory: each request id extends once; `ended` subscriptions trial no more."""

    def __init__(self) -> None:
        self.extended: dict[str, tuple[str, int]] = {}
        self.ended: set[str] = set()

    async def extend_trial(self, request_id: str, subscription_id: str, days: int) -> bool:
        if subscription_id in self.ended:
            return False
        self.extended.setdefault(request_id, (subscription_id, days))
        return True


class FakeCredits:
    """`ports.Credits` in memory: each request id grants once (a repeat answers the first grant, as payments)."""

    def __init__(self) -> None:
        self.grants: dict[str, tuple[str, int, str]] = {}

    async def grant(
        self,
        request_id: str,
        customer_id: str,
        amount_minor: int,
        currency_code: str,
        reason: str,
        *,
        storefront_id: str,
        channel: str,
        plan_id: str,
    ) -> None:
        self.grants.setdefault(request_id, (customer_id, amount_minor, currency_code))

    def balance(self, customer_id: str, currency_code: str) -> int:
        return sum(a for c, a, cur in self.grants.values() if c == customer_id and cur == currency_code)


class FakeReferralRepository:
    def __init__(self, data: PromotionsData):
        self.data = data

    async def get_program(self, tenant_id: str) -> ReferralProgram | None:
        return self.data.programs.get(tenant_id)

    async def save_program(self, program: ReferralProgram) -> None:
        stored = self.data.programs.get(program.tenant_id)
        if (stored.version if stored else 0) != program.version - 1:
            raise ReferralProgramVersionMismatch("the referral program moved on")
        self.data.programs[program.tenant_id] = program

    async def add_code(self, code: ReferralCode) -> bool:
        taken = any(c.tenant_id == code.tenant_id and c.code == code.code for c in self.data.referral_codes.values())
        if taken or (code.tenant_id, code.customer_id) in self.data.referral_codes:
            return False
        self.data.referral_codes[(code.tenant_id, code.customer_id)] = code
        return True

    async def code_of(self, tenant_id: str, customer_id: str) -> ReferralCode | None:
        return self.data.referral_codes.get((tenant_id, customer_id))

    async def find_code(self, tenant_id: str, code: str) -> ReferralCode | None:
        return next((c for c in self.data.referral_codes.values() if c.tenant_id == tenant_id and c.code == code), None)

    async def take_reward(self, tenant_id: str, customer_id: str, cap: int | None) -> bool:
        code = self.data.referral_codes.get((tenant_id, customer_id))
        if code is None or (cap is not None and code.rewarded_count >= cap):
            return False
        self.data.referral_codes[(tenant_id, customer_id)] = replace(code, rewarded_count=code.rewarded_count + 1)
        return True

    async def add(self, referral: Referral) -> None:
        if await self.of_referred(referral.tenant_id, referral.referred_customer_id) is not None:
            raise AlreadyReferred("referred before")
        self.data.referrals[(referral.tenant_id, referral.id)] = copy.deepcopy(referral)

    async def get(self, tenant_id: str, referral_id: str) -> Referral | None:
        return copy.deepcopy(self.data.referrals.get((tenant_id, referral_id)))

    async def of_referred(self, tenant_id: str, customer_id: str, *, for_update: bool = False) -> Referral | None:
        found = [
            r for (t, _), r in self.data.referrals.items() if t == tenant_id and r.referred_customer_id == customer_id
        ]
        return copy.deepcopy(found[0]) if found else None

    async def save(self, referral: Referral) -> None:
        self.data.referrals[(referral.tenant_id, referral.id)] = copy.deepcopy(referral)

    async def find(
        self, tenant_id: str, limit: int, *, query: ReferralQuery, after: Sequence[str] | None = None
    ) -> list[Referral]:
        rows = [
            r
            for (t, _), r in self.data.referrals.items()
            if t == tenant_id
            and query.referrer_customer_id in (None, r.referrer_customer_id)
            and query.referred_customer_id in (None, r.referred_customer_id)
            and query.state in (None, r.state)
        ]
        rows.sort(key=lambda r: (r.created_at.isoformat(), r.id), reverse=True)
        if after is not None:
            rows = [r for r in rows if (r.created_at.isoformat(), r.id) < (after[0], after[1])]
        return copy.deepcopy(rows[:limit])


class FakeCampaignRepository:
    def __init__(self, data: PromotionsData):
        self.data = data

    async def add(self, campaign: Campaign) -> None:
        if (campaign.tenant_id, campaign.id) in self.data.campaigns:
            raise CampaignExists("taken")
        self.data.campaigns[(campaign.tenant_id, campaign.id)] = copy.deepcopy(campaign)

    async def get(self, tenant_id: str, campaign_id: str) -> Campaign | None:
        found = copy.deepcopy(self.data.campaigns.get((tenant_id, campaign_id)))
        if found is not None:
            found.offers_issued = sum(1 for o in self.data.offers.values() if o.campaign_id == campaign_id)
        return found

    async def save(self, campaign: Campaign) -> None:
        self.data.campaigns[(campaign.tenant_id, campaign.id)] = copy.deepcopy(campaign)

    async def active_for(self, tenant_id: str, trigger: Trigger) -> list[Campaign]:
        found = [
            c
            for (t, _), c in self.data.campaigns.items()
            if t == tenant_id and c.trigger is trigger and c.state is CampaignState.ACTIVE
        ]
        return copy.deepcopy(sorted(found, key=lambda c: (c.created_at, c.id)))

    async def find(self, tenant_id: str, limit: int, after: Sequence[str] | None = None) -> list[Campaign]:
        found = sorted((c for (t, _), c in self.data.campaigns.items() if t == tenant_id), key=lambda c: c.id)
        return copy.deepcopy(found[:limit])

    async def offers_of(self, tenant_id: str, campaign_id: str, customer_id: str) -> int:
        return sum(
            1
            for o in self.data.offers.values()
            if (o.tenant_id, o.campaign_id, o.moment.customer_id) == (tenant_id, campaign_id, customer_id)
        )

    async def last_offer_at(self, tenant_id: str, customer_id: str) -> datetime | None:
        times = [
            o.moment.at
            for o in self.data.offers.values()
            if (o.tenant_id, o.moment.customer_id) == (tenant_id, customer_id)
        ]
        return max(times, default=None)

    async def add_offer(self, offer: CampaignOffer) -> bool:
        taken = any(
            (o.tenant_id, o.campaign_id) == (offer.tenant_id, offer.campaign_id)
            and (
                o.moment.event_id == offer.moment.event_id
                or (o.moment.customer_id, o.ordinal) == (offer.moment.customer_id, offer.ordinal)
            )
            for o in self.data.offers.values()
        )
        if taken:
            return False
        self.data.offers[(offer.tenant_id, offer.id)] = offer
        return True

    async def has_offer(self, tenant_id: str, offer_id: str) -> bool:
        return (tenant_id, offer_id) in self.data.offers

    async def note_trial_ending(self, ending: TrialEnding) -> None:
        key = (ending.tenant_id, ending.subscription_id)
        judged = self.data.trial_endings.get(key, (ending, set[str]()))[1]
        self.data.trial_endings[key] = (ending, judged)

    async def forget_trial_ending(self, tenant_id: str, subscription_id: str) -> None:
        self.data.trial_endings.pop((tenant_id, subscription_id), None)

    async def due_trial_endings(self, times: TenantTimes, limit: int) -> list[tuple[TrialEnding, tuple[str, ...]]]:
        due = []
        for ending, judged in sorted(self.data.trial_endings.values(), key=lambda e: e[0].trial_end):
            now = times.of(ending.tenant_id)
            campaigns = tuple(
                sorted(
                    c.id
                    for (tenant, _), c in self.data.campaigns.items()
                    if tenant == ending.tenant_id
                    and c.trigger is Trigger.TRIAL_ENDING
                    and c.state is CampaignState.ACTIVE
                    and c.id not in judged
                    and ending.trial_end - timedelta(days=c.days_before_trial_end) <= now < ending.trial_end
                )
            )
            if campaigns:
                due.append((ending, campaigns))
        return due[:limit]

    async def judged_trial_ending(self, tenant_id: str, subscription_id: str, campaign_ids: Sequence[str]) -> None:
        self.data.trial_endings[(tenant_id, subscription_id)][1].update(campaign_ids)

    async def find_offers(
        self,
        tenant_id: str,
        limit: int,
        *,
        campaign_id: str | None = None,
        customer_id: str | None = None,
        after: Sequence[str] | None = None,
    ) -> list[CampaignOffer]:
        found = [
            o
            for o in self.data.offers.values()
            if o.tenant_id == tenant_id
            and campaign_id in (None, o.campaign_id)
            and customer_id in (None, o.moment.customer_id)
        ]
        return sorted(found, key=lambda o: (o.moment.at, o.id), reverse=True)[:limit]


class FakeSubscriptionKeyRepository:
    def __init__(self, data: PromotionsData):
        self.data = data

    async def get(self, tenant_id: str) -> SubscriptionKey | None:
        return self.data.subscription_keys.get(tenant_id)

    async def put(self, key: SubscriptionKey, now: datetime) -> None:
        self.data.subscription_keys[key.tenant_id] = key


class FakeExperimentRepository:
    def __init__(self, data: PromotionsData):
        self.data = data

    async def add(self, experiment: Experiment) -> None:
        if (experiment.tenant_id, experiment.id) in self.data.experiments:
            raise ExperimentExists("taken")
        self.data.experiments[(experiment.tenant_id, experiment.id)] = copy.deepcopy(experiment)

    async def get(self, tenant_id: str, experiment_id: str, *, for_update: bool = False) -> Experiment | None:
        return copy.deepcopy(self.data.experiments.get((tenant_id, experiment_id)))

    async def save(self, experiment: Experiment) -> None:
        self.data.experiments[(experiment.tenant_id, experiment.id)] = copy.deepcopy(experiment)

    async def find(self, tenant_id: str, limit: int, after: Sequence[str] | None = None) -> list[Experiment]:
        found = sorted((e for (t, _), e in self.data.experiments.items() if t == tenant_id), key=lambda e: e.id)
        return copy.deepcopy(found[:limit])

    async def assignment(self, tenant_id: str, experiment_id: str, customer_id: str) -> Assignment | None:
        found = self.data.assignments.get((tenant_id, experiment_id, customer_id))
        return None if found is None else found[0]

    async def assign(self, assignment: Assignment) -> bool:
        key = (assignment.tenant_id, assignment.experiment_id, assignment.customer_id)
        if key in self.data.assignments:
            return False
        self.data.assignments[key] = (assignment, 0, 0)
        return True

    async def record_payment(self, tenant_id: str, customer_id: str, currency_code: str, net_minor: int) -> None:
        for (t, experiment_id, customer), (assignment, paid, revenue) in list(self.data.assignments.items()):
            experiment = self.data.experiments[(t, experiment_id)]
            running = experiment.state is ExperimentState.RUNNING and experiment.currency_code == currency_code
            if (t, customer) == (tenant_id, customer_id) and running:
                self.data.assignments[(t, experiment_id, customer)] = (
                    assignment,
                    paid + (1 if net_minor > 0 else 0),
                    revenue + net_minor,
                )

    async def counts(self, tenant_id: str, experiment_id: str) -> dict[str, VariantCounts]:
        counts: dict[str, VariantCounts] = {}
        for (t, e, _), (assignment, paid, revenue) in self.data.assignments.items():
            if (t, e) == (tenant_id, experiment_id):
                c = counts.get(assignment.variant_id, VariantCounts())
                counts[assignment.variant_id] = VariantCounts(
                    c.exposed + 1, c.converted + (1 if paid else 0), c.revenue_minor + revenue
                )
        return counts


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
        self.trials = FakeTrialRepository(self._work)
        self.referrals = FakeReferralRepository(self._work)
        self.campaigns = FakeCampaignRepository(self._work)
        self.experiments = FakeExperimentRepository(self._work)
        self.subscription_keys = FakeSubscriptionKeyRepository(self._work)
        return self

    async def commit(self) -> None:
        self.data = self._work
        await super().commit()
        self._work = copy.deepcopy(self.data)
        self.promotions = FakePromotionRepository(self._work)
        self.codes = FakeCodeRepository(self._work)
        self.ledger = FakeLimitLedger(self._work)
        self.redemptions = FakeRedemptionRepository(self._work)
        self.trials = FakeTrialRepository(self._work)
        self.referrals = FakeReferralRepository(self._work)
        self.campaigns = FakeCampaignRepository(self._work)
        self.experiments = FakeExperimentRepository(self._work)
        self.subscription_keys = FakeSubscriptionKeyRepository(self._work)
