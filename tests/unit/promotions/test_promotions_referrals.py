"""Two-sided referrals over fakes: the program, one code per customer, the guards at checkout, and the
conversion rewarding both sides exactly once (credit or a promotion code), the referrer up to the cap."""

from __future__ import annotations

from typing import Any

import pytest

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_promotions.domain.referrals import (
    REFERRED,
    REFERRER,
    Conversion,
    ReferralProgram,
    ReferralState,
    Reward,
    RewardKind,
    RewardRule,
)
from azotte_promotions.errors import (
    AlreadyReferred,
    ReferralCodeNotFound,
    ReferralProgramDisabled,
    ReferralProgramVersionMismatch,
    SelfReferral,
)
from azotte_promotions.ports import ReferralQuery
from azotte_promotions.service_layer import referrals
from azotte_promotions.service_layer.referrals import Attachment, SubscriptionMilestone
from tests.unit.promotions.conftest import TENANT, UseCases
from tests.unit.promotions.fakes import FakeCredits, FakePeople

CREDIT_5 = Reward(RewardKind.CREDIT, (("USD", 500), ("EUR", 450)))
CREDIT_3 = Reward(RewardKind.CREDIT, (("USD", 300),))


@pytest.fixture
def people() -> FakePeople:
    people = FakePeople()
    people.emails.update({"ana": "ana@example.com", "bob": "bob@example.com", "cleo": "cleo@example.com"})
    return people


@pytest.fixture
def credits() -> FakeCredits:
    return FakeCredits()


async def program(use_cases: UseCases, *rules: RewardRule, **fields: Any) -> ReferralProgram:
    """Enable the program with `rules` (by default: 5 USD/4.50 EUR to the referrer, 3 USD to the referred)."""
    current = await use_cases.run(lambda uow: referrals.get_program(uow, TENANT))
    fields.setdefault("enabled", True)
    rules = rules or (RewardRule(referrer=CREDIT_5, referred=CREDIT_3),)
    new = ReferralProgram(TENANT, rules=rules, version=current.version, **fields)
    return await use_cases.run(lambda uow: referrals.update_program(uow, TENANT, new))


async def code_of(use_cases: UseCases, people: FakePeople, customer: str) -> str:
    code = await use_cases.run(lambda uow: referrals.issue_code(uow, people, TENANT, customer))
    return code.code


async def attach(use_cases: UseCases, people: FakePeople, code: str, referred: str, sub: str = "", **fields: Any):
    attachment = Attachment(
        code=code,
        referred_customer_id=referred,
        subscription_id=sub or f"sub-{referred}",
        plan_id=fields.get("plan", "premium"),
        storefront_id=fields.get("storefront", "us"),
        channel=fields.get("channel", Channel.WEB),
    )
    return await use_cases.run(lambda uow: referrals.attach(uow, people, TENANT, attachment))


async def milestone(
    use_cases: UseCases,
    credits: FakeCredits,
    customer: str,
    sub: str = "",
    reached: Conversion = Conversion.FIRST_PAID_PERIOD,
    currency: str = "USD",
):
    reached_at = SubscriptionMilestone(customer, sub or f"sub-{customer}", reached, currency, 999)
    return await use_cases.run(lambda uow: referrals.convert(uow, credits, TENANT, reached_at))


async def test_each_customer_gets_one_code_however_often_it_asks(use_cases: UseCases, people: FakePeople):
    first = await code_of(use_cases, people, "ana")

    assert await code_of(use_cases, people, "ana") == first and first.startswith("REF")
    assert await code_of(use_cases, people, "bob") != first
    people.unknown.add("ghost")
    with pytest.raises(NotFound):
        await code_of(use_cases, people, "ghost")


async def test_the_program_is_versioned_and_checked_naming_its_fields(use_cases: UseCases):
    assert (await use_cases.run(lambda uow: referrals.get_program(uow, TENANT))).enabled is False
    stored = await program(use_cases)
    assert stored.version == 1 and stored.enabled

    stale = ReferralProgram(TENANT, enabled=False, version=0)
    with pytest.raises(ReferralProgramVersionMismatch):
        await use_cases.run(lambda uow: referrals.update_program(uow, TENANT, stale))
    bad = ReferralProgram(TENANT, rules=(RewardRule(referrer=Reward(RewardKind.CREDIT, (("usd", 5),))),), version=1)
    with pytest.raises(InvalidArgument) as refused:
        await use_cases.run(lambda uow: referrals.update_program(uow, TENANT, bad))
    assert refused.value.violations[0].field == "program.rules[0].referrer.amounts[0].currency_code"


async def test_a_conversion_rewards_both_sides_once_and_says_so(
    use_cases: UseCases, people: FakePeople, credits: FakeCredits
):
    await program(use_cases)
    code = await code_of(use_cases, people, "ana")
    await attach(use_cases, people, code.lower(), "bob")

    rewarded = await milestone(use_cases, credits, "bob")
    again = await milestone(use_cases, credits, "bob")

    assert rewarded is not None and rewarded.state is ReferralState.REWARDED and again is None
    assert credits.balance("ana", "USD") == 500 and credits.balance("bob", "USD") == 300
    assert len(credits.grants) == 2
    assert use_cases.uow.published_types()[-3:] == ["referral.converted", "referral.rewarded", "referral.rewarded"]
    assert rewarded.rewards[REFERRER].amount_minor == 500 and rewarded.rewards[REFERRED].amount_minor == 300


