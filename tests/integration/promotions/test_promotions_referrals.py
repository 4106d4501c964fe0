"""Referrals on real PostgreSQL and NATS: the program, codes and attachments over gRPC, lifecycle's milestone
converting a referral once through the durable consumer, its events, and the referrer's cap under concurrency."""

from __future__ import annotations

import asyncio
import uuid

import grpc

from azotte.common.v1 import channel_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte.promotions.v1 import events_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.context import tenant_scope
from azotte_platform.convert import timestamp
from azotte_platform.errors import AzotteError
from azotte_platform.events.envelope import binary_headers, stream_name, subject_for
from azotte_platform.grpc.status import from_rpc_error
from azotte_promotions.domain.referrals import Conversion
from azotte_promotions.service_layer.referrals import SubscriptionMilestone, convert
from tests.helpers import eventually
from tests.integration.promotions.conftest import T0, Service
from tests.integration.promotions.promotions_support import rid

USD_500 = Money(currency_code="USD", amount_minor=500)
USD_300 = Money(currency_code="USD", amount_minor=300)


def program(cap: int | None = None) -> pb.ReferralProgram:
    rule = pb.ReferralRewardRule(
        referrer=pb.Reward(kind=pb.REWARD_KIND_CREDIT, amounts=[USD_500]),
        referred=pb.Reward(kind=pb.REWARD_KIND_CREDIT, amounts=[USD_300]),
    )
    return pb.ReferralProgram(enabled=True, rules=[rule], max_rewards_per_referrer=cap)


async def setup(service: Service, tenant: str, cap: int | None = None) -> str:
    """The program enabled in `tenant`, and ana's referral code."""
    metadata = (("x-azotte-tenant", tenant),)
    await service.stub.UpdateReferralProgram(
        pb.UpdateReferralProgramRequest(request_id=rid(), program=program(cap)), metadata=metadata
    )
    issued = await service.stub.IssueReferralCode(
        pb.IssueReferralCodeRequest(request_id=rid(), customer_id="ana"), metadata=metadata
    )
    return str(issued.referral_code.code)


async def attach(service: Service, tenant: str, code: str, referred: str) -> pb.Referral:
    answer = await service.stub.AttachReferral(
        pb.AttachReferralRequest(
            request_id=rid(),
            code=code,
            referred_customer_id=referred,
            subscription_id=f"sub-{referred}",
            plan_id="premium",
            storefront_id="us",
            channel=channel_pb2.CHANNEL_WEB,
        ),
        metadata=(("x-azotte-tenant", tenant),),
    )
    result: pb.Referral = answer.referral
    return result


async def publish_activated(service: Service, tenant: str, customer: str) -> None:
    subscription = lifecycle_pb2.Subscription(
        id=f"sub-{customer}",
        customer_id=customer,
        plan_id="premium",
        renewal_price=Money(currency_code="USD", amount_minor=999),
    )
    payload = lifecycle_events.SubscriptionEvent(subscription=subscription, occur_time=timestamp(T0))
    event_id = str(uuid.uuid4())
    headers = binary_headers(
        event_id=event_id,
        event_type="subscription.activated",
        source="azotte/lifecycle",
        tenant_id=tenant,
        time=T0,
        data_schema=payload.DESCRIPTOR.full_name,
    )
    await service.runtime.js.publish(
        subject_for("lifecycle", tenant, "subscription.activated"), payload.SerializeToString(), headers=headers
    )


async def test_a_conversion_from_lifecycles_stream_rewards_both_sides_once_and_publishes_it(service: Service):
    tenant = f"rf{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    code = await setup(service, tenant)
    referral = await attach(service, tenant, code.lower(), "bob")
    assert referral.state == pb.REFERRAL_STATE_PENDING and referral.referrer_customer_id == "ana"

    await publish_activated(service, tenant, "bob")
    await publish_activated(service, tenant, "bob")

    async def rewarded() -> pb.Referral:
        answer = await service.stub.GetReferral(pb.GetReferralRequest(referral_id=referral.id), metadata=metadata)
        assert answer.referral.state == pb.REFERRAL_STATE_REWARDED
        return answer.referral

    done = await eventually(rewarded)
    assert done.referrer_reward.amount == USD_500 and done.referred_reward.amount == USD_300
    js = service.runtime.js

    async def published() -> list[tuple[str, bytes]]:
        consumer = await js.pull_subscribe(f"azotte.{tenant}.promotions.referral.>", stream=stream_name("promotions"))
        try:
            messages = await consumer.fetch(3, timeout=2)
        finally:
            await consumer.unsubscribe()
        found = [(m.headers["ce-type"], m.data) for m in messages if m.headers]
        assert [t for t, _ in found] == ["referral.converted", "referral.rewarded", "referral.rewarded"]
        return found

    found = await eventually(published)
    sides = [events_pb2.ReferralRewarded.FromString(data) for _, data in found[1:]]
    assert [(s.side, s.customer_id, s.reward.amount.amount_minor) for s in sides] == [
        ("referrer", "ana", 500),
        ("referred", "bob", 300),
    ]
    assert sum(1 for customer, _, _ in service.credits.grants.values() if customer in ("ana", "bob")) == 2


async def test_the_referrers_cap_holds_under_concurrent_conversions(service: Service):
    tenant = f"rf{uuid.uuid4().hex[:10]}"
    code = await setup(service, tenant, cap=5)
    referred = [f"friend-{i}" for i in range(20)]
    for customer in referred:
        await attach(service, tenant, code, customer)

    async def conversion(customer: str) -> None:
        milestone = SubscriptionMilestone(customer, f"sub-{customer}", Conversion.FIRST_PAID_PERIOD, "USD", 999)
        with tenant_scope(tenant):
            uow = service.promotions.servicer.units.factory()
            async with uow:
                await convert(uow, service.credits, tenant, milestone)
                await uow.commit()

    await asyncio.gather(*(conversion(customer) for customer in referred))

    issued = await service.stub.IssueReferralCode(
        pb.IssueReferralCodeRequest(request_id=rid(), customer_id="ana"), metadata=(("x-azotte-tenant", tenant),)
    )
    assert issued.referral_code.rewarded_count == 5
    listed = await service.stub.ListReferrals(
        pb.ListReferralsRequest(page_size=100, filter="state = REWARDED"), metadata=(("x-azotte-tenant", tenant),)
    )
    capped = [r for r in listed.referrals if r.referrer_reward.skipped == "cap_reached"]
    assert len(listed.referrals) == 20 and len(capped) == 15


async def test_guards_answer_typed_errors(service: Service):
    tenant = f"rf{uuid.uuid4().hex[:10]}"
    code = await setup(service, tenant)
    service.people.fingerprints.update({"ana": ["fp-9"], "mallory": ["fp-9"]})

    async def refused(referred: str, with_code: str = code) -> AzotteError:
        try:
            await attach(service, tenant, with_code, referred)
        except grpc.aio.AioRpcError as error:
            return from_rpc_error(error)
        raise AssertionError("attached")

    assert (await refused("ana")).reason == "SELF_REFERRAL"
    mallory = await refused("mallory")
    assert mallory.reason == "SELF_REFERRAL" and mallory.metadata["match"] == "payment_method"
    assert (await refused("bob", "REFNOPE")).reason == "REFERRAL_CODE_NOT_FOUND"
