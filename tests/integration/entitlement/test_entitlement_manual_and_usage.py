"""Manual grants with audit, revocation, suspensions and quotas, through the gRPC API."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.entitlement.v1 import entitlement_pb2 as pb
from tests.helpers import eventually
from tests.integration.entitlement.conftest import Replica, World, subscription, ts, violated_fields


def manual(request_id: str = "grant-1", **fields: object) -> pb.CreateManualGrantRequest:
    values: dict[str, object] = {
        "request_id": request_id,
        "customer_id": "vip",
        "feature_key": "uhd_streaming",
        "kind": pb.FEATURE_KIND_BOOLEAN,
        "reason": "goodwill after outage",
        **fields,
    }
    return pb.CreateManualGrantRequest(**values)  # type: ignore[arg-type]


async def test_a_manual_grant_gives_access_with_its_audit_and_window(world: World, replica: Replica) -> None:
    until = world.clock.now() + timedelta(days=7)

    created = await replica.stub.CreateManualGrant(manual(valid_until=ts(until)), metadata=world.metadata("alice"))

    assert (created.grant.audit.actor, created.grant.audit.reason) == ("alice", "goodwill after outage")
    answer = await world.check(replica, "vip", "uhd_streaming")
    assert answer.allowed
    assert [(s.source, s.source_ref) for s in answer.sources] == [(pb.GRANT_SOURCE_MANUAL, "grant-1")]
    world.clock.set(until)
    assert (await world.check(replica, "vip", "uhd_streaming")).reason == pb.ACCESS_REASON_EXPIRED


async def test_manual_grants_are_idempotent_and_validated(world: World, replica: Replica) -> None:
    first = await replica.stub.CreateManualGrant(manual(), metadata=world.metadata())
    again = await replica.stub.CreateManualGrant(manual(), metadata=world.metadata())
    assert first == again
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await replica.stub.CreateManualGrant(manual(feature_key="hd_streaming"), metadata=world.metadata())
    assert reused.value.code() == grpc.StatusCode.ABORTED

    for bad, field in [
        (manual("g-2", reason=""), "reason"),
        (manual("g-3", kind=pb.FEATURE_KIND_UNSPECIFIED), "kind"),
        (manual("g-4", customer_id=""), "customer_id"),
        (manual("g-5", kind=pb.FEATURE_KIND_QUOTA, limit=-1), "limit"),
        (manual(""), "request_id"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await replica.stub.CreateManualGrant(bad, metadata=world.metadata())
        assert field in violated_fields(invalid.value)


async def test_revoking_needs_a_reason_and_only_applies_to_standing_grants(world: World, replica: Replica) -> None:
    grant = (await replica.stub.CreateManualGrant(manual(), metadata=world.metadata())).grant
    with pytest.raises(grpc.aio.AioRpcError) as no_reason:
        await replica.stub.RevokeGrant(
            pb.RevokeGrantRequest(request_id="r-0", grant_id=grant.grant_id), metadata=world.metadata()
        )
    assert no_reason.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    revoked = await replica.stub.RevokeGrant(
        pb.RevokeGrantRequest(request_id="r-1", grant_id=grant.grant_id, reason="granted by mistake"),
        metadata=world.metadata(),
    )

    assert revoked.grant.grant_id == grant.grant_id
    assert (await world.check(replica, "vip", "uhd_streaming")).reason == pb.ACCESS_REASON_NO_GRANT
    await world.publish_lifecycle("subscription.activated", subscription("sub-vip", "vip"))

    async def subscribed() -> list[pb.Entitlement]:
        listed = await replica.stub.ListEntitlements(
            pb.ListEntitlementsRequest(customer_id="vip"), metadata=world.metadata()
        )
        return [e for e in listed.entitlements if e.access.allowed]

    derived = (await eventually(subscribed))[0].grants[0]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await replica.stub.RevokeGrant(
            pb.RevokeGrantRequest(request_id="r-2", grant_id=derived.grant_id, reason="x"), metadata=world.metadata()
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_suspension_and_quota_are_reflected_in_checks(world: World, replica: Replica) -> None:
    await world.publish_lifecycle("subscription.activated", subscription("sub-ai", "coder"))

    async def quota() -> pb.CheckAccessResponse | None:
        answer = await world.check(replica, "coder", "ai_tokens")
        return answer if answer.allowed else None

    quota_answer = await eventually(quota)
    assert quota_answer is not None and quota_answer.remaining == 1000
    period = Timestamp()
    period.FromDatetime(world.clock.now())
    await replica.stub.RecordUsage(
        pb.RecordUsageRequest(
            request_id="u-1", customer_id="coder", feature_key="ai_tokens", used=1000, period_start_time=period
        ),
        metadata=world.metadata(),
    )
    exhausted = await world.check(replica, "coder", "ai_tokens")
    assert (exhausted.allowed, exhausted.reason, exhausted.used, exhausted.remaining) == (
        False,
        pb.ACCESS_REASON_QUOTA_EXHAUSTED,
        1000,
        0,
    )

    suspended = await replica.stub.SuspendFeature(
        pb.SuspendFeatureRequest(request_id="s-1", customer_id="coder", feature_key="hd_streaming", reason="abuse"),
        metadata=world.metadata(),
    )
    assert suspended.suspension.reason == "abuse"
    assert (await world.check(replica, "coder", "hd_streaming")).reason == pb.ACCESS_REASON_SUSPENDED

    await replica.stub.RestoreFeature(
        pb.RestoreFeatureRequest(request_id="s-2", customer_id="coder", feature_key="hd_streaming"),
        metadata=world.metadata(),
    )
    assert (await world.check(replica, "coder", "hd_streaming")).allowed


async def test_checks_reject_bad_input_naming_the_field(world: World, replica: Replica) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await replica.stub.CheckAccess(pb.CheckAccessRequest(customer_id="c"), metadata=world.metadata())
    assert violated_fields(invalid.value) == ["feature_key"]
    batch = await replica.stub.BatchCheckAccess(
        pb.BatchCheckAccessRequest(customer_id="nobody", feature_keys=["a", "b"]), metadata=world.metadata()
    )
    assert [(r.feature_key, r.reason) for r in batch.results] == [
        ("a", pb.ACCESS_REASON_NO_GRANT),
        ("b", pb.ACCESS_REASON_NO_GRANT),
    ]
