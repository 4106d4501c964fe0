"""Campaign triggers beyond lifecycle's events, over fakes: a trial ending in N days (judged once per campaign and
trial, by the tenant's now), a campaign that extends the trial instead of offering a code, and a usage threshold
metering announced."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from azotte.promotions.v1 import events_pb2
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_promotions.domain.campaigns import (
    Campaign,
    CampaignAction,
    Conditions,
    Moment,
    TrialEnding,
    Trigger,
)
from azotte_promotions.service_layer import campaigns, trial_endings
from tests.unit.promotions.conftest import T0, TENANT, UseCases
from tests.unit.promotions.fakes import FakeTrialExtensions

TRIAL_END = T0 + timedelta(days=14)
DAY = timedelta(days=1)


async def campaign(use_cases: UseCases, trigger: Trigger, **fields: Any) -> Campaign:
    fields.setdefault("promotion_id", "")
    new = Campaign(TENANT, "", "Reminder", trigger=trigger, created_at=T0, **fields)
    return await use_cases.run(lambda uow: campaigns.create_campaign(uow, TENANT, new))


async def trial(use_cases: UseCases, subscription_id: str = "sub-ana", plan_id: str = "premium") -> None:
    ending = TrialEnding(TENANT, subscription_id, "ana", plan_id, "us", Channel.WEB, T0, TRIAL_END)
    await use_cases.run(lambda uow: trial_endings.note(uow, ending))


async def sweep_at(use_cases: UseCases, trials: FakeTrialExtensions, days_before_end: int) -> int:
    use_cases.clock.set(TRIAL_END - days_before_end * DAY)
    return await trial_endings.remind_due(lambda: use_cases.uow, trials, limit=100)


def offers_issued(use_cases: UseCases) -> list[events_pb2.CampaignOfferIssued]:
    payloads = [e.payload for e in use_cases.uow.published if e.type == "campaign.offer_issued"]
    assert all(isinstance(p, events_pb2.CampaignOfferIssued) for p in payloads)
    return payloads  # type: ignore[return-value]


async def test_a_trial_ending_in_three_days_gets_one_offer_from_three_days_before_its_end(use_cases: UseCases):
    promotion = await use_cases.active()
    await campaign(use_cases, Trigger.TRIAL_ENDING, promotion_id=promotion, days_before_trial_end=3)
    await trial(use_cases)
    trials = FakeTrialExtensions()
    assert await sweep_at(use_cases, trials, 4) == 0  # not yet
    assert await sweep_at(use_cases, trials, 3) == 1
    assert await sweep_at(use_cases, trials, 2) == 0  # judged once
    [issued] = offers_issued(use_cases)
    assert (issued.offer.customer_id, issued.offer.subscription_id, issued.offer.promotion_id) == (
        "ana",
        "sub-ana",
        promotion,
    )
    assert issued.offer.code and issued.discount.percent_basis_points == 5_000


async def test_a_trial_that_converted_or_does_not_match_gets_nothing(use_cases: UseCases):
    promotion = await use_cases.active()
    await campaign(
        use_cases,
        Trigger.TRIAL_ENDING,
        promotion_id=promotion,
        days_before_trial_end=3,
        conditions=Conditions(plan_ids=("premium",)),
    )
    await trial(use_cases, "sub-converted")
    await trial(use_cases, "sub-basic", plan_id="basic")
    await use_cases.run(lambda uow: trial_endings.forget(uow, TENANT, "sub-converted"))
    assert await sweep_at(use_cases, FakeTrialExtensions(), 1) == 1  # the basic trial, judged: no offer
    assert offers_issued(use_cases) == []
    assert await sweep_at(use_cases, FakeTrialExtensions(), 0) == 0  # ended


async def test_an_extend_trial_campaign_has_lifecycle_extend_the_trial_once(use_cases: UseCases):
    extend = await campaign(
        use_cases,
        Trigger.TRIAL_ENDING,
        action=CampaignAction.EXTEND_TRIAL,
        trial_extension_days=7,
        days_before_trial_end=2,
    )
    await trial(use_cases)
    await trial(use_cases, "sub-ended")
    trials = FakeTrialExtensions()
    trials.ended.add("sub-ended")  # it converted before lifecycle heard of the extension
    await sweep_at(use_cases, trials, 2)
    [(request_id, (subscription, days))] = trials.extended.items()
    assert (request_id, subscription, days) == (
        campaigns.offer_id(TENANT, extend.id, "trial_ending:sub-ana"),
        "sub-ana",
        7,
    )
    [issued] = offers_issued(use_cases)
    assert (issued.offer.trial_extension_days, issued.offer.code, issued.HasField("discount")) == (7, "", False)
    assert issued.offer.expire_time.ToDatetime().date() == (TRIAL_END + 7 * DAY).date()  # the new trial end


def usage(percent: int, event: str = "ev-1") -> Moment:
    return Moment(event, Trigger.USAGE_THRESHOLD, "ana", "", "", "", None, T0, T0, usage_percent=percent)


async def test_a_usage_threshold_from_its_least_percent_gets_an_offer(use_cases: UseCases):
    promotion = await use_cases.active()
    await campaign(
        use_cases, Trigger.USAGE_THRESHOLD, promotion_id=promotion, conditions=Conditions(min_usage_percent=80)
    )
    trials = FakeTrialExtensions()
    assert await use_cases.run(lambda uow: campaigns.react(uow, TENANT, usage(50, "ev-50"), trials)) == []
    [offer] = await use_cases.run(lambda uow: campaigns.react(uow, TENANT, usage(80, "ev-80"), trials))
    assert (offer.moment.customer_id, offer.moment.usage_percent, offer.moment.channel) == ("ana", 80, None)


@pytest.mark.parametrize(
    ("trigger", "fields", "field"),
    [
        (Trigger.RENEWAL_FAILED, {"action": CampaignAction.EXTEND_TRIAL, "trial_extension_days": 7}, "campaign.action"),
        (
            Trigger.TRIAL_ENDING,
            {"action": CampaignAction.EXTEND_TRIAL, "days_before_trial_end": 3},
            "campaign.trial_extension_days",
        ),
        (Trigger.TRIAL_ENDING, {"promotion_id": "prm"}, "campaign.days_before_trial_end"),
        (Trigger.RENEWAL_FAILED, {"promotion_id": "prm", "days_before_trial_end": 3}, "campaign.days_before_trial_end"),
        (
            Trigger.USAGE_THRESHOLD,
            {"promotion_id": "prm", "conditions": Conditions(plan_ids=("p",))},
            "campaign.conditions",
        ),
        (
            Trigger.RENEWAL_FAILED,
            {"promotion_id": "prm", "conditions": Conditions(min_usage_percent=80)},
            "campaign.conditions.min_usage_percent",
        ),
    ],
)
def test_a_trigger_and_action_that_do_not_fit_name_the_field(
    trigger: Trigger, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        Campaign(TENANT, "", "Bad", trigger=trigger, created_at=T0, **{"promotion_id": "", **fields}).check()
    assert refused.value.violations[0].field == field
