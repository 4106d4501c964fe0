"""A renewal that a promotion discounts, charged by lifecycle's payments adapter against the real payments
service: the charge carries the discount and the revenue ledger reports it on its discount line."""

from __future__ import annotations

from azotte.payments.v1 import payments_pb2 as P
from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_lifecycle.domain.dunning import ChargeOutcome, RenewalCharge
from azotte_lifecycle.ports import RenewalChargeRequest
from azotte_platform.context import tenant_scope
from tests.integration.payments.payments_harness import Payments, lifecycle_subscription


async def test_a_discounted_renewal_records_gross_discount_and_net(
    payments: Payments, tenant: str, adapter: GrpcPayments
) -> None:
    sub = lifecycle_subscription(tenant, await payments.add_customer(tenant))
    charge = RenewalCharge(sub.id, 2, 0, 952, "EUR", discount_minor=238)  # 20 % off 1190, tax included
    with tenant_scope(tenant):
        assert await adapter.charge_renewals([RenewalChargeRequest(sub, charge)]) == [ChargeOutcome.SUCCEEDED]
    (charged,) = (await payments.call(tenant, "ListCharges", P.ListChargesRequest(customer_id=sub.customer_id))).charges
    assert (charged.gross.amount_minor, charged.discount.amount_minor) == (952, 238)
    report = await payments.call(
        tenant,
        "GetRevenueReport",
        P.GetRevenueReportRequest(period_from="2000-01", period_to="2099-12", group_by=[P.REVENUE_DIMENSION_PLAN]),
    )
    (row,) = report.rows
    assert (row.plan_id, row.discounts.amount_minor, row.net_revenue.amount_minor) == (sub.plan_id, 238, 800)
