"""Store-billed revenue on PostgreSQL: sales the App Store and Google Play collected, booked once each with the
storefront's commission per store, in the ledger's balances and the revenue report per channel."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import timestamp_pb2

from azotte.catalog.v1 import catalog_pb2
from azotte.common.v1 import channel_pb2
from azotte.payments.v1 import payments_pb2 as P
from azotte.payments.v1 import store_sales_pb2 as S
from tests.integration.payments.payments_harness import START, Payments, eur


def sale(sale_id: str, channel: channel_pb2.Channel.ValueType, amount: int = 999) -> S.RecordStoreSaleRequest:
    when = timestamp_pb2.Timestamp()
    when.FromDatetime(START)
    return S.RecordStoreSaleRequest(
        request_id=uuid.uuid4().hex,
        sale_id=sale_id,
        customer_id="cus_1",
        subscription_id="sub_1",
        storefront_id="de",
        channel=channel,
        plan_id="premium",
        price=eur(amount),
        occur_time=when,
    )


async def test_store_sales_show_gross_commission_and_proceeds_per_channel(payments: Payments, tenant: str) -> None:
    storefront = payments.catalog.storefronts[(tenant, "de")]
    storefront.payment_routing.store_commissions.extend(
        [
            catalog_pb2.StoreCommission(channel=channel_pb2.CHANNEL_APP_STORE, rate="0.15"),
            catalog_pb2.StoreCommission(channel=channel_pb2.CHANNEL_GOOGLE_PLAY, rate="0.30"),
        ]
    )
    booked = await payments.call(tenant, "RecordStoreSale", sale("apple-1", channel_pb2.CHANNEL_APP_STORE))
    again = await payments.call(tenant, "RecordStoreSale", sale("apple-1", channel_pb2.CHANNEL_APP_STORE))
    await payments.call(tenant, "RecordStoreSale", sale("play-1", channel_pb2.CHANNEL_GOOGLE_PLAY))
    assert (booked.sale.commission.amount_minor, booked.sale.proceeds.amount_minor) == (126, 873)
    assert again.sale == booked.sale

    period = f"{START:%Y-%m}"
    report = await payments.call(
        tenant,
        "GetRevenueReport",
        P.GetRevenueReportRequest(period_from=period, period_to=period, group_by=[P.REVENUE_DIMENSION_CHANNEL]),
    )
    rows = {
        row.channel: (row.gross_sales.amount_minor, row.store_commission.amount_minor, row.proceeds.amount_minor)
        for row in report.rows
    }
    assert rows == {channel_pb2.CHANNEL_APP_STORE: (839, 126, 713), channel_pb2.CHANNEL_GOOGLE_PLAY: (839, 252, 587)}
    ledger = await payments.ledger(tenant, "EUR")
    accounts = {a.account: a.balance.amount_minor for c in ledger.currencies for a in c.accounts}
    assert (accounts["store_receivable"], accounts["store_commission"]) == (873 + 747, 126 + 252)
    assert sum(accounts.values()) == 0


async def test_a_sale_in_another_currency_is_refused_naming_the_field(payments: Payments, tenant: str) -> None:
    request = sale("apple-2", channel_pb2.CHANNEL_APP_STORE)
    request.price.currency_code = "USD"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await payments.call(tenant, "RecordStoreSale", request)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "price.currency_code" in (refused.value.details() or "")
    ledger = await payments.ledger(tenant, "USD")
    assert not ledger.currencies
