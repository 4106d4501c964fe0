from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azotte_platform.errors import InvalidArgument
from azotte_platform.tax import TaxBreakdown, TaxMode, TaxPolicy, split_refund_tax, tax_for_line, tax_for_lines

DE_VAT = TaxPolicy(TaxMode.INCLUSIVE, Decimal("0.19"), "DE")
US_SALES_TAX = TaxPolicy(TaxMode.EXCLUSIVE, Decimal("0.10"), "US")

rates = st.decimals(min_value=0, max_value=Decimal("0.99"), places=4)
prices = st.integers(min_value=0, max_value=10**12)


def test_inclusive_tax_is_extracted_from_the_price() -> None:
    assert tax_for_line(999, DE_VAT) == TaxBreakdown(gross_minor=999, tax_minor=160, net_minor=839)


def test_exclusive_tax_is_added_on_top() -> None:
    assert tax_for_line(999, US_SALES_TAX) == TaxBreakdown(gross_minor=1099, tax_minor=100, net_minor=999)


def test_half_a_minor_unit_rounds_up() -> None:
    assert tax_for_line(5, TaxPolicy(TaxMode.EXCLUSIVE, Decimal("0.10"))).tax_minor == 1


def test_lines_are_rounded_one_by_one() -> None:
    policy = TaxPolicy(TaxMode.EXCLUSIVE, Decimal("0.10"))
    assert tax_for_lines([5, 5], policy).tax_minor == 2
    assert tax_for_line(10, policy).tax_minor == 1


def test_negative_price_is_rejected_naming_amount() -> None:
    with pytest.raises(InvalidArgument) as error:
        tax_for_line(-1, DE_VAT)
    assert error.value.violations[0].field == "amount"


def test_rate_outside_zero_to_one_is_rejected() -> None:
    with pytest.raises(InvalidArgument):
        TaxPolicy(TaxMode.EXCLUSIVE, Decimal("-0.1"))


@given(price=prices, rate=rates, mode=st.sampled_from(TaxMode))
def test_gross_is_net_plus_tax(price: int, rate: Decimal, mode: TaxMode) -> None:
    result = tax_for_line(price, TaxPolicy(mode, rate))
    assert result.gross_minor == result.net_minor + result.tax_minor
    assert result.tax_minor >= 0


@given(price=prices, rate=rates)
def test_inclusive_gross_is_the_price(price: int, rate: Decimal) -> None:
    assert tax_for_line(price, TaxPolicy(TaxMode.INCLUSIVE, rate)).gross_minor == price


@given(price=prices, rate=rates)
def test_exclusive_net_is_the_price(price: int, rate: Decimal) -> None:
    assert tax_for_line(price, TaxPolicy(TaxMode.EXCLUSIVE, rate)).net_minor == price


@given(price=st.integers(1, 10**9), cuts=st.lists(st.integers(1, 10**9), max_size=6))
def test_partial_refunds_adding_up_to_the_charge_return_all_its_tax(price: int, cuts: list[int]) -> None:
    charged = tax_for_line(price, DE_VAT)
    parts, remaining = [], charged.gross_minor
    for cut in cuts:
        part = min(cut, remaining)
        if part:
            parts.append(part)
            remaining -= part
    if remaining:
        parts.append(remaining)
    refunded = TaxBreakdown(0, 0, 0)
    for part in parts:
        share = split_refund_tax(part, charged, refunded)
        assert 0 <= share.tax_minor <= share.gross_minor
        refunded = TaxBreakdown(
            refunded.gross_minor + share.gross_minor,
            refunded.tax_minor + share.tax_minor,
            refunded.net_minor + share.net_minor,
        )
    assert refunded == charged
