"""The revenue ledger balances after a random mix of operations, and the report agrees with it."""

from __future__ import annotations

import random
import uuid

import grpc

from azotte.payments.v1 import payments_pb2 as P
from tests.integration.payments.payments_harness import Payments, eur, storefront

TOKENS = ["tok_success"] * 5 + ["tok_insufficient_funds", "tok_stolen_card", "tok_processing_error"]


async def test_random_operations_keep_every_currency_balanced(payments: Payments, tenant: str) -> None:
    rng = random.Random(20260315)
    payments.catalog.storefronts[(tenant, "us")] = storefront("us", currency="USD", country="US", inclusive=False)
    customers = [await payments.add_customer(tenant, rng.choice(TOKENS)) for _ in range(6)]
    charged: list[P.Charge] = []
    expected_net = {"EUR": 0, "USD": 0}
    for _ in range(40):
        operation = rng.choice(["charge", "charge", "refund", "credit_refund", "goodwill"])
        customer = rng.choice(customers)
        if operation == "charge":
            currency, sf = rng.choice([("EUR", "de"), ("USD", "us")])
            charge = await payments.charge(
                tenant, customer, money=eur(rng.randint(1, 5000), currency), storefront_id=sf, plan_id=rng.choice("ab")
            )
            if charge.status == P.CHARGE_STATUS_SUCCEEDED:
                charged.append(charge)
                expected_net[currency] += charge.net.amount_minor
        elif operation in ("refund", "credit_refund") and charged:
            charge = rng.choice(charged)
            amount = rng.randint(1, max(1, charge.gross.amount_minor // 2))
            request = P.RefundChargeRequest(
                request_id=uuid.uuid4().hex,
                charge_id=charge.id,
                amount=eur(amount, charge.gross.currency_code),
                to_credit=operation == "credit_refund",
            )
            try:
                response = await payments.call(tenant, "RefundCharge", request)
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
                continue
            refund = response.refund
            expected_net[charge.gross.currency_code] -= refund.amount.amount_minor - refund.tax.amount_minor
        elif operation == "goodwill":
            amount = rng.randint(1, 500)
            await payments.call(
                tenant,
                "GrantCredit",
                P.GrantCreditRequest(request_id=uuid.uuid4().hex, customer_id=customer, amount=eur(amount)),
            )
            expected_net["EUR"] -= amount
    ledger = await payments.ledger(tenant)
    assert ledger.currencies and all(currency.total_minor == 0 for currency in ledger.currencies)
    report = await payments.call(
        tenant, "GetRevenueReport", P.GetRevenueReportRequest(period_from="2026-01", period_to="2026-12")
    )
    net = {row.net_revenue.currency_code: row.net_revenue.amount_minor for row in report.rows}
    assert net == {currency: amount for currency, amount in expected_net.items() if currency in net}


async def test_report_splits_by_storefront_channel_and_plan(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    await payments.charge(tenant, customer, 1190, plan_id="pro")
    await payments.charge(tenant, customer, 595, plan_id="basic", discount=eur(100))
    report = await payments.call(
        tenant,
        "GetRevenueReport",
        P.GetRevenueReportRequest(
            period_from="2026-03",
            period_to="2026-03",
            group_by=[P.REVENUE_DIMENSION_PERIOD, P.REVENUE_DIMENSION_STOREFRONT, P.REVENUE_DIMENSION_PLAN],
        ),
    )
    rows = {row.plan_id: row for row in report.rows}
    assert rows["pro"].net_revenue.amount_minor == 1000 and rows["pro"].tax.amount_minor == 190
    assert rows["basic"].gross_sales.amount_minor == 600 and rows["basic"].discounts.amount_minor == 100
    assert {row.period for row in report.rows} == {"2026-03"} and {row.storefront_id for row in report.rows} == {"de"}
