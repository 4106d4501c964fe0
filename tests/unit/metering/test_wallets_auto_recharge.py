"""Top-ups and auto-recharges: each charge is made once per key and its credit granted once, whatever is
retried or repeated."""

from __future__ import annotations

from decimal import Decimal

import pytest

from azotte_metering.billing_ports import RechargeState
from azotte_metering.domain.pricing import PriceModel, PricingModel, UsagePrice
from azotte_metering.domain.wallets import AutoRecharge, GrantSource
from azotte_metering.errors import TopUpDeclined
from azotte_metering.service_layer import prices, wallets
from azotte_metering.service_layer.recharger import Recharger
from azotte_platform.context import tenant_scope
from tests.unit.metering.billing_fakes import TENANT, Billing


async def billing_with_wallet(balance: int = 1000, threshold: int = 300, amount: int = 2000) -> Billing:
    """cus_1 at 1 cent per token, with `balance` cents of credit and auto-recharge below `threshold`."""
    billing = Billing()
    price = UsagePrice("sf_us", "plan_ai", "tokens", "USD", PriceModel(PricingModel.PER_UNIT, unit_price=Decimal(1)))
    await billing.run(lambda uow: prices.set_usage_price(uow, TENANT, price))
    await billing.run(lambda uow: wallets.grant_credit(uow, TENANT, "cus_1", "USD", balance, GrantSource.ADMIN))
    rule = AutoRecharge(threshold, amount)
    await billing.run(lambda uow: wallets.set_auto_recharge(uow, TENANT, "cus_1", "USD", rule))
    return billing


def recharger(billing: Billing) -> Recharger:
    return Recharger(lambda: billing.uow, billing.payments)


async def balance(billing: Billing) -> int:
    wallet = await billing.run(lambda uow: wallets.get_wallet(uow, TENANT, "cus_1", "USD"))
    return wallet.balance(billing.clock.now())


async def test_crossing_the_threshold_starts_one_recharge_and_staying_below_starts_none() -> None:
    billing = await billing_with_wallet()
    assert await billing.usage("500") is False
    assert await billing.usage("300") is True  # 500 -> 200: below 300
    assert await billing.usage("100") is False  # still below: the recharge under way covers it
    assert [r.recharge_id for r in billing.uow.data.recharges.values()] == ["recharge:cus_1:USD:1"]


async def test_a_recharge_is_charged_once_and_granted_once_however_often_the_worker_runs() -> None:
    billing = await billing_with_wallet()
    await billing.usage("800")
    worker = recharger(billing)
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    assert billing.payments.collected() == 2000 and len(billing.payments.charges) == 1
    assert await balance(billing) == 200 + 2000
    assert len(billing.published("credit.granted")) == 2  # the admin grant, then the recharge once


async def test_a_recharge_charged_before_a_crash_is_granted_once_on_the_next_run() -> None:
    billing = await billing_with_wallet()
    await billing.usage("800")
    (pending,) = billing.uow.data.recharges.values()
    # NOTE: the charge went through but the process died before settling it.
    await billing.payments.charge(
        idempotency_key=pending.recharge_id,
        customer_id="cus_1",
        storefront_id="sf_us",
        currency_code="USD",
        amount_minor=pending.amount_minor,
        description="",
    )
    assert await recharger(billing).run_once() == 1
    assert billing.payments.collected() == 2000
    assert await balance(billing) == 2200


async def test_a_second_crossing_after_a_recharge_starts_the_next_one() -> None:
    billing = await billing_with_wallet(amount=500)
    await billing.usage("800")
    await recharger(billing).run_once()
    await billing.usage("450")  # 700 -> 250
    await recharger(billing).run_once()
    assert sorted(billing.payments.charges) == ["recharge:cus_1:USD:1", "recharge:cus_1:USD:2"]
    assert await balance(billing) == 750


async def test_a_declined_recharge_fails_once_and_grants_nothing() -> None:
    billing = await billing_with_wallet()
    billing.payments.declines.add("recharge:cus_1:USD:1")
    await billing.usage("800")
    await recharger(billing).run_once()
    await recharger(billing).run_once()
    (recharge,) = billing.uow.data.recharges.values()
    assert recharge.state is RechargeState.FAILED
    assert len(billing.published("wallet.recharge_failed")) == 1
    assert await balance(billing) == 200


async def test_a_recharge_payments_refuses_fails_instead_of_being_asked_forever() -> None:
    billing = await billing_with_wallet()
    billing.payments.refusals.add("recharge:cus_1:USD:1")
    await billing.usage("800")
    assert await recharger(billing).run_once() == 1
    assert await recharger(billing).run_once() == 0
    (recharge,) = billing.uow.data.recharges.values()
    assert (recharge.state, recharge.failure) == (RechargeState.FAILED, "FAILED_PRECONDITION")
    assert billing.payments.calls == 1


async def test_a_pending_charge_leaves_the_recharge_to_the_next_run() -> None:
    billing = await billing_with_wallet()
    billing.payments.pending.add("recharge:cus_1:USD:1")
    await billing.usage("800")
    assert await recharger(billing).run_once() == 0
    billing.payments.pending.clear()
    assert await recharger(billing).run_once() == 1
    assert await balance(billing) == 2200


async def test_a_top_up_retried_after_a_failure_charges_once_and_grants_once() -> None:
    billing = Billing()

    async def top_up_then_crash() -> None:
        async with billing.uow as uow:
            await wallets.top_up(uow, billing.payments, TENANT, "req-1", "cus_1", "USD", 5000)
            raise ConnectionError("the database went away before the commit")

    with tenant_scope(TENANT), pytest.raises(ConnectionError):
        await top_up_then_crash()
    grant, _, charge_id = await billing.run(
        lambda uow: wallets.top_up(uow, billing.payments, TENANT, "req-1", "cus_1", "USD", 5000)
    )
    assert billing.payments.collected() == 5000 and len(billing.payments.charges) == 1
    assert grant.grant_id == "top-up:req-1" and charge_id == "ch_1"
    assert await balance(billing) == 5000


async def test_a_declined_top_up_grants_nothing() -> None:
    billing = Billing()
    billing.payments.declines.add("wallet-top-up:req-9")
    with pytest.raises(TopUpDeclined):
        await billing.run(lambda uow: wallets.top_up(uow, billing.payments, TENANT, "req-9", "cus_1", "USD", 100))
    assert billing.uow.data.wallets == {}
