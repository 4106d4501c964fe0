from datetime import UTC, datetime, timedelta

import pytest

from azotte_payments import errors
from azotte_payments.domain.payment_method import (
    CustomerPaymentMethods,
    PaymentMethod,
    PaymentMethodType,
    looks_like_pan,
)
from azotte_platform.errors import FailedPrecondition, InvalidArgument, NotFound

NOW = datetime(2025, 3, 15, tzinfo=UTC)


def card(method_id: str, exp: tuple[int, int] | None = (12, 2030), age_days: int = 0) -> PaymentMethod:
    month, year = exp if exp else (None, None)
    return PaymentMethod(
        method_id,
        "cus_1",
        PaymentMethodType.CARD,
        f"tok_{method_id}",
        NOW - timedelta(days=age_days),
        "visa",
        "4242",
        month,
        year,
    )


@pytest.mark.parametrize(
    "pan", ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "378282246310005", "pm_4242424242424242"]
)
def test_card_numbers_are_refused_as_tokens(pan: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        PaymentMethod("pm_1", "cus_1", PaymentMethodType.CARD, pan, NOW)
    assert error.value.violations[0].field == "token"


@pytest.mark.parametrize("token", ["tok_success", "pm_1PXa9c", "4242424242424241", "123456789012"])
def test_tokens_and_non_luhn_digits_are_accepted(token: str) -> None:
    assert not looks_like_pan(token)


def test_first_method_is_default_and_default_can_change() -> None:
    wallet = CustomerPaymentMethods("cus_1")
    wallet.add(card("pm_1", age_days=2))
    wallet.add(card("pm_2", age_days=1))
    assert wallet.default() is wallet.get("pm_1")
    wallet.set_default("pm_2")
    assert [m.is_default for m in wallet.methods] == [False, True]


def test_removing_the_default_promotes_the_newest() -> None:
    wallet = CustomerPaymentMethods("cus_1")
    for name, age in [("pm_old", 3), ("pm_new", 1), ("pm_mid", 2)]:
        wallet.add(card(name, age_days=age))
    wallet.remove("pm_old")
    default = wallet.default()
    assert default is not None and default.payment_method_id == "pm_new"


def test_unknown_method_is_not_found_naming_it() -> None:
    with pytest.raises(NotFound, match="payment_method_id 'pm_x'"):
        CustomerPaymentMethods("cus_1").resolve_for_charge("pm_x", NOW)


def test_expired_method_cannot_be_charged() -> None:
    wallet = CustomerPaymentMethods("cus_1")
    wallet.add(card("pm_1", exp=(2, 2025)))
    with pytest.raises(errors.PaymentMethodExpired) as error:
        wallet.resolve_for_charge("", NOW)
    assert error.value.reason == "PAYMENT_METHOD_EXPIRED"


def test_card_is_valid_through_its_expiry_month() -> None:
    wallet = CustomerPaymentMethods("cus_1")
    wallet.add(card("pm_1", exp=(3, 2025)))
    assert wallet.resolve_for_charge("pm_1", NOW).payment_method_id == "pm_1"


def test_no_method_at_all_is_a_failed_precondition() -> None:
    with pytest.raises(FailedPrecondition):
        CustomerPaymentMethods("cus_1").resolve_for_charge("", NOW)
