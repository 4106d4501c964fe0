"""Lifecycle-triggered campaigns over fakes: a retention offer on the trigger for the subscribers the conditions
reach, a code only its customer may use, once per event, within the frequency cap and the quiet period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_promotions.domain.campaigns import Campaign, CampaignOffer, CampaignState, Conditions, Moment, Trigger
from azotte_promotions.domain.eligibility import Checkout, CustomerFacts, Reason
from azotte_promotions.domain.promotion import PromotionState
from azotte_promotions.errors import PromotionNotFound
from azotte_promotions.service_layer import campaigns, promotions, validation
from tests.unit.promotions.conftest import T0, TENANT, UseCases
from tests.unit.promotions.fakes import FakeTrialExtensions

MONTH = timedelta(days=30)


async def campaign(use_cases: UseCases, promotion_id: str, **fields: Any) -> Campaign:
    fields.setdefault("trigger", Trigger.RENEWAL_FAILED)
    new = Campaign(TENANT, "", "Win back", promotion_id=promotion_id, created_at=T0, **fields)
    return await use_cases.run(lambda uow: campaigns.create_campaign(uow, TENANT, new))


def moment(customer: str = "ana", event: str = "ev-1", **fields: Any) -> Moment:
    values: dict[str, Any] = {
        "event_id": event,
        "trigger": Trigger.RENEWAL_FAILED,
        "customer_id": customer,
        "subscription_id": f"sub-{customer}",
        "plan_id": "premium",
        "storefront_id": "us",
        "channel": Channel.WEB,
        "subscribed_at": T0 - 3 * MONTH,
        "at": T0,
        **fields,
    }
    return Moment(**values)


async def react(use_cases: UseCases, happened: Moment) -> list[CampaignOffer]:
    return await use_cases.run(lambda uow: campaigns.react(uow, TENANT, happened, FakeTrialExtensions()))


async def test_a_failed_renewal_gets_a_personal_offer_and_says_so(use_cases: UseCases):
    promotion = await use_cases.active()
    await campaign(use_cases, promotion, offer_valid_days=7)

    [offer] = await react(use_cases, moment())

    assert offer.promotion_id == promotion and offer.expires_at == T0 + timedelta(days=7)
    [issued] = [e for e in use_cases.uow.published if e.type == "campaign.offer_issued"]
    assert issued.about == "ana"
    assert issued.payload.offer.code == offer.code  # type: ignore[attr-defined]
    assert issued.payload.discount.percent_basis_points == 5_000  # type: ignore[attr-defined]


async def test_the_code_is_only_its_customers(use_cases: UseCases):
    await campaign(use_cases, await use_cases.active())
    [offer] = await react(use_cases, moment())

    def checkout(customer: str) -> Checkout:
        return Checkout(1_000, "USD", customer, "premium", "video", "us", "US", Channel.WEB, CustomerFacts())

    mine = await use_cases.run(lambda uow: validation.validate_code(uow, TENANT, offer.code, checkout("ana")))
    theirs = await use_cases.run(lambda uow: validation.validate_code(uow, TENANT, offer.code, checkout("bob")))

    assert mine.eligible and mine.discount_minor == 500
    assert not theirs.eligible and [f.reason for f in theirs.failures] == [Reason.CODE_NOT_FOUND]


async def test_one_offer_per_event_and_the_frequency_cap(use_cases: UseCases):
    await campaign(use_cases, await use_cases.active(), max_offers_per_customer=2)

    assert len(await react(use_cases, moment(event="ev-1"))) == 1
    assert await react(use_cases, moment(event="ev-1")) == []
    assert len(await react(use_cases, moment(event="ev-2", at=T0 + MONTH))) == 1
    assert await react(use_cases, moment(event="ev-3", at=T0 + 2 * MONTH)) == []
    assert len(await react(use_cases, moment("bob", event="ev-4"))) == 1


async def test_the_quiet_period_holds_across_campaigns(use_cases: UseCases):
    promotion = await use_cases.active()
    await campaign(use_cases, promotion, trigger=Trigger.RENEWAL_FAILED)
    await campaign(use_cases, promotion, trigger=Trigger.ON_HOLD, quiet_period_days=14)
    await react(use_cases, moment(event="failed"))

    too_soon = await react(use_cases, moment(event="hold-1", trigger=Trigger.ON_HOLD, at=T0 + timedelta(days=5)))
    later = await react(use_cases, moment(event="hold-2", trigger=Trigger.ON_HOLD, at=T0 + timedelta(days=15)))

    assert too_soon == [] and len(later) == 1


@pytest.mark.parametrize(
    ("conditions", "reached"),
    [
        (Conditions(plan_ids=("premium",)), True),
        (Conditions(plan_ids=("basic",)), False),
        (Conditions(storefront_ids=("de",)), False),
        (Conditions(channels=(Channel.APP_STORE,)), False),
        (Conditions(min_tenure_days=60), True),
        (Conditions(min_tenure_days=100), False),
        (Conditions(max_tenure_days=30), False),
    ],
)
async def test_conditions_on_plan_storefront_channel_and_tenure(
    use_cases: UseCases, conditions: Conditions, reached: bool
):
    await campaign(use_cases, await use_cases.active(), conditions=conditions)

    assert bool(await react(use_cases, moment())) is reached


async def test_a_paused_campaign_another_trigger_or_an_inactive_promotion_issues_nothing(use_cases: UseCases):
    promotion = await use_cases.active()
    paused = await campaign(use_cases, promotion)
    await use_cases.run(lambda uow: campaigns.set_state(uow, TENANT, paused.id, CampaignState.PAUSED))
    assert await react(use_cases, moment()) == []

    await campaign(use_cases, promotion, trigger=Trigger.CANCEL_SCHEDULED)
    assert await react(use_cases, moment(event="ev-2")) == []
    await use_cases.run(lambda uow: promotions.change_state(uow, TENANT, promotion, PromotionState.PAUSED))
    assert await react(use_cases, moment(event="ev-3", trigger=Trigger.CANCEL_SCHEDULED)) == []


async def test_a_campaign_names_its_bad_fields_and_its_promotion_must_exist(use_cases: UseCases):
    promotion = await use_cases.active()
    with pytest.raises(InvalidArgument) as bad:
        await campaign(use_cases, promotion, quiet_period_days=-1)
    assert bad.value.violations[0].field == "campaign.quiet_period_days"
    with pytest.raises(InvalidArgument) as tenure:
        await campaign(use_cases, promotion, conditions=Conditions(min_tenure_days=10, max_tenure_days=5))
    assert tenure.value.violations[0].field == "campaign.conditions.max_tenure_days"
    with pytest.raises(PromotionNotFound):
        await campaign(use_cases, "no-such-promotion")
    made = await campaign(use_cases, promotion)
    await react(use_cases, moment())
    assert (await use_cases.run(lambda uow: campaigns.get_campaign(uow, TENANT, made.id))).offers_issued == 1
