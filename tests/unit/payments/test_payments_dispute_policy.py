"""The tenant's dispute access policy: set through the API, decided once per dispute when it opens, and carried by
the dispute events for the consumer that acts on access."""

from __future__ import annotations

from typing import Any

import pytest

from azotte.payments.v1 import disputes_pb2 as D
from azotte.payments.v1 import events_pb2
from azotte_payments.domain.dispute_policy import DisputeAccess
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument
from tests.unit.payments.fakes import TENANT, FakePayments
from tests.unit.payments.test_payments_disputes import apply, notice, paid_charge

NO_CONTEXT: Any = None


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments.build()


async def set_policy(
    payments: FakePayments, access: D.DisputeAccess.ValueType, request_id: str
) -> D.UpdateDisputePolicyResponse:
    request = D.UpdateDisputePolicyRequest(request_id=request_id, policy=D.DisputePolicy(on_dispute_opened=access))
    with tenant_scope(TENANT):
        return await payments.servicer.UpdateDisputePolicy(request, NO_CONTEXT)


async def test_a_tenant_without_a_policy_keeps_access(payments: FakePayments) -> None:
    with tenant_scope(TENANT):
        answer = await payments.servicer.GetDisputePolicy(D.GetDisputePolicyRequest(), NO_CONTEXT)
    _, reference = await paid_charge(payments)
    await apply(payments, notice(reference))

    assert answer.policy.on_dispute_opened == D.DISPUTE_ACCESS_KEEP and not answer.policy.HasField("update_time")
    (opened,) = payments.published("payment.dispute_opened")
    assert isinstance(opened.payload, events_pb2.DisputeOpened)
    assert opened.payload.dispute.access == D.DISPUTE_ACCESS_KEEP


async def test_the_policy_when_a_dispute_opens_goes_with_it_until_it_closes(payments: FakePayments) -> None:
    updated = await set_policy(payments, D.DISPUTE_ACCESS_SUSPEND, "r1")
    _, reference = await paid_charge(payments)
    await apply(payments, notice(reference))
    await set_policy(payments, D.DISPUTE_ACCESS_REVOKE, "r2")  # too late for the open dispute
    await apply(payments, notice(reference, "won"))

    assert updated.policy.on_dispute_opened == D.DISPUTE_ACCESS_SUSPEND and updated.policy.HasField("update_time")
    (dispute,) = payments.state.disputes.values()
    assert dispute.access is DisputeAccess.SUSPEND
    events = payments.published("payment.dispute_opened") + payments.published("payment.dispute_closed")
    assert [(e.payload.dispute.status, e.payload.dispute.access) for e in events] == [  # type: ignore[attr-defined]
        ("open", D.DISPUTE_ACCESS_SUSPEND),
        ("won", D.DISPUTE_ACCESS_SUSPEND),
    ]
    with tenant_scope(TENANT):
        current = await payments.servicer.GetDisputePolicy(D.GetDisputePolicyRequest(), NO_CONTEXT)
    assert current.policy.on_dispute_opened == D.DISPUTE_ACCESS_REVOKE


async def test_a_policy_is_set_once_per_request_id(payments: FakePayments) -> None:
    first = await set_policy(payments, D.DISPUTE_ACCESS_SUSPEND, "same")
    retried = await set_policy(payments, D.DISPUTE_ACCESS_SUSPEND, "same")

    assert retried == first


@pytest.mark.parametrize("access", [D.DISPUTE_ACCESS_UNSPECIFIED, D.DisputeAccess.ValueType(99)])
async def test_an_unspecified_or_unknown_access_is_refused_naming_the_field(
    payments: FakePayments, access: D.DisputeAccess.ValueType
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await set_policy(payments, access, "r1")

    assert refused.value.violations[0].field == "policy.on_dispute_opened"
    assert payments.state.dispute_policies == {}
