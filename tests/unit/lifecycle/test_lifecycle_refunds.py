"""Which charges pay back an immediate cancel's refund, and how much each."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from azotte_lifecycle.domain.proration import with_added_tax
from azotte_lifecycle.domain.refunds import PaidCharge, RefundLeg, plan_refund
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.enums import Channel
from azotte_platform.errors import FailedPrecondition, InvalidArgument
from azotte_platform.tax import TaxMode, TaxPolicy, tax_for_line
from tests.unit.lifecycle.conftest import T0, NewSubscription, Plans


def charge(charge_id: str, minutes: int, method: int, credit: int = 0, **refunded: int) -> PaidCharge:
    return PaidCharge(charge_id, T0 + timedelta(minutes=minutes), method, credit, **refunded)


def test_the_newest_charge_pays_back_first_and_each_only_what_it_can() -> None:
    checkout, upgrade = charge("checkout", 0, 1000), charge("upgrade", 60, 500)
    both = [RefundLeg("upgrade", 500, False), RefundLeg("checkout", 300, False)]
    assert plan_refund(800, [checkout, upgrade]) == both
    assert plan_refund(400, [checkout, upgrade]) == [RefundLeg("upgrade", 400, False)]


def test_the_part_paid_with_credit_goes_back_as_credit_after_the_card_part() -> None:
    renewal = charge("renewal", 0, method=600, credit=400)
    assert plan_refund(900, [renewal]) == [RefundLeg("renewal", 600, False), RefundLeg("renewal", 300, True)]


def test_what_an_earlier_attempt_paid_back_is_not_asked_again() -> None:
    checkout = charge("checkout", 0, 1000, refunded_method_minor=500)
    assert plan_refund(500, [checkout]) == []
    assert plan_refund(700, [checkout]) == [RefundLeg("checkout", 200, False)]


def test_a_refund_the_charges_cannot_cover_is_refused_before_anything_is_paid_back() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        plan_refund(800, [charge("checkout", 0, 300)])
    assert refused.value.reason == "REFUND_NOT_COVERED"
    assert refused.value.metadata == {"refund_minor": "800", "refundable_minor": "300"}


def test_the_checkout_charge_counts_only_during_the_first_paid_period(new_subscription: NewSubscription) -> None:
    sub = new_subscription()
    assert sub.first_period_charge_id is None
    sub.initial_charge_id = "ch_1"
    assert sub.first_period_charge_id == "ch_1"
    sub.period_index = 2
    assert sub.first_period_charge_id is None


@pytest.mark.parametrize("origin, trial", [(BillingOrigin.STORE_BILLED, False), (BillingOrigin.AZOTTE_BILLED, True)])
def test_only_a_paid_azotte_billed_start_takes_an_initial_charge(origin: BillingOrigin, trial: bool) -> None:
    end = T0 + timedelta(days=14)
    with pytest.raises(InvalidArgument) as refused:
        Subscription.create(
            subscription_id="sub-1",
            tenant_id="tenant-1",
            customer_id="cus-1",
            plan=Plans.basic,
            storefront_id="us",
            channel=Channel.WEB if trial else Channel.APP_STORE,
            billing_origin=origin,
            now=T0,
            trial_end=end if trial else None,
            period_end=None if trial else end,
            initial_charge_id="ch_1",
        )
    assert [v.field for v in refused.value.violations] == ["initial_charge_id"]


@pytest.mark.parametrize("rate", ["0", "0.0825", "0.19", "0.2"])
@pytest.mark.parametrize("amount_minor", [0, 1, 499, 500, 999, 1000, 123457])
def test_the_tax_added_to_a_refund_is_the_tax_payments_added_to_the_charge(amount_minor: int, rate: str) -> None:
    charged = tax_for_line(amount_minor, TaxPolicy(TaxMode.EXCLUSIVE, Decimal(rate)))
    assert with_added_tax(amount_minor, Decimal(rate)) == charged.gross_minor
