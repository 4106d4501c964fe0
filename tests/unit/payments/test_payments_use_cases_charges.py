"""Charge use cases over fakes: PSP outcomes, idempotency keys, credit, batches, timeouts."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from azotte.common.v1 import channel_pb2, money_pb2
from azotte.payments.v1 import events_pb2
from azotte.payments.v1 import payments_pb2 as P
from azotte_payments import errors
from azotte_payments.domain.charge import Charge, ChargeStatus
from azotte_payments.domain.declines import DeclineReason, Outcome
from azotte_payments.domain.payment_method import PaymentMethodType
from azotte_payments.service_layer import credits, payment_methods
from azotte_payments.service_layer.charge_batch import CreateCharge
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument
from tests.unit.payments.fakes import (
    INSUFFICIENT_FUNDS,
    PROCESSING_ERROR,
    SUCCESS,
    TENANT,
    TIMEOUT,
    FakePayments,
)

NO_CONTEXT: Any = None


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments.build()


async def add_customer(payments: FakePayments, token: str = SUCCESS) -> str:
    """A new customer with one (default) card."""
    customer = f"cus_{uuid.uuid4().hex[:8]}"
    command = payment_methods.AddPaymentMethod(customer, PaymentMethodType.CARD, token, "visa", "4242")
    async with payments.uow() as uow:
        await payment_methods.add_payment_method(uow, TENANT, command)
        await uow.commit()
    return customer


def command(customer: str, amount: int = 999, key: str = "", **fields: Any) -> CreateCharge:
    """CreateCharge in storefront `de` on the web channel (a fresh key unless given)."""
    return CreateCharge(key or uuid.uuid4().hex, customer, "de", "CHANNEL_WEB", "pro", amount, "EUR", **fields)


async def balances(payments: FakePayments) -> dict[str, dict[str, int]]:
    async with payments.uow() as uow:
        return await uow.ledger(TENANT).trial_balance("")


async def test_an_approved_charge_succeeds_books_revenue_and_publishes(payments: FakePayments) -> None:
    customer = await add_customer(payments)
    charge = await payments.desk.create(TENANT, command(customer))
    assert (charge.status, charge.outcome, charge.psp) == (ChargeStatus.SUCCEEDED, Outcome.APPROVED, "stripe_like")
    assert (charge.amounts.gross_minor, charge.amounts.tax_minor, charge.amounts.net_minor) == (999, 160, 839)
    assert [(request.amount_minor, request.payment_token) for request in payments.psps["stripe_like"].charges] == [
        (999, SUCCESS)
    ]
    assert payments.uow().published_types() == ["payment.succeeded", "revenue.recorded"]
    succeeded = payments.published("payment.succeeded")[0]
    assert succeeded.about == customer
    assert isinstance(succeeded.payload, events_pb2.PaymentSucceeded)
    assert succeeded.payload.charge.status == P.CHARGE_STATUS_SUCCEEDED
    ledger = (await balances(payments))["EUR"]
    assert sum(ledger.values()) == 0
    assert ledger["tax_payable"] == -160


async def test_a_decline_fails_the_charge_with_the_normalized_reason_and_no_failover(payments: FakePayments) -> None:
    customer = await add_customer(payments, INSUFFICIENT_FUNDS)
    charge = await payments.desk.create(TENANT, command(customer))
    assert charge.status is ChargeStatus.FAILED
    assert charge.decline is not None and charge.decline.reason is DeclineReason.INSUFFICIENT_FUNDS
    assert charge.outcome is Outcome.SOFT_DECLINE
    assert [attempt.psp for attempt in charge.attempts] == ["stripe_like"]
    assert payments.psps["adyen_like"].charges == []
    assert payments.published_types() == ["payment.failed"]
    assert await balances(payments) == {}


async def test_a_retryable_failure_fails_over_to_the_next_routed_psp(payments: FakePayments) -> None:
    customer = await add_customer(payments, PROCESSING_ERROR)
    charge = await payments.desk.create(TENANT, command(customer))
    assert [attempt.psp for attempt in charge.attempts] == ["stripe_like", "adyen_like"]
    assert charge.status is ChargeStatus.FAILED and charge.outcome is Outcome.RETRYABLE
    assert charge.decline is not None and charge.decline.reason is DeclineReason.PROCESSING_ERROR


async def test_a_psp_timeout_is_resolved_by_lookup_without_a_second_capture(payments: FakePayments) -> None:
    customer = await add_customer(payments, TIMEOUT)
    charge = await payments.desk.create(TENANT, command(customer))
    assert charge.status is ChargeStatus.SUCCEEDED
    assert [attempt.psp for attempt in charge.attempts] == ["stripe_like"]
    assert len(payments.psps["stripe_like"].charges) == 1
    assert payments.psps["adyen_like"].charges == []
    assert payments.published_types() == ["payment.succeeded", "revenue.recorded"]


async def test_an_unconfirmed_timeout_stays_unknown_until_the_reconciler_finds_the_capture(
    payments: FakePayments,
) -> None:
    customer = await add_customer(payments, TIMEOUT)
    payments.psps["stripe_like"].lookup_fails = True
    charge = await payments.desk.create(TENANT, command(customer))
    assert (charge.status, charge.outcome) == (ChargeStatus.UNKNOWN, Outcome.RETRYABLE)
    assert charge.decline is not None and charge.decline.reason is DeclineReason.TIMEOUT
    assert payments.published_types() == []

    payments.psps["stripe_like"].lookup_fails = False
    assert await payments.processor.reconcile_open_charges(timedelta(0)) == 1
    async with payments.uow() as uow:
        reconciled = (await uow.charges(TENANT).get(charge.charge_id)).charge
    assert reconciled.status is ChargeStatus.SUCCEEDED
    assert len(payments.psps["stripe_like"].charges) == 1
    assert payments.published_types() == ["payment.succeeded", "revenue.recorded"]


async def test_the_same_idempotency_key_charges_once_and_other_content_is_refused(payments: FakePayments) -> None:
    customer = await add_customer(payments)
    first = await payments.desk.create(TENANT, command(customer, key="renewal:sub_1:2026-03:1"))
    again = await payments.desk.create(TENANT, command(customer, key="renewal:sub_1:2026-03:1"))
    assert again.charge_id == first.charge_id and again.status is ChargeStatus.SUCCEEDED
    assert len(payments.psps["stripe_like"].charges) == 1
    assert payments.published_types().count("payment.succeeded") == 1
    with pytest.raises(errors.IdempotencyKeyReused) as error:
        await payments.desk.create(TENANT, command(customer, 1000, key="renewal:sub_1:2026-03:1"))
    assert error.value.reason == "IDEMPOTENCY_KEY_REUSED"


async def test_credit_is_spent_before_the_psp_and_comes_back_when_the_charge_fails(payments: FakePayments) -> None:
    paying, declined = await add_customer(payments), await add_customer(payments, INSUFFICIENT_FUNDS)
    for customer in (paying, declined):
        async with payments.uow() as uow:
            await credits.grant_credit(uow, TENANT, credits.GrantCredit(customer, 500, "EUR", "goodwill"))
            await uow.commit()
    assert payments.published_types() == ["credit.granted", "revenue.recorded"] * 2

    charge = await payments.desk.create(TENANT, command(paying))
    assert (charge.status, charge.credit_applied_minor) == (ChargeStatus.SUCCEEDED, 500)
    assert payments.psps["stripe_like"].charges[-1].amount_minor == 499
    failed = await payments.desk.create(TENANT, command(declined))
    assert (failed.status, failed.credit_applied_minor) == (ChargeStatus.FAILED, 500)
    async with payments.uow() as uow:
        assert (await credits.credit_balance(uow, TENANT, paying, "EUR")).balance_minor == 0
        assert (await credits.credit_balance(uow, TENANT, declined, "EUR")).balance_minor == 500


async def test_a_charge_covered_by_credit_succeeds_without_a_psp(payments: FakePayments) -> None:
    customer = await add_customer(payments)
    async with payments.uow() as uow:
        await credits.grant_credit(uow, TENANT, credits.GrantCredit(customer, 2000, "EUR", "goodwill"))
        await uow.commit()
    charge = await payments.desk.create(TENANT, command(customer))
    assert (charge.status, charge.psp, charge.credit_applied_minor) == (ChargeStatus.SUCCEEDED, None, 999)
    assert payments.psps["stripe_like"].charges == []


async def test_refusals_before_any_psp_call_record_nothing(payments: FakePayments) -> None:
    customer = await add_customer(payments)
    with pytest.raises(errors.CurrencyMismatch):
        await payments.desk.create(TENANT, replace(command(customer), currency="USD"))
    with pytest.raises(errors.StorefrontNotFound):
        await payments.desk.create(TENANT, replace(command(customer), storefront_id="fr"))
    with pytest.raises(errors.NoPaymentMethod):
        await payments.desk.create(TENANT, command("cus_without_card"))
    async with payments.uow() as uow:
        listed = await uow.charges(TENANT).by_keys([])
    assert listed == {} and payments.state.charges == {} and payments.published_types() == []


async def test_a_batch_answers_each_item_in_order_and_one_refusal_fails_only_its_item(payments: FakePayments) -> None:
    customer, declined = await add_customer(payments), await add_customer(payments, INSUFFICIENT_FUNDS)
    first = await payments.desk.create(TENANT, command(customer, key="taken"))
    answers = await payments.desk.create_many(
        TENANT,
        [
            command(customer, key="a"),
            command("", key="b"),
            command("cus_without_card", key="c"),
            command(declined, key="d"),
            command(customer, 500, key="taken"),
            command(customer, key="a"),
            command(customer, key="taken"),
        ],
    )
    assert isinstance(answers[0], Charge) and answers[0].status is ChargeStatus.SUCCEEDED
    assert isinstance(answers[1], InvalidArgument) and answers[1].violations[0].field == "customer_id"
    assert isinstance(answers[2], errors.NoPaymentMethod)
    assert isinstance(answers[3], Charge) and answers[3].status is ChargeStatus.FAILED
    assert isinstance(answers[4], errors.IdempotencyKeyReused)
    assert isinstance(answers[5], Charge) and answers[5].charge_id == answers[0].charge_id
    assert isinstance(answers[6], Charge) and answers[6].charge_id == first.charge_id
    assert len(payments.psps["stripe_like"].charges) == 3


async def test_create_charges_answers_refusals_as_item_errors(payments: FakePayments) -> None:
    customer = await add_customer(payments)

    def item(customer_id: str, key: str, amount: int = 999) -> P.CreateChargeRequest:
        return P.CreateChargeRequest(
            request_id=key,
            customer_id=customer_id,
            storefront_id="de",
            channel=channel_pb2.CHANNEL_WEB,
            plan_id="pro",
            amount=money_pb2.Money(currency_code="EUR", amount_minor=amount),
        )

    bad_tax = item(customer, "k3")
    bad_tax.tax_policy.CopyFrom(P.TaxPolicy(mode=P.TAX_MODE_INCLUSIVE, rate="lots"))
    request = P.CreateChargesRequest(
        charges=[item(customer, "k1"), item("cus_x", "k2"), bad_tax, item(customer, "k1", 5)]
    )
    with tenant_scope(TENANT):
        response = await payments.servicer.CreateCharges(request, NO_CONTEXT)
    results = list(response.results)
    assert results[0].charge.status == P.CHARGE_STATUS_SUCCEEDED
    assert results[0].charge.channel == channel_pb2.CHANNEL_WEB
    assert (results[1].error.code, results[1].error.reason) == ("FAILED_PRECONDITION", "NO_PAYMENT_METHOD")
    assert (results[2].error.code, results[2].error.field) == ("INVALID_ARGUMENT", "tax_policy.rate")
    assert (results[3].error.code, results[3].error.reason) == ("ABORTED", "IDEMPOTENCY_KEY_REUSED")


async def test_list_charges_pages_newest_first_and_refuses_a_foreign_token(payments: FakePayments) -> None:
    customer = await add_customer(payments)
    made = []
    for _ in range(3):
        made.append(await payments.desk.create(TENANT, command(customer)))
        payments.state.clock.advance(timedelta(minutes=1))
    with tenant_scope(TENANT):
        first = await payments.servicer.ListCharges(P.ListChargesRequest(customer_id=customer, page_size=2), NO_CONTEXT)
        rest = await payments.servicer.ListCharges(
            P.ListChargesRequest(customer_id=customer, page_size=2, page_token=first.next_page_token), NO_CONTEXT
        )
        with pytest.raises(InvalidArgument) as error:
            await payments.servicer.ListCharges(
                P.ListChargesRequest(customer_id="cus_other", page_token=first.next_page_token), NO_CONTEXT
            )
    assert [charge.id for charge in [*first.charges, *rest.charges]] == [c.charge_id for c in reversed(made)]
    assert rest.next_page_token == ""
    assert error.value.violations[0].field == "page_token"


async def test_the_reconciler_resumes_a_charge_when_untouched_long_enough_by_its_own_tenants_clock(
    payments: FakePayments,
) -> None:
    payments.state.clock.advance(timedelta(days=31), TENANT)  # this sandbox tenant moved its own clock
    customer = await add_customer(payments, TIMEOUT)
    payments.psps["stripe_like"].lookup_fails = True
    with tenant_scope(TENANT):
        charge = await payments.desk.create(TENANT, command(customer))
    assert charge.status is ChargeStatus.UNKNOWN
    payments.psps["stripe_like"].lookup_fails = False

    assert await payments.processor.reconcile_open_charges(timedelta(minutes=5)) == 0  # touched just now, its time
    payments.state.clock.advance(timedelta(minutes=5), TENANT)
    assert await payments.processor.reconcile_open_charges(timedelta(minutes=5)) == 1
    async with payments.uow() as uow:
        assert (await uow.charges(TENANT).get(charge.charge_id)).charge.status is ChargeStatus.SUCCEEDED


async def test_a_psps_breaker_runs_on_shared_time_whatever_sandbox_tenant_tripped_it(payments: FakePayments) -> None:
    payments.state.clock.advance(timedelta(days=31), TENANT)  # this sandbox tenant is a month ahead
    customer = await add_customer(payments, PROCESSING_ERROR)
    with tenant_scope(TENANT):
        for _ in range(5):  # retryable failures open stripe_like's breaker
            await payments.desk.create(TENANT, command(customer, key=uuid.uuid4().hex))
    assert not payments.registry.breakers.breaker("stripe_like").allow_request(payments.state.clock.now())

    payments.state.clock.advance(timedelta(seconds=30))  # the cooldown passes for every tenant
    with tenant_scope("another-tenant"):  # not a month later: another tenant may probe it now
        psps = await payments.registry.for_tenant("another-tenant")
        assert psps.next_candidate(["stripe_like", "adyen_like"], []) == "stripe_like"
