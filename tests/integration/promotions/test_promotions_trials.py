"""Fair trials on real PostgreSQL and NATS: lifecycle's trial.started recorded by the durable consumer, and
CheckTrialEligibility answering over gRPC with what matched."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.convert import timestamp
from azotte_platform.db.tables import inbox
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_platform.events.envelope import binary_headers, subject_for
from azotte_promotions.adapters.tables import trials
from azotte_promotions.entrypoints.trial_consumer import TRIAL_EVENTS
from tests.helpers import eventually
from tests.integration.promotions.conftest import T0, Service
from tests.integration.promotions.promotions_support import failure


async def publish_trial_started(service: Service, tenant: str, subscription_id: str, customer_id: str) -> None:
    """Publish lifecycle's trial.started the way its outbox relay does (a new event id each time)."""
    subscription = lifecycle_pb2.Subscription(
        id=subscription_id,
        customer_id=customer_id,
        plan_id="premium",
        storefront_id="us",
        channel=channel_pb2.CHANNEL_APP_STORE,
        current_period_start_time=timestamp(T0),
    )
    payload = lifecycle_events.SubscriptionEvent(subscription=subscription, occur_time=timestamp(T0))
    event_id = str(uuid.uuid4())
    headers = binary_headers(
        event_id=event_id,
        event_type="trial.started",
        source="azotte/lifecycle",
        tenant_id=tenant,
        time=T0,
        data_schema=payload.DESCRIPTOR.full_name,
    )
    await service.runtime.js.publish(
        subject_for("lifecycle", tenant, "trial.started"), payload.SerializeToString(), headers=headers
    )


async def check(service: Service, tenant: str, customer_id: str, plan_id: str = "standard") -> pb.TrialEligibility:
    answer = await service.stub.CheckTrialEligibility(
        pb.CheckTrialEligibilityRequest(customer_id=customer_id, plan_id=plan_id),
        metadata=(("x-azotte-tenant", tenant),),
    )
    result: pb.TrialEligibility = answer.eligibility
    return result


async def test_a_trial_taken_on_one_channel_refuses_the_person_on_every_channel(service: Service):
    tenant = f"tr{uuid.uuid4().hex[:10]}"
    service.people.product_lines.update({"premium": "video", "standard": "video", "music_plus": "music"})
    service.people.fingerprints["ana"] = ["fp-visa-4242"]
    service.people.fingerprints["bob"] = ["fp-visa-4242"]
    assert (await check(service, tenant, "bob")).eligible

    await publish_trial_started(service, tenant, "sub-ana", "ana")

    async def refused() -> pb.TrialEligibility:
        answer = await check(service, tenant, "ana")
        assert not answer.eligible
        return answer

    ana = await eventually(refused)
    assert ana.reason == "TRIAL_ALREADY_USED" and ana.product_line == "video"
    assert ana.match.kind == pb.TRIAL_MATCH_KIND_CUSTOMER and ana.match.value == "ana"
    assert ana.match.plan_id == "premium" and ana.match.channel == channel_pb2.CHANNEL_APP_STORE
    assert ana.match.start_time.ToDatetime().isoformat().startswith(T0.replace(tzinfo=None).isoformat())
    bob = await check(service, tenant, "bob")
    assert bob.match.kind == pb.TRIAL_MATCH_KIND_PAYMENT_METHOD and bob.match.value == "fp-visa-4242"
    assert (await check(service, tenant, "ana", "music_plus")).eligible
    assert (await check(service, f"other{tenant}", "ana")).eligible


async def test_the_same_trial_reported_twice_is_recorded_once(service: Service):
    tenant = f"tr{uuid.uuid4().hex[:10]}"
    service.people.product_lines.update({"premium": "video", "standard": "video"})
    await publish_trial_started(service, tenant, "sub-cleo", "cleo")
    await publish_trial_started(service, tenant, "sub-cleo", "cleo")

    async def both_handled() -> bool:
        async with service.runtime.engine.connect() as connection:
            handled = await connection.scalar(
                sa.select(sa.func.count())
                .select_from(inbox)
                .where(inbox.c.tenant_id == tenant, inbox.c.consumer == TRIAL_EVENTS.durable)
            )
            return handled == 2

    await eventually(both_handled)
    async with service.runtime.engine.connect() as connection:
        count = await connection.scalar(
            sa.select(sa.func.count()).select_from(trials).where(trials.c.tenant_id == tenant)
        )
    assert count == 1
    assert not (await check(service, tenant, "cleo")).eligible


async def test_bad_requests_name_their_field_and_an_unknown_plan_is_not_found(service: Service):
    service.people.product_lines["standard"] = "video"
    missing = await failure(
        service.stub.CheckTrialEligibility(
            pb.CheckTrialEligibilityRequest(plan_id="standard"), metadata=service.metadata
        )
    )
    unknown = await failure(
        service.stub.CheckTrialEligibility(
            pb.CheckTrialEligibilityRequest(customer_id="ana", plan_id="nope"), metadata=service.metadata
        )
    )

    assert isinstance(missing, InvalidArgument) and missing.violations[0].field == "customer_id"
    assert isinstance(unknown, NotFound)
