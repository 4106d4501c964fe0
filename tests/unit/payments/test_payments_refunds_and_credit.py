from datetime import UTC, datetime
from decimal import Decimal

import pytest

from azotte_payments import errors
from azotte_payments.domain.charge import Charge, ChargeRequest
from azotte_payments.domain.credit import CreditBalance, CreditReason
from azotte_payments.domain.declines import PspChargeResult
from azotte_payments.domain.refund import RefundDestination, RefundStatus, apply_refund, plan_refund
from azotte_platform.errors import FailedPrecondition, InvalidArgument
from azotte_platform.tax import TaxMode, TaxPolicy

NOW = datetime(2025, 3, 1, tzinfo=UTC)
DE_VAT = TaxPolicy(TaxMode.INCLUSIVE, Decimal("0.19"), "DE")
TO_CARD, TO_CREDIT = RefundDestination.ORIGINAL_METHOD, RefundDestination.CUSTOMER_CREDIT


def succeeded(price: int = 999, credit: int = 0) -> Charge:
    request = ChargeRequest("cus_1", "sf_de", "web", "plan_pro", price, "EUR", "pm_1")
    charge = Charge.create("ch_1", request, "key-1", "EUR", DE_VAT, credit, NOW)
    if charge.needs_psp:
        charge.begin_attempt("stripe", NOW)
        charge.complete_attempt(PspChargeResult.approved("stripe", "ch_psp"), NOW)
    return charge


def refund(charge: Charge, amount: int | None, destination: RefundDestination = TO_CARD) -> None:
    planned = plan_refund(charge, f"re_{len(charge.events)}", amount, destination, NOW)
    if planned.status is RefundStatus.PENDING:
        planned.confirm("re_psp")
    apply_refund(charge, planned, NOW)


def test_full_refund_by_default_returns_all_tax() -> None:
    charge = succeeded()
    planned = plan_refund(charge, "re_1", None, TO_CARD, NOW)
    assert (planned.amount_minor, planned.amounts.tax_minor) == (999, 160)


def test_partial_refunds_up_to_the_captured_amount() -> None:
    charge = succeeded()
    refund(charge, 400)
    refund(charge, 599)
    assert charge.refunded_minor == 999
    with pytest.raises(InvalidArgument) as error:
        plan_refund(charge, "re_x", 1, TO_CARD, NOW)
    assert error.value.violations[0].field == "amount"


def test_refund_beyond_captured_minus_refunded_is_rejected() -> None:
    charge = succeeded()
    refund(charge, 500)
    with pytest.raises(errors.RefundExceedsCaptured) as error:
        plan_refund(charge, "re_2", 500, TO_CARD, NOW)
    assert error.value.violations[0].field == "amount"
    assert error.value.reason == "REFUND_EXCEEDS_CAPTURED"


@pytest.mark.parametrize("amount", [0, -1])
def test_refund_amount_must_be_positive(amount: int) -> None:
    with pytest.raises(InvalidArgument):
        plan_refund(succeeded(), "re_1", amount, TO_CARD, NOW)


def test_only_the_psp_paid_part_goes_back_to_the_card() -> None:
    charge = succeeded(credit=300)
    with pytest.raises(InvalidArgument):
        plan_refund(charge, "re_1", 700, TO_CARD, NOW)
    refund(charge, 699)
    refund(charge, None, TO_CREDIT)
    assert charge.refunded_minor == 999


def test_refund_of_an_unsucceeded_charge_is_a_failed_precondition() -> None:
    request = ChargeRequest("cus_1", "sf_de", "web", "plan_pro", 999, "EUR", "pm_1")
    pending = Charge.create("ch_1", request, "key-1", "EUR", DE_VAT, 0, NOW)
    with pytest.raises(FailedPrecondition, match="pending"):
        plan_refund(pending, "re_1", None, TO_CARD, NOW)


def test_refund_to_credit_is_immediate_and_to_card_waits_for_the_psp() -> None:
    charge = succeeded()
    assert plan_refund(charge, "re_1", 100, TO_CREDIT, NOW).status is RefundStatus.SUCCEEDED
    to_card = plan_refund(charge, "re_2", 100, TO_CARD, NOW)
    with pytest.raises(FailedPrecondition):
        apply_refund(charge, to_card, NOW)


def test_voiding_a_partially_refunded_charge_is_refused() -> None:
    charge = succeeded()
    refund(charge, 100)
    with pytest.raises(FailedPrecondition):
        charge.void()


def test_credit_is_granted_and_spent() -> None:
    balance = CreditBalance("cus_1", "EUR")
    balance.grant(500, CreditReason.GOODWILL, NOW)
    balance.spend(300, NOW)
    assert balance.balance_minor == 200
    assert balance.events[0].balance_minor == 500
    with pytest.raises(errors.InsufficientCredit) as error:
        balance.spend(201, NOW)
    assert error.value.reason == "INSUFFICIENT_CREDIT"


def test_credit_grant_must_be_positive() -> None:
    with pytest.raises(InvalidArgument) as error:
        CreditBalance("cus_1", "EUR").grant(0, CreditReason.GOODWILL, NOW)
    assert error.value.violations[0].field == "amount"
