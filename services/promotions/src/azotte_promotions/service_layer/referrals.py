"""Two-sided referrals: the program, each customer's code, a checkout attaching a code, and the conversion
that rewards both sides exactly once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest
from azotte_platform.request_ids import derive_request_id
from azotte_promotions.domain import codes as code_rules
from azotte_promotions.domain.events import ReferralConverted, ReferralRewarded
from azotte_promotions.domain.referrals import (
    REFERRED,
    REFERRER,
    Conversion,
    GivenReward,
    Referral,
    ReferralCode,
    ReferralProgram,
    ReferralState,
    Reward,
    RewardKind,
    shared_marker,
)
from azotte_promotions.errors import (
    AlreadyReferred,
    IllegalPromotionTransition,
    PromotionNotFound,
    ReferralCodeNotFound,
    ReferralNotFound,
    ReferralProgramDisabled,
    ReferralProgramVersionMismatch,
    SelfReferral,
)
from azotte_promotions.ports import Credits, People, PromotionsUnitOfWork, ReferralQuery
from azotte_promotions.service_layer import codes

CODE_PREFIX = "REF"
_CODE_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class Attachment:
    """A referred customer's checkout using a referral code."""

    code: str
    referred_customer_id: str
    subscription_id: str
    plan_id: str
    storefront_id: str
    channel: Channel


@dataclass(frozen=True, slots=True)
class SubscriptionMilestone:
    """A step of a subscription that may convert its referral: created, or its first paid period paid."""

    customer_id: str
    subscription_id: str
    reached: Conversion
    currency_code: str
    amount_minor: int


def referral_id(tenant: str, referred_customer_id: str) -> str:
    """A referral's id: one referral per referred customer, so the same id whichever checkout made it."""
    return "ref_" + hashlib.sha256(f"{tenant}\0{referred_customer_id}".encode()).hexdigest()[:24]


async def get_program(uow: PromotionsUnitOfWork, tenant: str) -> ReferralProgram:
    """The tenant's program; a disabled one at version 0 until first updated."""
    return await uow.referrals.get_program(tenant) or ReferralProgram(tenant)


async def update_program(uow: PromotionsUnitOfWork, tenant: str, new: ReferralProgram) -> ReferralProgram:
    """Replace the program if `new.version` is the current version (0 for the first)."""
    new.check()
    current = await get_program(uow, tenant)
    if new.version != current.version:
        raise ReferralProgramVersionMismatch(
            f"the referral program is at version {current.version}, not {new.version}",
            metadata={"version": str(current.version)},
        )
    program = current.updated(new, uow.clock.now())
    await uow.referrals.save_program(program)
    return program


async def issue_code(uow: PromotionsUnitOfWork, people: People, tenant: str, customer_id: str) -> ReferralCode:
    """The customer's referral code, made once (every later call answers the same code)."""
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    existing = await uow.referrals.code_of(tenant, customer_id)
    if existing is not None:
        return existing
    await people.markers(customer_id)  # NOTE: an unknown customer (or another tenant's) is NOT_FOUND.
    for _ in range(_CODE_ROUNDS):
        [code] = code_rules.generate(1, CODE_PREFIX)
        await uow.referrals.add_code(ReferralCode(tenant, customer_id, code, uow.clock.now()))
        made = await uow.referrals.code_of(tenant, customer_id)
        if made is not None:
            return made
    raise RuntimeError("no free referral code after several draws")


async def attach(uow: PromotionsUnitOfWork, people: People, tenant: str, attachment: Attachment) -> Referral:
    """Record the referral of a checkout, after the guards: the program is enabled, the code exists, the referred
    customer is not the referrer (nor shares an identity, card or email with them) and was not referred before."""
    if not attachment.code:
        raise InvalidArgument.field("code", "is required")
    if not attachment.referred_customer_id:
        raise InvalidArgument.field("referred_customer_id", "is required")
    if not attachment.subscription_id:
        raise InvalidArgument.field("subscription_id", "is required")
    program = await get_program(uow, tenant)
    if not program.enabled:
        raise ReferralProgramDisabled("the tenant's referral program is not enabled")
    code = await uow.referrals.find_code(tenant, code_rules.normalize(attachment.code))
    if code is None:
        raise ReferralCodeNotFound(f"no customer has the referral code {attachment.code!r}")
    referrer = await people.markers(code.customer_id, with_email=True)
    referred = await people.markers(attachment.referred_customer_id, with_email=True)
    shared = shared_marker(referrer, referred)
    if shared is not None:
        raise SelfReferral(
            f"the referral code is the referred customer's own ({shared.kind.value} matches)",
            metadata={"match": shared.kind.value},
        )
    earlier = await uow.referrals.of_referred(tenant, attachment.referred_customer_id, for_update=True)
    if earlier is not None:
        if earlier.state is not ReferralState.PENDING or earlier.code != code.code:
            raise AlreadyReferred(f"customer {attachment.referred_customer_id!r} was referred before")
        earlier.moved_to(attachment.subscription_id, attachment.plan_id, attachment.storefront_id, attachment.channel)
        await uow.referrals.save(earlier)
        return earlier
    referral = Referral(
        tenant_id=tenant,
        id=referral_id(tenant, attachment.referred_customer_id),
        code=code.code,
        referrer_customer_id=code.customer_id,
        referred_customer_id=attachment.referred_customer_id,
        subscription_id=attachment.subscription_id,
        plan_id=attachment.plan_id,
        storefront_id=attachment.storefront_id,
        channel=attachment.channel,
        created_at=uow.clock.now(),
    )
    await uow.referrals.add(referral)
    return referral


