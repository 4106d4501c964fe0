"""Store-billed sales: the price a store collected booked as revenue net of tax, the store's commission on it
per storefront and channel, once per sale, in the ledger, the revenue report and the revenue.recorded event."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from azotte.common.v1 import channel_pb2, money_pb2
from azotte.payments.v1 import events_pb2
from azotte.payments.v1 import store_sales_pb2 as ss
from azotte_payments.domain.ledger import Account, GroupBy, revenue_report, trial_balance
from azotte_payments.domain.store_sales import StoreSale, StoreSaleRequest
from azotte_payments.domain.storefront import StorefrontTerms
from azotte_payments.errors import CurrencyMismatch
from azotte_payments.service_layer.store_sales import record_store_sale
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument
from tests.unit.payments.fakes import TENANT, FakePayments, storefront_de

AT = datetime(2026, 3, 10, tzinfo=UTC)
NO_CONTEXT: Any = None


def terms(app_store: str = "0.15", google_play: str = "0.30") -> StorefrontTerms:
    rates = {"CHANNEL_APP_STORE": Decimal(app_store), "CHANNEL_GOOGLE_PLAY": Decimal(google_play)}
    return replace(storefront_de(), store_commission=rates)


def sale_request(channel: str = "CHANNEL_APP_STORE", price: int = 999, **fields: object) -> StoreSaleRequest:
    values: dict[str, object] = {
        "sale_id": "apple-notification-1",
        "customer_id": "cus_1",
        "subscription_id": "sub_1",
        "storefront_id": "de",
        "channel": channel,
        "plan_id": "premium",
        "currency": "EUR",
        "price_minor": price,
        "occurred_at": AT,
        **fields,
    }
    return StoreSaleRequest(**values)  # type: ignore[arg-type]


def test_a_store_sale_keeps_tax_aside_and_the_commission_on_the_net() -> None:
    sale = StoreSale.book(sale_request(), terms(), AT)
    # 9.99 incl. 19 % VAT: 1.60 tax, 8.39 net; 15 % of 8.39 = 1.2585 → 1.26 commission; Apple pays out 8.73.
    assert (sale.amounts.tax_minor, sale.amounts.net_minor) == (160, 839)
    assert (sale.commission_rate, sale.commission_minor, sale.proceeds_minor) == (Decimal("0.15"), 126, 873)
    entry = sale.entry(TENANT, "je_1")
    assert (entry.total(Account.STORE_RECEIVABLE), entry.total(Account.STORE_COMMISSION)) == (873, 126)
    assert (entry.total(Account.GROSS_SALES), entry.total(Account.TAX_PAYABLE)) == (-839, -160)
    assert sum(trial_balance([entry])["EUR"].values()) == 0


def test_the_rate_is_the_storefronts_for_the_channel_and_none_without_one() -> None:
    google = StoreSale.book(sale_request("CHANNEL_GOOGLE_PLAY"), terms(), AT)
    unset = StoreSale.book(sale_request(), storefront_de(), AT)
    assert (google.commission_minor, google.proceeds_minor) == (252, 747)
    assert (unset.commission_minor, unset.proceeds_minor) == (0, 999)


def test_the_revenue_report_shows_gross_commission_and_net_per_channel() -> None:
    apple = StoreSale.book(sale_request(), terms(), AT).entry(TENANT, "je_1")
    google = StoreSale.book(sale_request("CHANNEL_GOOGLE_PLAY", sale_id="gp-1"), terms(), AT).entry(TENANT, "je_2")
    rows = revenue_report([apple, google], "2026-03", "2026-03", [GroupBy.CHANNEL])
    by_channel = {row.channel: row for row in rows}
    assert {c: (r.gross_sales_minor, r.store_commission_minor, r.proceeds_minor) for c, r in by_channel.items()} == {
        "CHANNEL_APP_STORE": (839, 126, 713),
        "CHANNEL_GOOGLE_PLAY": (839, 252, 587),
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "CHANNEL_WEB"}, "channel"),
        ({"price_minor": 0}, "price.amount_minor"),
        ({"sale_id": ""}, "sale_id"),
        ({"storefront_id": ""}, "storefront_id"),
    ],
)
def test_a_sale_that_no_store_collected_is_refused_naming_its_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        StoreSale.book(sale_request(**fields), terms(), AT)  # type: ignore[arg-type]
    assert error.value.violations[0].field == field


def test_a_price_in_another_currency_than_the_storefronts_is_refused() -> None:
    with pytest.raises(CurrencyMismatch) as error:
        StoreSale.book(sale_request(currency="USD"), terms(), AT)
    assert error.value.violations[0].field == "price.currency_code"


async def test_a_sale_is_booked_once_and_announced_with_its_commission() -> None:
    payments = FakePayments.build()
    payments.storefronts.storefronts[(TENANT, "de")] = terms()
    for _ in range(2):
        async with payments.uow() as uow:
            await record_store_sale(uow, payments.storefronts, TENANT, sale_request())
            await uow.commit()

    async with payments.uow() as uow:
        entries = await uow.ledger(TENANT).entries_between("2026-03", "2026-03")
    assert [entry.source_id for entry in entries] == ["apple-notification-1"]
    [recorded] = payments.published("revenue.recorded")
    payload = recorded.payload
    assert isinstance(payload, events_pb2.RevenueRecorded), payload
    assert (payload.kind, payload.channel) == ("store_sale", channel_pb2.CHANNEL_APP_STORE)
    assert (payload.gross.amount_minor, payload.store_commission.amount_minor, payload.net_revenue.amount_minor) == (
        999,
        126,
        839,
    )


async def test_the_servicer_answers_the_booked_sale() -> None:
    payments = FakePayments.build()
    payments.storefronts.storefronts[(TENANT, "de")] = terms()
    request = ss.RecordStoreSaleRequest(
        request_id="r1",
        sale_id="gp-7",
        customer_id="cus_1",
        subscription_id="sub_1",
        storefront_id="de",
        channel=channel_pb2.CHANNEL_GOOGLE_PLAY,
        plan_id="premium",
        price=money_pb2.Money(currency_code="EUR", amount_minor=999),
    )
    with tenant_scope(TENANT):
        answer = await payments.servicer.RecordStoreSale(request, NO_CONTEXT)
    sale = answer.sale
    assert (sale.commission_rate, sale.commission.amount_minor, sale.proceeds.amount_minor) == ("0.30", 252, 747)
