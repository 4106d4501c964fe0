"""Partner-billed sales: a period a partner billed booked on the partner channel net of the partner's part, which
its wholesale terms set (given with the sale) rather than the storefront's store commission."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from azotte.common.v1 import channel_pb2, money_pb2
from azotte.payments.v1 import store_sales_pb2 as ss
from azotte_payments.domain.ledger import Account, GroupBy, revenue_report, trial_balance
from azotte_payments.domain.store_sales import StoreSale
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument
from tests.unit.payments.fakes import TENANT, FakePayments
from tests.unit.payments.test_payments_store_commission import AT, sale_request, terms

NO_CONTEXT: Any = None
PARTNER = "CHANNEL_PARTNER"


def partner_sale(rate: str, price: int = 999, **fields: object) -> StoreSale:
    request = sale_request(PARTNER, price, commission_rate=Decimal(rate), **fields)
    return StoreSale.book(request, terms(), AT)


def test_the_partners_part_is_taken_of_the_net_at_its_own_rate_not_the_storefronts() -> None:
    sale = partner_sale("0.3")
    # 9.99 incl. 19 % VAT: 1.60 tax, 8.39 net; the partner keeps 30 % of 8.39 = 2.517 → 2.52; the tenant 7.47.
    assert (sale.amounts.net_minor, sale.commission_rate, sale.commission_minor, sale.proceeds_minor) == (
        839,
        Decimal("0.3"),
        252,
        747,
    )
    entry = sale.entry(TENANT, "je_1")
    assert (entry.dimensions.channel, entry.total(Account.STORE_COMMISSION)) == (PARTNER, 252)
    assert sum(trial_balance([entry])["EUR"].values()) == 0


def test_the_revenue_report_shows_the_partner_channel_beside_the_stores() -> None:
    apple = StoreSale.book(sale_request(), terms(), AT).entry(TENANT, "je_1")
    partner = partner_sale("0.3", sale_id="partner-1").entry(TENANT, "je_2")
    rows = {row.channel: row for row in revenue_report([apple, partner], "2026-03", "2026-03", [GroupBy.CHANNEL])}
    assert (rows[PARTNER].gross_sales_minor, rows[PARTNER].store_commission_minor, rows[PARTNER].proceeds_minor) == (
        839,
        252,
        587,
    )
    assert rows["CHANNEL_APP_STORE"].store_commission_minor == 126


@pytest.mark.parametrize(
    ("channel", "rate"),
    [(PARTNER, None), (PARTNER, Decimal("1.01")), (PARTNER, Decimal("-0.1")), ("CHANNEL_APP_STORE", Decimal("0.3"))],
)
def test_a_partner_sale_needs_a_rate_from_0_to_1_and_a_store_sale_takes_none(
    channel: str, rate: Decimal | None
) -> None:
    with pytest.raises(InvalidArgument) as error:
        StoreSale.book(sale_request(channel, commission_rate=rate), terms(), AT)
    assert [v.field for v in error.value.violations] == ["commission_rate"]


@pytest.mark.parametrize("rate", ["", "thirty", "NaN"])
async def test_the_servicer_books_a_partner_sale_once_and_refuses_an_unreadable_rate(rate: str) -> None:
    payments = FakePayments.build()
    payments.storefronts.storefronts[(TENANT, "de")] = terms()
    request = ss.RecordStoreSaleRequest(
        request_id="r1",
        sale_id="partner:bundle:s-1:2026-04-10",
        customer_id="cus_1",
        subscription_id="sub_1",
        storefront_id="de",
        channel=channel_pb2.CHANNEL_PARTNER,
        plan_id="premium",
        price=money_pb2.Money(currency_code="EUR", amount_minor=999),
        commission_rate=rate,
    )
    with tenant_scope(TENANT), pytest.raises(InvalidArgument) as refused:
        await payments.servicer.RecordStoreSale(request, NO_CONTEXT)
    assert [v.field for v in refused.value.violations] == ["commission_rate"]
    request.request_id, request.commission_rate = "r2", "0.3"
    with tenant_scope(TENANT):
        first = await payments.servicer.RecordStoreSale(request, NO_CONTEXT)
        again = await payments.servicer.RecordStoreSale(request, NO_CONTEXT)
    assert again == first
    assert (first.sale.channel, first.sale.commission.amount_minor, first.sale.proceeds.amount_minor) == (
        channel_pb2.CHANNEL_PARTNER,
        252,
        747,
    )
    async with payments.uow() as uow:
        entries = await uow.ledger(TENANT).entries_between("2000-01", "2100-12")
    assert [entry.source_id for entry in entries] == [request.sale_id]
