"""Disputes from PSP notices: recorded once, in the ledger (amount and fee), announced when opened and closed."""

from __future__ import annotations

import uuid

import pytest

from azotte.payments.v1 import events_pb2
from azotte_payments.domain.dispute import DisputeStatus
from azotte_payments.domain.psp_notice import DisputeNotice
from azotte_payments.errors import DisputedPaymentNotFound
from azotte_payments.service_layer.charge_batch import CreateCharge
from azotte_payments.service_layer.psp_notices import apply_notice
from tests.unit.payments.fakes import TENANT, FakePayments
from tests.unit.payments.test_payments_use_cases_charges import add_customer, balances


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments.build()


async def paid_charge(payments: FakePayments) -> tuple[str, str]:
    """(charge id, its PSP reference) of a succeeded charge of 1190 EUR for subscription sub_1."""
    customer = await add_customer(payments)
    command = CreateCharge(uuid.uuid4().hex, customer, "de", "CHANNEL_WEB", "pro", 1190, "EUR", subscription_id="sub_1")
    charge = await payments.desk.create(TENANT, command)
    assert charge.psp_reference is not None
    return charge.charge_id, charge.psp_reference


def notice(reference: str, status: str = "needs_response") -> DisputeNotice:
    return DisputeNotice("dp_1", reference, "EUR", 1190, 1500, "fraudulent", status in ("won", "lost"), status == "won")


async def apply(payments: FakePayments, given: DisputeNotice) -> None:
    async with payments.uow() as uow:
        await apply_notice(uow, await payments.registry.for_tenant(TENANT), TENANT, "stripe_like", given)
        await uow.commit()


async def test_an_opened_dispute_withdraws_amount_and_fee_once(payments: FakePayments) -> None:
    charge_id, reference = await paid_charge(payments)
    before = (await balances(payments))["EUR"]["psp_clearing"]
    await apply(payments, notice(reference))
    await apply(payments, notice(reference))  # the PSP sends another event about the same dispute

    (dispute,) = payments.state.disputes.values()
    assert (dispute.charge_id, dispute.subscription_id, dispute.status) == (charge_id, "sub_1", DisputeStatus.OPEN)
    ledger = (await balances(payments))["EUR"]
    assert (ledger["disputes"], ledger["dispute_fees"], before - ledger["psp_clearing"]) == (1190, 1500, 2690)
    opened = payments.published("payment.dispute_opened")
    assert len(opened) == 1 and isinstance(opened[0].payload, events_pb2.DisputeOpened)
    assert opened[0].payload.dispute.fee.amount_minor == 1500
    assert opened[0].about == dispute.customer_id


@pytest.mark.parametrize(("status", "disputes_left"), [("won", 0), ("lost", 1190)])
async def test_a_closed_dispute_gives_the_amount_back_only_when_won(
    payments: FakePayments, status: str, disputes_left: int
) -> None:
    _, reference = await paid_charge(payments)
    await apply(payments, notice(reference))
    await apply(payments, notice(reference, status))
    await apply(payments, notice(reference, status))

    (dispute,) = payments.state.disputes.values()
    assert dispute.status is DisputeStatus(status) and dispute.closed_at is not None
    ledger = (await balances(payments))["EUR"]
    assert (ledger.get("disputes", 0), ledger["dispute_fees"]) == (disputes_left, 1500)
    assert sum(ledger.values()) == 0
    closed = payments.published("payment.dispute_closed")
    assert [
        event.payload.dispute.status for event in closed if isinstance(event.payload, events_pb2.DisputeClosed)
    ] == [status]


async def test_a_close_arriving_first_opens_and_closes_the_dispute(payments: FakePayments) -> None:
    _, reference = await paid_charge(payments)
    await apply(payments, notice(reference, "lost"))

    (dispute,) = payments.state.disputes.values()
    assert dispute.status is DisputeStatus.LOST
    assert [e.type for e in payments.state.published if e.type.startswith("payment.dispute")] == [
        "payment.dispute_opened",
        "payment.dispute_closed",
    ]


async def test_a_dispute_of_a_payment_not_recorded_is_refused_for_redelivery(payments: FakePayments) -> None:
    with pytest.raises(DisputedPaymentNotFound):
        await apply(payments, notice("pi_unknown"))
    assert payments.state.disputes == {} and payments.published("payment.dispute_opened") == []
