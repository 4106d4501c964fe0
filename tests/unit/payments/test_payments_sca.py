"""Strong Customer Authentication: a renewal the issuer wants authenticated fails softly naming why, succeeds once
the customer authenticates, and the next retry of its period is answered by it instead of charging again."""

from __future__ import annotations

import uuid

import pytest

from azotte.payments.v1 import events_pb2, payments_pb2
from azotte_lifecycle.adapters.payments import normalize
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_payments.domain.charge import ChargeStatus
from azotte_payments.domain.declines import DeclineReason, Outcome
from azotte_payments.domain.psp_notice import PaymentAuthenticated
from azotte_payments.service_layer import credits
from azotte_payments.service_layer.charge_batch import CreateCharge
from azotte_payments.service_layer.psp_notices import apply_notice
from tests.unit.payments.fakes import AUTHENTICATION_REQUIRED, TENANT, FakePayments
from tests.unit.payments.test_payments_use_cases_charges import add_customer, balances


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments.build()


def renewal(customer: str, attempt: int, amount: int = 1190) -> CreateCharge:
    key = f"renewal:sub_1:3:{attempt}:{uuid.uuid4().hex[:4]}"
    return CreateCharge(
        key, customer, "de", "CHANNEL_WEB", "pro", amount, "EUR", subscription_id="sub_1", period_key="3"
    )


async def authenticated(payments: FakePayments, reference: str) -> None:
    async with payments.uow() as uow:
        psps = await payments.registry.for_tenant(TENANT)
        await apply_notice(uow, psps, TENANT, "stripe_like", PaymentAuthenticated(reference))
        await uow.commit()


async def test_a_renewal_needing_authentication_recovers_when_the_customer_authenticates(
    payments: FakePayments,
) -> None:
    customer = await add_customer(payments, AUTHENTICATION_REQUIRED)
    declined = await payments.desk.create(TENANT, renewal(customer, 1))
    assert (declined.status, declined.outcome) == (ChargeStatus.FAILED, Outcome.SOFT_DECLINE)
    assert declined.decline is not None and declined.decline.reason is DeclineReason.AUTHENTICATION_REQUIRED
    assert payments.psps["stripe_like"].charges[0].off_session  # Azotte charged without the customer
    failed = payments.published("payment.failed")[0].payload
    assert isinstance(failed, events_pb2.PaymentFailed)
    assert failed.charge.attempts[0].client_secret == declined.attempts[0].client_secret != ""
    reference = declined.attempts[0].psp_reference or ""

    await authenticated(payments, reference)
    await authenticated(payments, reference)  # a redelivered or second success changes nothing more

    async with payments.uow() as uow:
        recovered = (await uow.charges(TENANT).get(declined.charge_id)).charge
    assert (recovered.status, recovered.psp_reference) == (ChargeStatus.SUCCEEDED, reference)
    assert len(payments.published("payment.succeeded")) == 1
    assert (await balances(payments))["EUR"]["gross_sales"] == -1000

    retry = await payments.desk.create(TENANT, renewal(customer, 2))  # the dunning retry of the same period
    assert retry.charge_id == declined.charge_id and retry.status is ChargeStatus.SUCCEEDED
    assert len(payments.psps["stripe_like"].charges) == 1  # never charged twice


async def test_a_period_already_paid_still_takes_a_charge_of_another_amount(payments: FakePayments) -> None:
    customer = await add_customer(payments)
    paid = await payments.desk.create(TENANT, renewal(customer, 1))
    prorated = await payments.desk.create(TENANT, renewal(customer, 2, amount=400))  # e.g. a plan change
    assert paid.status is prorated.status is ChargeStatus.SUCCEEDED
    assert prorated.charge_id != paid.charge_id and len(payments.psps["stripe_like"].charges) == 2


async def test_authentication_of_a_payment_that_never_waited_changes_nothing(payments: FakePayments) -> None:
    customer = await add_customer(payments)
    paid = await payments.desk.create(TENANT, renewal(customer, 1))
    await authenticated(payments, paid.psp_reference or "")
    await authenticated(payments, "pi_unknown")
    assert len(payments.published("payment.succeeded")) == 1


def test_lifecycle_reads_an_authentication_required_decline_as_its_own_dunning_outcome() -> None:
    declined = payments_pb2.Charge(
        status=payments_pb2.CHARGE_STATUS_FAILED,
        outcome=payments_pb2.DECLINE_OUTCOME_SOFT_DECLINE,
        decline=payments_pb2.Decline(reason="AUTHENTICATION_REQUIRED"),
    )
    other = payments_pb2.Charge(
        status=payments_pb2.CHARGE_STATUS_FAILED,
        outcome=payments_pb2.DECLINE_OUTCOME_SOFT_DECLINE,
        decline=payments_pb2.Decline(reason="INSUFFICIENT_FUNDS"),
    )
    assert normalize(declined) is ChargeOutcome.AUTHENTICATION_REQUIRED
    assert normalize(other) is ChargeOutcome.SOFT_DECLINE


async def test_a_capture_for_a_charge_that_gave_its_credit_back_is_refunded(payments: FakePayments) -> None:
    customer = await add_customer(payments, AUTHENTICATION_REQUIRED)
    async with payments.uow() as uow:
        await credits.grant_credit(uow, TENANT, credits.GrantCredit(customer, 190, "EUR", "goodwill"))
        await uow.commit()
    declined = await payments.desk.create(TENANT, renewal(customer, 1))
    assert declined.status is ChargeStatus.FAILED and declined.credit_applied_minor == 190
    reference = declined.attempts[0].psp_reference or ""

    await authenticated(payments, reference)

    assert payments.psps["stripe_like"].refunds == [(reference, 1000, f"refund:abandoned:{reference}")]
    async with payments.uow() as uow:
        assert (await uow.charges(TENANT).get(declined.charge_id)).charge.status is ChargeStatus.FAILED
        assert (await uow.credits(TENANT).get(customer, "EUR")).balance_minor == 190  # the credit stayed given back
