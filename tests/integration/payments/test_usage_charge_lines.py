"""A charge's lines on real PostgreSQL: kept with the charge, read back with it, and guarded by its key."""

from __future__ import annotations

from azotte.payments.v1 import payments_pb2 as P
from tests.integration.payments.payments_harness import Payments, charge_request, eur


def lines(usage_quantity: str) -> list[P.ChargeLine]:
    return [
        P.ChargeLine(kind=P.CHARGE_LINE_KIND_RECURRING, description="pro, period 2", amount=eur(1000)),
        P.ChargeLine(
            kind=P.CHARGE_LINE_KIND_USAGE,
            description="tokens",
            meter_key="tokens",
            dimensions={"model": "large"},
            quantity=usage_quantity,
            amount=eur(4150),
        ),
        P.ChargeLine(kind=P.CHARGE_LINE_KIND_USAGE_CREDIT, description="credit", amount=eur(-1000)),
    ]


async def test_a_charge_keeps_its_lines_and_its_key_refuses_other_lines(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    charge = await payments.charge(tenant, customer, 4150, key="renewal-lines", lines=lines("6"))
    assert charge.status == P.CHARGE_STATUS_SUCCEEDED
    read = (await payments.call(tenant, "GetCharge", P.GetChargeRequest(charge_id=charge.id))).charge
    assert list(read.lines) == lines("6")
    again = await payments.charge(tenant, customer, 4150, key="renewal-lines", lines=lines("6"))
    assert again.id == charge.id
    other = charge_request(customer, 4150, key="renewal-lines", lines=lines("7"))
    (refused,) = await payments.charge_many(tenant, [other])
    assert refused.error.reason == "IDEMPOTENCY_KEY_REUSED"


async def test_lines_that_do_not_add_up_are_refused_naming_the_field(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    (refused,) = await payments.charge_many(tenant, [charge_request(customer, 5150, lines=lines("6"))])
    assert (refused.error.code, refused.error.field) == ("INVALID_ARGUMENT", "lines")
