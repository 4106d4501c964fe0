"""Fair trials over fakes: one trial per person per product line, matched by customer, identity or card."""

from __future__ import annotations

from datetime import timedelta

import pytest

from azotte.promotions.v1 import events_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_promotions.domain.trials import TRIAL_ALREADY_USED, MarkerKind, TrialEligibility
from azotte_promotions.service_layer.trials import (
    TrialStarted,
    check_checkout_eligibility,
    check_eligibility,
    record_trial,
)
from tests.unit.promotions.conftest import T0, TENANT, UseCases
from tests.unit.promotions.fakes import FakePeople

APP_TOKEN = "APP_STORE_APP_ACCOUNT_TOKEN::6f1c0e"


@pytest.fixture
def people() -> FakePeople:
    people = FakePeople()
    people.product_lines.update({"premium": "video", "standard": "video", "music_plus": "music"})
    return people


async def take_trial(
    use_cases: UseCases, people: FakePeople, customer: str, plan: str = "premium", sub: str = "", **fields: object
) -> bool:
    started = TrialStarted(
        subscription_id=sub or f"sub-{customer}-{plan}",
        customer_id=customer,
        plan_id=plan,
        channel=fields.get("channel", Channel.WEB),  # type: ignore[arg-type]
        started_at=fields.get("at", T0),  # type: ignore[arg-type]
    )
    return await use_cases.run(lambda uow: record_trial(uow, people, TENANT, started))


async def eligibility(
    use_cases: UseCases, people: FakePeople, customer: str, plan: str = "standard", tenant: str = TENANT
) -> TrialEligibility:
    return await use_cases.run(lambda uow: check_eligibility(uow, people, tenant, customer, plan), tenant)


async def test_a_customer_without_a_trial_may_start_one(use_cases: UseCases, people: FakePeople):
    answer = await eligibility(use_cases, people, "ana")

    assert answer.eligible and answer.reason == "" and answer.product_line == "video"


async def test_a_second_trial_of_the_product_line_is_refused_naming_the_earlier_one(
    use_cases: UseCases, people: FakePeople
):
    await take_trial(use_cases, people, "ana", "premium", channel=Channel.APP_STORE)

    answer = await eligibility(use_cases, people, "ana", "standard")

    assert not answer.eligible and answer.reason == TRIAL_ALREADY_USED
    assert answer.match is not None
    assert answer.match.marker.kind is MarkerKind.CUSTOMER and answer.match.marker.value == "ana"
    assert answer.match.trial.plan_id == "premium" and answer.match.trial.channel is Channel.APP_STORE


async def test_another_product_line_keeps_its_own_trial(use_cases: UseCases, people: FakePeople):
    await take_trial(use_cases, people, "ana", "premium")

    assert (await eligibility(use_cases, people, "ana", "music_plus")).eligible


async def test_another_customer_with_the_same_card_is_refused_by_the_fingerprint(
    use_cases: UseCases, people: FakePeople
):
    people.fingerprints["ana"] = ["fp-visa-4242"]
    await take_trial(use_cases, people, "ana")
    people.fingerprints["bob"] = ["fp-mastercard-1111", "fp-visa-4242"]

    answer = await eligibility(use_cases, people, "bob")

    assert answer.reason == TRIAL_ALREADY_USED and answer.match is not None
    assert answer.match.marker.kind is MarkerKind.PAYMENT_METHOD and answer.match.marker.value == "fp-visa-4242"


async def test_a_channel_identity_linked_to_the_taker_refuses_its_new_holder(use_cases: UseCases, people: FakePeople):
    people.identities["ana"] = [APP_TOKEN]
    await take_trial(use_cases, people, "ana", channel=Channel.APP_STORE)
    people.identities["ana-web"] = [APP_TOKEN]

    answer = await eligibility(use_cases, people, "ana-web")

    assert answer.match is not None and answer.match.marker.kind is MarkerKind.CHANNEL_IDENTITY
    assert answer.match.marker.value == APP_TOKEN


async def test_the_customer_itself_explains_a_refusal_before_its_identities_and_cards(
    use_cases: UseCases, people: FakePeople
):
    people.identities["ana"] = [APP_TOKEN]
    people.fingerprints["ana"] = ["fp-visa-4242"]
    await take_trial(use_cases, people, "ana", sub="sub-late", at=T0 + timedelta(days=40))
    await take_trial(use_cases, people, "ana", sub="sub-early", at=T0)

    answer = await eligibility(use_cases, people, "ana")

    assert answer.match is not None and answer.match.marker.kind is MarkerKind.CUSTOMER
    assert answer.match.trial.subscription_id == "sub-early"


async def test_the_markers_are_those_of_when_the_trial_started(use_cases: UseCases, people: FakePeople):
    await take_trial(use_cases, people, "ana")
    # NOTE: a card ana adds later is not recorded with her trial.
    people.fingerprints["ana"] = ["fp-visa-4242"]
    people.fingerprints["bob"] = ["fp-visa-4242"]

    assert (await eligibility(use_cases, people, "bob")).eligible


async def test_a_redelivered_trial_event_records_nothing_more(use_cases: UseCases, people: FakePeople):
    assert await take_trial(use_cases, people, "ana")
    assert not await take_trial(use_cases, people, "ana")

    assert len(use_cases.uow.data.trials) == 1


async def test_another_tenants_trials_do_not_count(use_cases: UseCases, people: FakePeople):
    await take_trial(use_cases, people, "ana")

    assert (await eligibility(use_cases, people, "ana", tenant="other")).eligible


async def test_an_unknown_plan_is_not_found_and_missing_fields_are_named(use_cases: UseCases, people: FakePeople):
    with pytest.raises(NotFound):
        await eligibility(use_cases, people, "ana", "no-such-plan")
    with pytest.raises(InvalidArgument) as missing_plan:
        await eligibility(use_cases, people, "ana", "")
    with pytest.raises(InvalidArgument) as missing_customer:
        await eligibility(use_cases, people, "", "premium")

    assert missing_plan.value.violations[0].field == "plan_id"
    assert missing_customer.value.violations[0].field == "customer_id"


async def test_a_checkout_refused_its_trial_publishes_a_trial_blocked_by_eligibility(
    use_cases: UseCases, people: FakePeople
):
    await take_trial(use_cases, people, "ana", "premium")

    refused = await use_cases.run(
        lambda uow: check_checkout_eligibility(uow, people, TENANT, "ana", "standard", "sub-new", "checkout-1")
    )
    allowed = await use_cases.run(
        lambda uow: check_checkout_eligibility(uow, people, TENANT, "ben", "standard", "sub-ben", "checkout-2")
    )

    assert not refused.eligible and allowed.eligible
    [blocked] = [e for e in use_cases.uow.published if e.type == "trial.blocked"]
    payload = events_pb2.TrialBlocked.FromString(blocked.payload.SerializeToString())
    assert (payload.customer_id, payload.plan_id, payload.product_line, payload.trial_plan_id) == (
        "ana",
        "standard",
        "video",
        "premium",
    )
    assert payload.match_kind == pb.TRIAL_MATCH_KIND_CUSTOMER and payload.request_id == "checkout-1"
