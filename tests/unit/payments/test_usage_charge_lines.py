"""A charge's lines: a renewal's recurring price and the usage it bills in arrears, validated against the amount,
kept with the charge, and part of what its idempotency key guards."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from azotte.payments.v1 import payments_pb2 as P
from azotte_payments.adapters import proto
from azotte_payments.domain.charge_lines import ChargeLine, LineKind
from azotte_payments.domain.payment_method import PaymentMethodType
from azotte_payments.service_layer import payment_methods
from azotte_payments.service_layer.charge_batch import CreateCharge
from azotte_platform.errors import InvalidArgument
from tests.unit.payments.fakes import SUCCESS, TENANT, FakePayments

RECURRING = ChargeLine(LineKind.RECURRING, "Plan pro", 999, "EUR")
USAGE = ChargeLine(LineKind.USAGE, "tokens", 4150, "EUR", "tokens", (("model", "large"),), "6")
CREDIT = ChargeLine(LineKind.USAGE_CREDIT, "Paid from prepaid credit", -1000, "EUR")


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments.build()


async def customer_with_card(payments: FakePayments) -> str:
    customer = f"cus_{uuid.uuid4().hex[:8]}"
    command = payment_methods.AddPaymentMethod(customer, PaymentMethodType.CARD, SUCCESS, "visa", "4242")
    async with payments.uow() as uow:
        await payment_methods.add_payment_method(uow, TENANT, command)
        await uow.commit()
    return customer


def command(customer: str, amount: int, lines: tuple[ChargeLine, ...], key: str = "", **fields: Any) -> CreateCharge:
    return CreateCharge(
        key or uuid.uuid4().hex, customer, "de", "CHANNEL_WEB", "pro", amount, "EUR", lines=lines, **fields
    )


async def test_a_renewal_with_usage_is_one_charge_with_its_lines(payments: FakePayments) -> None:
    customer = await customer_with_card(payments)
    charge = await payments.desk.create(TENANT, command(customer, 4149, (RECURRING, USAGE, CREDIT)))
    assert charge.amounts.gross_minor == 4149
    assert [request.amount_minor for request in payments.psps["stripe_like"].charges] == [4149]
    message = proto.charge_to_pb(charge)
    assert [(line.kind, line.amount.amount_minor) for line in message.lines] == [
        (P.CHARGE_LINE_KIND_RECURRING, 999),
        (P.CHARGE_LINE_KIND_USAGE, 4150),
        (P.CHARGE_LINE_KIND_USAGE_CREDIT, -1000),
    ]
    assert (message.lines[1].meter_key, dict(message.lines[1].dimensions), message.lines[1].quantity) == (
        "tokens",
        {"model": "large"},
        "6",
    )


async def test_the_same_key_with_other_lines_is_refused(payments: FakePayments) -> None:
    customer = await customer_with_card(payments)
    first = await payments.desk.create(TENANT, command(customer, 5149, (RECURRING, USAGE), key="renewal-1"))
    again = await payments.desk.create(TENANT, command(customer, 5149, (RECURRING, USAGE), key="renewal-1"))
    assert again.charge_id == first.charge_id
    other = (RECURRING, ChargeLine(LineKind.USAGE, "tokens", 4150, "EUR", "tokens", (), "7"))
    answers = await payments.desk.create_many(TENANT, [command(customer, 5149, other, key="renewal-1")])
    assert getattr(answers[0], "reason", "") == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ((RECURRING, USAGE), "lines"),
        ((ChargeLine(LineKind.UNSPECIFIED, "", 999, "EUR"),), "lines[0].kind"),
        ((ChargeLine(LineKind.RECURRING, "", 999, "USD"),), "lines[0].amount.currency_code"),
        ((ChargeLine(LineKind.USAGE, "", 999, "EUR", quantity="lots"),), "lines[0].quantity"),
        ((ChargeLine(LineKind.RECURRING, "x" * 501, 999, "EUR"),), "lines[0].description"),
        ((ChargeLine(LineKind.DISCOUNT, "", 999, "EUR"),), "lines[0].amount.amount_minor"),
    ],
)
def test_lines_that_do_not_make_the_amount_are_refused_naming_the_field(
    lines: tuple[ChargeLine, ...], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        command("cus_1", 999, lines).validate()
    assert refused.value.violations[0].field == field


def test_lines_read_from_a_request_keep_their_content() -> None:
    message = P.CreateChargeRequest()
    line = message.lines.add(kind=P.CHARGE_LINE_KIND_USAGE, meter_key="tokens", quantity="6")
    line.dimensions["model"] = "large"
    line.amount.amount_minor, line.amount.currency_code = 4150, "EUR"
    message.lines.add(kind=99)
    usage, unknown = proto.charge_lines_from_pb(message.lines)
    assert usage == ChargeLine(LineKind.USAGE, "", 4150, "EUR", "tokens", (("model", "large"),), "6")
    assert unknown.kind is LineKind.UNSPECIFIED
