"""Payments' disputes through entitlement: the tenant's policy carried by the dispute suspends the disputed
subscription's features (checks answer `suspended`); a won SUSPEND dispute restores them, a REVOKE one does not,
KEEP changes nothing, and a suspension made for another reason stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte.payments.v1 import disputes_pb2 as D
from azotte.payments.v1 import events_pb2
from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import PlanFeature, SubscriptionSnapshot, subscription_corrections
from azotte_entitlement.domain.grants import FeatureKind
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.entrypoints.dispute_consumer import DisputeEventHandler
from azotte_entitlement.service_layer import usage_controls
from azotte_platform.clock import FixedClock
from azotte_platform.context import tenant_scope
from azotte_platform.enums import SubscriptionState
from azotte_platform.events.envelope import ReceivedEvent
from tests.unit.entitlement.fakes import FakeEntitlementUnitOfWork

START = datetime(2026, 3, 1, tzinfo=UTC)
NOW = START + timedelta(days=2)
FEATURES = ("hd", "live-tv")


async def subscribed() -> tuple[AccessProjection, FakeEntitlementUnitOfWork]:
    """cust-1 subscribed (sub-1) to a plan of two features, cust-2 to the same plan (sub-2)."""
    projection, uow = AccessProjection(), FakeEntitlementUnitOfWork(FixedClock(NOW))
    features = tuple(PlanFeature(key, FeatureKind.BOOLEAN) for key in FEATURES)
    for subscription, customer in (("sub-1", "cust-1"), ("sub-2", "cust-2")):
        snapshot = SubscriptionSnapshot(
            "t1", subscription, customer, SubscriptionState.ACTIVE, False, START, START + timedelta(days=30), features
        )
        corrections = subscription_corrections(snapshot, None, [], revoked=False)
        projection.apply(corrections)
        await uow.grants.apply(corrections)
    return projection, uow


def dispute_event(
    opened: bool, access: D.DisputeAccess.ValueType, status: str = "open", subscription: str = "sub-1"
) -> ReceivedEvent:
    dispute = events_pb2.Dispute(
        id="dp_1", customer_id="cust-1", subscription_id=subscription, charge_id="ch_1", status=status, access=access
    )
    kind = "payment.dispute_opened" if opened else "payment.dispute_closed"
    payload = events_pb2.DisputeOpened(dispute=dispute) if opened else events_pb2.DisputeClosed(dispute=dispute)
    return ReceivedEvent(f"ev-{kind}", kind, "azotte/payments", "t1", NOW, "", "", payload.SerializeToString(), {})


async def handle(uow: FakeEntitlementUnitOfWork, projection: AccessProjection, event: ReceivedEvent) -> None:
    with tenant_scope("t1"):
        async with uow:
            await DisputeEventHandler(projection)(uow, event)
            await uow.commit()


def access(projection: AccessProjection, customer: str = "cust-1") -> list[AccessReason | None]:
    return [
        None if (decision := projection.check("t1", customer, feature, NOW)).allowed else decision.reason
        for feature in FEATURES
    ]


async def test_a_suspend_policy_suspends_the_subscription_until_the_dispute_is_won() -> None:
    projection, uow = await subscribed()
    await handle(uow, projection, dispute_event(True, D.DISPUTE_ACCESS_SUSPEND))
    assert access(projection) == [AccessReason.SUSPENDED, AccessReason.SUSPENDED]
    assert access(projection, "cust-2") == [None, None]  # another customer's subscription is untouched

    await handle(uow, projection, dispute_event(False, D.DISPUTE_ACCESS_SUSPEND, "won"))
    assert access(projection) == [None, None]


@pytest.mark.parametrize(("policy", "outcome"), [(D.DISPUTE_ACCESS_SUSPEND, "lost"), (D.DISPUTE_ACCESS_REVOKE, "won")])
async def test_a_lost_dispute_or_a_revoke_policy_keeps_access_withdrawn(
    policy: D.DisputeAccess.ValueType, outcome: str
) -> None:
    projection, uow = await subscribed()
    await handle(uow, projection, dispute_event(True, policy))
    await handle(uow, projection, dispute_event(False, policy, outcome))

    assert access(projection) == [AccessReason.SUSPENDED, AccessReason.SUSPENDED]


async def test_a_keep_policy_changes_nothing() -> None:
    projection, uow = await subscribed()
    await handle(uow, projection, dispute_event(True, D.DISPUTE_ACCESS_KEEP))

    assert access(projection) == [None, None] and uow.published == []


async def test_a_won_dispute_lifts_only_its_own_suspensions() -> None:
    projection, uow = await subscribed()
    with tenant_scope("t1"):
        async with uow:
            await usage_controls.suspend_feature(uow, projection, "t1", "cust-1", "hd", "abuse: ticket 42")
            await uow.commit()
    await handle(uow, projection, dispute_event(True, D.DISPUTE_ACCESS_SUSPEND))
    await handle(uow, projection, dispute_event(False, D.DISPUTE_ACCESS_SUSPEND, "won"))

    assert access(projection) == [AccessReason.SUSPENDED, None]