async def test_only_the_programs_conversion_of_the_referred_subscription_converts(
    use_cases: UseCases, people: FakePeople, credits: FakeCredits
):
    await program(use_cases)
    await attach(use_cases, people, await code_of(use_cases, people, "ana"), "bob")

    assert await milestone(use_cases, credits, "bob", reached=Conversion.SUBSCRIBED) is None
    assert await milestone(use_cases, credits, "bob", sub="sub-other") is None
    assert await milestone(use_cases, credits, "cleo") is None
    assert credits.grants == {}


async def test_a_promotion_code_reward_issues_a_single_use_code(
    use_cases: UseCases, people: FakePeople, credits: FakeCredits
):
    free_month = await use_cases.active()
    await program(use_cases, RewardRule(referred=Reward(RewardKind.PROMOTION_CODE, promotion_id=free_month)))
    await attach(use_cases, people, await code_of(use_cases, people, "ana"), "bob")

    rewarded = await milestone(use_cases, credits, "bob")

    assert rewarded is not None
    given = rewarded.rewards[REFERRED]
    assert given.promotion_id == free_month and len(given.code) == 12
    assert rewarded.rewards[REFERRER].skipped == "no_reward"
    assert any(c.code == given.code for c in use_cases.uow.data.codes.values())


async def test_the_referrer_is_rewarded_up_to_the_cap_and_the_referred_still_is(
    use_cases: UseCases, people: FakePeople, credits: FakeCredits
):
    await program(use_cases, max_rewards_per_referrer=1)
    code = await code_of(use_cases, people, "ana")
    for referred in ("bob", "cleo"):
        await attach(use_cases, people, code, referred)
        await milestone(use_cases, credits, referred)

    assert credits.balance("ana", "USD") == 500
    assert credits.balance("cleo", "USD") == 300
    [capped] = await use_cases.run(
        lambda uow: uow.referrals.find(TENANT, 10, query=ReferralQuery(referred_customer_id="cleo"))
    )
    assert capped.rewards[REFERRER].skipped == "cap_reached"


async def test_rules_pick_the_reward_by_plan_storefront_and_channel_and_currency(
    use_cases: UseCases, people: FakePeople, credits: FakeCredits
):
    await program(
        use_cases,
        RewardRule(plan_ids=("annual",), referrer=CREDIT_5),
        RewardRule(storefront_ids=("de",), channels=(Channel.WEB,), referrer=CREDIT_3, referred=CREDIT_3),
    )
    code = await code_of(use_cases, people, "ana")
    await attach(use_cases, people, code, "bob", storefront="de")
    await attach(use_cases, people, code, "cleo", plan="monthly", storefront="us")

    bob = await milestone(use_cases, credits, "bob", currency="EUR")
    cleo = await milestone(use_cases, credits, "cleo")

    assert bob is not None and bob.rewards[REFERRED].skipped == "no_amount_in_currency"
    assert cleo is not None and {g.skipped for g in cleo.rewards.values()} == {"no_reward"}
    assert credits.grants == {}


@pytest.mark.parametrize(
    ("shared", "match"),
    [("customer", "customer"), ("card", "payment_method"), ("email", "email"), ("identity", "channel_identity")],
)
async def test_self_referral_is_refused_naming_what_matched(
    use_cases: UseCases, people: FakePeople, shared: str, match: str
):
    await program(use_cases)
    code = await code_of(use_cases, people, "ana")
    referred = "ana" if shared == "customer" else "bob"
    if shared == "card":
        people.fingerprints.update({"ana": ["fp-1"], "bob": ["fp-1"]})
    if shared == "email":
        people.emails["bob"] = "ANA@example.com"
    if shared == "identity":
        people.identities.update({"ana": ["APP_STORE_APP_ACCOUNT_TOKEN::x"], "bob": ["APP_STORE_APP_ACCOUNT_TOKEN::x"]})

    with pytest.raises(SelfReferral) as refused:
        await attach(use_cases, people, code, referred)

    assert refused.value.metadata["match"] == match


async def test_the_guards_of_a_checkout_attaching_a_code(use_cases: UseCases, people: FakePeople, credits: FakeCredits):
    code = await code_of(use_cases, people, "ana")
    with pytest.raises(ReferralProgramDisabled):
        await attach(use_cases, people, code, "bob")
    await program(use_cases)
    with pytest.raises(ReferralCodeNotFound):
        await attach(use_cases, people, "REFNOSUCHCODE", "bob")

    first = await attach(use_cases, people, code, "bob", sub="sub-1")
    moved = await attach(use_cases, people, code, "bob", sub="sub-2")
    assert (moved.id, moved.subscription_id) == (first.id, "sub-2")
    await milestone(use_cases, credits, "bob", sub="sub-2")
    with pytest.raises(AlreadyReferred):
        await attach(use_cases, people, code, "bob", sub="sub-3")
