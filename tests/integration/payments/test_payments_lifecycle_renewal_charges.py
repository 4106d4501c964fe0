"""Lifecycle's renewal charges against the real payments service: one CreateCharges call per tenant,
each renewal charged once under its key, outcomes mapped for dunning."""

from __future__ import annotations

import uuid

from azotte.payments.v1 import payments_pb2 as P
from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_lifecycle.domain.dunning import ChargeOutcome, RenewalCharge
from azotte_lifecycle.ports import RenewalChargeRequest
from azotte_platform.context import tenant_scope
from azotte_platform.grpc.client import connect
from tests.integration.payments.payments_harness import Payments, lifecycle_subscription, storefront


def renewal(tenant: str, customer: str) -> RenewalChargeRequest:
    sub = lifecycle_subscription(tenant, customer)
    return RenewalChargeRequest(sub, RenewalCharge(sub.id, 2, 0, 1000, "EUR"))


async def test_renewals_of_several_tenants_are_charged_once_with_their_outcomes(
    payments: Payments, adapter: GrpcPayments
) -> None:
    tenants = [f"t{uuid.uuid4().hex[:12]}" for _ in range(2)]
    for tenant in tenants:
        payments.catalog.storefronts[(tenant, "de")] = storefront()
    tokens = ["tok_success", "tok_insufficient_funds", "tok_stolen_card"]
    requests = [renewal(t, await payments.add_customer(t, token)) for t in tenants for token in tokens]
    requests.append(renewal(tenants[0], f"cus_{uuid.uuid4().hex[:10]}"))  # no card: refused, asked again later
    expected = [ChargeOutcome.SUCCEEDED, ChargeOutcome.SOFT_DECLINE, ChargeOutcome.HARD_DECLINE] * 2 + [None]
    # NOTE: the adapter charges in the tenant of the request context, as lifecycle's scheduler calls it.
    for _ in range(2):
        outcomes: dict[int, ChargeOutcome | None] = {}
        for tenant in tenants:
            mine = [index for index, request in enumerate(requests) if request.subscription.tenant_id == tenant]
            with tenant_scope(tenant):
                answers = await adapter.charge_renewals([requests[index] for index in mine])
            outcomes.update(zip(mine, answers, strict=True))
        assert [outcomes[index] for index in range(len(requests))] == expected
    for request, outcome in zip(requests[:6], expected, strict=False):
        sub = request.subscription
        listed = await payments.call(sub.tenant_id, "ListCharges", P.ListChargesRequest(customer_id=sub.customer_id))
        assert [c.idempotency_key for c in listed.charges] == [request.charge.idempotency_key]
        assert await payments.capture_count(listed.charges[0]) == (1 if outcome is ChargeOutcome.SUCCEEDED else 0)


async def test_unreachable_payments_leaves_every_renewal_to_be_asked_again() -> None:
    channel = connect("127.0.0.1:1")
    try:
        outcomes = await GrpcPayments(channel).charge_renewals([renewal("t1", "cus_1"), renewal("t2", "cus_2")])
    finally:
        await channel.close(None)
    assert outcomes == [None, None]
