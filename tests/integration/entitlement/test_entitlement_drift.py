"""Drift repair: grants corrupted in the database are put back to what lifecycle state and the catalog say."""

from __future__ import annotations

import sqlalchemy as sa
from nats.js.api import DeliverPolicy

from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte.entitlement.v1 import events_pb2
from azotte_entitlement.adapters.tables import grants
from azotte_entitlement.domain.grants import GrantKey, GrantSource
from azotte_platform.db.tables import inbox
from azotte_platform.events.envelope import subject_for
from tests.helpers import eventually
from tests.integration.entitlement.conftest import START, Replica, World, subscription


async def subscribed(world: World, replica: Replica) -> None:
    await world.publish_lifecycle("subscription.activated", subscription("sub-a", "cust-a", plan_id="basic"))
    await world.publish_lifecycle("subscription.activated", subscription("sub-b", "cust-b", plan_id="premium"))

    async def handled() -> bool:
        async with replica.runtime.engine.connect() as connection:
            count = await connection.scalar(sa.select(sa.func.count()).select_from(inbox))
        return count == 2

    await eventually(handled)


async def corrupt(replica: Replica, tenant: str) -> None:
    """Delete a grant, change a limit, insert a grant no subscription gives."""
    ghost = GrantKey(tenant, "cust-c", "uhd_streaming", GrantSource.SUBSCRIPTION, "sub-ghost")
    async with replica.runtime.engine.begin() as connection:
        await connection.execute(
            sa.delete(grants).where(grants.c.customer_id == "cust-a", grants.c.feature_key == "hd_streaming")
        )
        await connection.execute(
            sa.update(grants)
            .where(grants.c.customer_id == "cust-b", grants.c.feature_key == "ai_tokens")
            .values(limit_value=1)
        )
        await connection.execute(
            grants.insert().values(
                tenant_id=tenant,
                grant_id=ghost.grant_id,
                customer_id="cust-c",
                feature_key="uhd_streaming",
                source="subscription",
                source_ref="sub-ghost",
                kind="boolean",
                valid_from=START,
            )
        )


async def answers(world: World, replica: Replica) -> tuple[bool, int, bool]:
    return (
        (await world.check(replica, "cust-a", "hd_streaming")).allowed,
        (await world.check(replica, "cust-b", "ai_tokens")).limit,
        (await world.check(replica, "cust-c", "uhd_streaming")).allowed,
    )


async def reconcile(world: World, replica: Replica, request_id: str, validate_only: bool = False) -> pb.DriftReport:
    response = await replica.stub.ReconcileDrift(
        pb.ReconcileDriftRequest(request_id=request_id, validate_only=validate_only), metadata=world.metadata()
    )
    return response.report


async def test_reconcile_drift_repairs_corrupted_grants(world: World, replica: Replica) -> None:
    await subscribed(world, replica)

    async def served() -> bool:
        # NOTE: the inbox row is visible the moment the handler commits, the projection a moment later.
        return await answers(world, replica) == (True, 5000, False)

    await eventually(served)
    await corrupt(replica, world.tenant)
    await world.stop_replica(replica)
    replica = await world.start_replica()
    assert await answers(world, replica) == (False, 1, True), "the restarted replica serves the corrupted grants"

    preview = await reconcile(world, replica, "preview", validate_only=True)
    assert (preview.granted_count, preview.changed_count, preview.revoked_count) == (1, 1, 1)
    assert await answers(world, replica) == (False, 1, True), "validate_only changes nothing"

    report = await reconcile(world, replica, "repair")

    assert (report.granted_count, report.changed_count, report.revoked_count) == (1, 1, 1)
    assert report.checked_customer_count == 3
    assert await answers(world, replica) == (True, 5000, False)
    again = await reconcile(world, replica, "repair-again")
    assert (again.granted_count, again.changed_count, again.revoked_count) == (0, 0, 0)

    received = await world.js.subscribe(
        subject_for("entitlement", world.tenant, "entitlement.drift_corrected"), deliver_policy=DeliverPolicy.ALL
    )
    message = await received.next_msg(timeout=10)
    summary = events_pb2.EntitlementDriftCorrected.FromString(message.data)
    assert (summary.report.granted_count, summary.report.changed_count, summary.report.revoked_count) == (1, 1, 1)
    assert [g.customer_id for g in summary.revoked] == ["cust-c"]
    await received.unsubscribe()


async def test_the_scheduled_job_repairs_drift_by_itself(world: World, replica: Replica) -> None:
    await subscribed(world, replica)
    await world.stop_replica(replica)
    await corrupt(await world.start_replica(), world.tenant)
    scheduled = await world.start_replica(reconcile_interval_seconds=0.2)

    async def repaired() -> bool:
        async with scheduled.runtime.engine.connect() as connection:
            rows = (await connection.execute(sa.select(grants.c.customer_id, grants.c.limit_value))).all()
        return sorted(rows, key=str) == sorted(
            [("cust-a", None), ("cust-a", 1000), ("cust-b", None), ("cust-b", None), ("cust-b", 5000)], key=str
        )

    await eventually(repaired)
    assert await answers(world, scheduled) == (True, 5000, False)


async def test_reconcile_picks_up_catalog_changes(world: World, replica: Replica) -> None:
    await subscribed(world, replica)
    world.catalog.plans["basic"] = [("hd_streaming", None), ("ai_tokens", 2000), ("uhd_streaming", None)]

    report = await reconcile(world, replica, "catalog-changed")

    assert (report.granted_count, report.changed_count, report.revoked_count) == (1, 1, 0)
    assert (await world.check(replica, "cust-a", "ai_tokens")).limit == 2000
    assert (await world.check(replica, "cust-a", "uhd_streaming")).allowed