async def get_referral(uow: PromotionsUnitOfWork, tenant: str, referral_id: str) -> Referral:
    if not referral_id:
        raise InvalidArgument.field("referral_id", "is required")
    referral = await uow.referrals.get(tenant, referral_id)
    if referral is None:
        raise ReferralNotFound(f"referral {referral_id!r} not found")
    return referral


async def list_referrals(
    uow: PromotionsUnitOfWork, tenant: str, paging: PageRequest, query: ReferralQuery
) -> Page[Referral]:
    rows = await uow.referrals.find(tenant, paging.limit, query=query, after=paging.after_key())
    return paging.page(rows, lambda r: [r.created_at.isoformat(), r.id])


async def convert(
    uow: PromotionsUnitOfWork, credits: Credits, tenant: str, milestone: SubscriptionMilestone
) -> Referral | None:
    """Reward both sides of the referral of the milestone's subscription, once, if it is the program's conversion.

    NOTE: credit is granted under a request id derived from the referral and side, so a handler retried after
    a failure (the referral still pending) grants nothing twice; a rewarded referral is never rewarded again.
    """
    referral = await uow.referrals.of_referred(tenant, milestone.customer_id, for_update=True)
    if referral is None or referral.state is not ReferralState.PENDING:
        return None
    program = await get_program(uow, tenant)
    if referral.subscription_id != milestone.subscription_id or milestone.reached is not program.conversion:
        return None
    now = uow.clock.now()
    uow.emit(tenant, ReferralConverted(referral, milestone.currency_code, milestone.amount_minor))
    rule = program.rule_for(referral.plan_id, referral.storefront_id, referral.channel)
    rewards: dict[str, GivenReward] = {}
    for side, customer in ((REFERRER, referral.referrer_customer_id), (REFERRED, referral.referred_customer_id)):
        reward = None if rule is None else (rule.referrer if side == REFERRER else rule.referred)
        if reward is None:
            rewards[side] = GivenReward(skipped="no_reward")
        elif side == REFERRER and not await uow.referrals.take_reward(
            tenant, customer, program.max_rewards_per_referrer
        ):
            rewards[side] = GivenReward(reward.kind, skipped="cap_reached")
        else:
            rewards[side] = await _give(uow, credits, tenant, referral, side, customer, reward, milestone)
        uow.emit(tenant, ReferralRewarded(referral, side, customer, rewards[side]))
    referral.rewarded(now, milestone.currency_code, rewards)
    await uow.referrals.save(referral)
    return referral


async def _give(
    uow: PromotionsUnitOfWork,
    credits: Credits,
    tenant: str,
    referral: Referral,
    side: str,
    customer: str,
    reward: Reward,
    milestone: SubscriptionMilestone,
) -> GivenReward:
    if reward.kind is RewardKind.CREDIT:
        amount = reward.credit_in(milestone.currency_code)
        if amount is None:
            return GivenReward(reward.kind, milestone.currency_code, skipped="no_amount_in_currency")
        await credits.grant(
            derive_request_id("referral", tenant, f"{referral.id}:{side}"),
            customer,
            amount,
            milestone.currency_code,
            f"referral {referral.id} ({side})",
            storefront_id=referral.storefront_id,
            channel=referral.channel.value,
            plan_id=referral.plan_id,
        )
        return GivenReward(reward.kind, milestone.currency_code, amount)
    try:
        batch = await codes.create_batch(uow, tenant, reward.promotion_id, 1)
    except (PromotionNotFound, IllegalPromotionTransition):
        return GivenReward(reward.kind, promotion_id=reward.promotion_id, skipped="promotion_unavailable")
    [code] = await uow.codes.export(tenant, batch.id, 1, None)
    return GivenReward(reward.kind, promotion_id=reward.promotion_id, code=code)
