"""AnalyticsService: figures read off the revenue stream, the stream itself, exchange rates and rebuilds."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from babel.numbers import list_currencies
from google.protobuf.message import Message

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import analytics_pb2 as an
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.domain.revenue import (
    Balances,
    DayFigures,
    EntryQuery,
    ExchangeRate,
    MissingExchangeRate,
    MovementTotals,
    Rates,
    RevenueEntry,
    Slice,
    VariantFigures,
    gross_mrr_churn,
    net_mrr_churn,
    ratio,
)
from azotte_gateway.ports import EventHistory, GatewayUnitOfWork
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.revenue_stream import PRODUCERS, RevenueProjection
from azotte_gateway.service_layer.validation import require_mutation
from azotte_platform import convert
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import EQUALITY, Filter
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units

MAX_WINDOW = timedelta(days=3 * 366)
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
MAX_RATE = Decimal(10) ** 9
_EVENT_FIELDS = [
    "customer_id",
    "subscription_id",
    "type",
    "movement",
    "storefront_id",
    "channel",
    "plan_id",
    "currency",
    "promotion_id",
    "campaign_id",
    "experiment_id",
    "variant_id",
    "charge_id",
    "source",
]
EVENT_FILTER = {**{name: EQUALITY for name in _EVENT_FIELDS}, "occur_time": frozenset({">=", "<"})}
_CURRENCIES = frozenset(list_currencies())


def _currency(field_name: str, value: str) -> str:
    if value and value not in _CURRENCIES:
        raise InvalidArgument.field(field_name, "must be an ISO 4217 code like 'EUR'")
    return value


def _slice(message: an.AnalyticsSlice) -> Slice:
    if message.channel not in channel_pb2.Channel.values():
        raise InvalidArgument.field("slice.channel", "is not a known channel")
    channel = channel_pb2.Channel.Name(message.channel).removeprefix("CHANNEL_") if message.channel else ""
    return Slice(
        message.storefront_id, channel, message.plan_id, _currency("slice.currency_code", message.currency_code)
    )


def _moment(request: Message, name: str) -> datetime:
    """A required time of the request, within the years reports cover."""
    moment = convert.optional_from_timestamp(request, name)
    if moment is None:
        raise InvalidArgument.field(name, "is required")
    if not EARLIEST <= moment <= LATEST:
        raise InvalidArgument.field(name, f"must be between {EARLIEST.year} and {LATEST.year}")
    return moment


def _window(
    request: an.GetMrrReportRequest
    | an.GetRevenueSummaryRequest
    | an.GetPaymentReportRequest
    | an.GetCampaignReportRequest
    | an.GetExperimentReportRequest
    | an.GetUsageRevenueReportRequest,
) -> tuple[datetime, datetime]:
    start, end = _moment(request, "start_time"), _moment(request, "end_time")
    if end <= start:
        raise InvalidArgument.field("end_time", "must be after start_time")
    if end - start > MAX_WINDOW:
        raise InvalidArgument.field("end_time", "must be at most 3 years after start_time")
    return start, end


def _day(moment: datetime) -> date:
    """The UTC day an instant falls in."""
    return moment.astimezone(UTC).date()


def _buckets(start: datetime, end: datetime, granularity: int) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at UTC day or calendar-month boundaries."""
    cuts = [start]
    cursor = start
    while True:
        day = datetime(cursor.year, cursor.month, cursor.day, tzinfo=UTC)
        if granularity == an.GRANULARITY_DAY:
            cursor = day + timedelta(days=1)
        else:
            cursor = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=UTC)
        if cursor >= end:
            break
        cuts.append(cursor)
    cuts.append(end)
    return list(itertools.pairwise(cuts))


@dataclass(frozen=True)
class Money:
    """Turns per-currency sums into the figures' one currency (converted at each day's rate when reporting)."""

    currency: str
    rates: Rates | None

    def __call__(self, amount_minor: int, currency: str, on: date) -> int:
        if self.rates is None or currency in ("", self.currency):
            return amount_minor
        try:
            return self.rates.convert(amount_minor, currency, on)
        except MissingExchangeRate as missing:
            raise InvalidArgument.field("reporting_currency", str(missing)) from None


async def _money(uow: GatewayUnitOfWork, tenant_id: str, where: Slice, reporting: str, seen: Iterable[str]) -> Money:
    reporting = _currency("reporting_currency", reporting)
    if reporting:
        return Money(reporting, Rates(reporting, tuple(await uow.revenue.rates(tenant_id, reporting))))
    currencies = sorted({c for c in seen if c} | ({where.currency} if where.currency else set()))
    if len(currencies) > 1:
        raise InvalidArgument.field(
            "reporting_currency", f"is required: the figures span several currencies ({', '.join(currencies)})"
        )
    return Money(currencies[0] if currencies else "", None)


async def _figures(
    uow: GatewayUnitOfWork, tenant_id: str, where: Slice, start: datetime, end: datetime, reporting: str
) -> tuple[list[Balances], list[DayFigures], Money]:
    """The balances at `start`, the days of [start, end), and the currency they are reported in."""
    balances = await uow.revenue.balances(tenant_id, where, start)
    days = await uow.revenue.days(tenant_id, where, start, end)
    money = await _money(uow, tenant_id, where, reporting, [b.currency for b in balances] + [d.currency for d in days])
    return balances, days, money


@dataclass
class _Running:
    """Per-currency running totals while walking a series."""

    mrr: dict[str, int] = field(default_factory=dict)
    trials: int = 0
    paying: int = 0
    customers: int = 0

    @classmethod
    def of(cls, balances: Sequence[Balances]) -> _Running:
        running = cls()
        for b in balances:
            running.mrr[b.currency] = running.mrr.get(b.currency, 0) + b.mrr_minor
            running.trials += b.trials
            running.paying += b.paying_subscriptions
            running.customers += b.paying_customers
        return running

    def add(self, day: DayFigures) -> None:
        self.mrr[day.currency] = self.mrr.get(day.currency, 0) + day.movements.net
        self.trials += day.trial_delta
        self.paying += day.paying_delta
        self.customers += day.customers_gained - day.customers_lost

    def mrr_in(self, money: Money, on: date) -> int:
        return sum(money(amount, currency, on) for currency, amount in self.mrr.items())


def _movements(days: Iterable[DayFigures], money: Money) -> MovementTotals:
    totals = [0, 0, 0, 0, 0]
    for d in days:
        m = d.movements
        for i, amount in enumerate((m.new, m.expansion, m.contraction, m.churn, m.reactivation)):
            totals[i] += money(amount, d.currency, d.day)
    return MovementTotals(*totals)


def _movements_pb(m: MovementTotals) -> an.MrrMovements:
    return an.MrrMovements(
        new_minor=m.new,
        expansion_minor=m.expansion,
        contraction_minor=m.contraction,
        churn_minor=m.churn,
        reactivation_minor=m.reactivation,
        net_minor=m.net,
    )


def _rate(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def _per_unit(amount_minor: int, quantity: Decimal) -> str:
    if not quantity:
        return ""
    return str((Decimal(amount_minor) / quantity).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def _variant_pb(figures: VariantFigures) -> an.VariantPerformance:
    revenue = sorted(figures.revenue_minor.items())
    return an.VariantPerformance(
        variant_id=figures.variant_id,
        assigned=figures.assigned,
        converted=figures.converted,
        conversion_rate=_rate(ratio(figures.converted, figures.assigned)),
        revenue=[convert.money(amount, currency) for currency, amount in revenue],
        revenue_per_customer=[
            convert.money(int((Decimal(amount) / figures.assigned).to_integral_value(ROUND_HALF_EVEN)), currency)
            for currency, amount in revenue
        ],
    )


def _within(days: Sequence[DayFigures], start: datetime, end: datetime) -> list[DayFigures]:
    return [d for d in days if _day(start) <= d.day and datetime(d.day.year, d.day.month, d.day.day, tzinfo=UTC) < end]


def revenue_event_pb(entry: RevenueEntry) -> an.RevenueEvent:
    """The public form of a stream entry."""
    event = an.RevenueEvent(
        event_id=entry.event_id,
        source=entry.source,
        type=entry.type,
        customer_id=entry.customer_id,
        subscription_id=entry.subscription_id,
        plan_id=entry.plan_id,
        storefront_id=entry.storefront_id,
        channel=entry.channel,
        currency=entry.currency,
        state=entry.state,
        cause=entry.cause,
        charge_id=entry.charge_id,
        promotion_id=entry.promotion_id,
        psp=entry.psp,
        decline_reason=entry.decline_reason,
        gross_minor=entry.gross_minor,
        discount_minor=entry.discount_minor,
        tax_minor=entry.tax_minor,
        net_minor=entry.net_minor,
        refund_minor=entry.refund_minor,
        credit_minor=entry.credit_minor,
        credit_applied_minor=entry.credit_applied_minor,
        ledger_net_minor=entry.ledger_net_minor,
        ledger_tax_minor=entry.ledger_tax_minor,
        store_commission_minor=entry.store_commission_minor,
        movement=entry.movement.value,
        mrr_delta_minor=entry.mrr_delta_minor,
        campaign_id=entry.campaign_id,
        experiment_id=entry.experiment_id,
        variant_id=entry.variant_id,
    )
    event.occur_time.FromDatetime(entry.occur_time)
    return event


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument.field("filter", f"occur_time {value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise InvalidArgument.field("filter", f"occur_time {value!r} needs a time zone (e.g. Z)")
    return moment


def _stamp(message: an.MrrPoint | an.RevenuePoint, start: datetime, end: datetime) -> None:
    message.start_time.FromDatetime(start)
    message.end_time.FromDatetime(end)


@dataclass(frozen=True)
class Analytics:
    """AnalyticsService: every answer is read in one unit of work of the caller's tenant."""

    units: Units[GatewayUnitOfWork]
    projection: RevenueProjection
    history: EventHistory

    async def get_mrr_report(self, caller: Caller, request: an.GetMrrReportRequest) -> an.GetMrrReportResponse:
        authorize(caller.principal, Permission.READ_ANALYTICS)
        where = _slice(request.slice)
        start, end = _window(request)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.GetMrrReportResponse:
            balances, days, money = await _figures(uow, tenant_id, where, start, end, request.reporting_currency)
            running = _Running.of(balances)
            answer = an.GetMrrReportResponse(
                currency=money.currency, starting_mrr_minor=running.mrr_in(money, _day(start))
            )
            for bucket_start, bucket_end in _buckets(start, end, request.granularity):
                inside = _within(days, bucket_start, bucket_end)
                for day in inside:
                    running.add(day)
                point = an.MrrPoint(
                    mrr_minor=running.mrr_in(money, _day(bucket_end - timedelta(microseconds=1))),
                    movements=_movements_pb(_movements(inside, money)),
                    active_subscriptions=running.paying,
                    trials=running.trials,
                    paying_customers=running.customers,
                )
                _stamp(point, bucket_start, bucket_end)
                answer.points.append(point)
            return answer

        return await self.units.read(work)

    async def get_churn_report(self, caller: Caller, request: an.GetChurnReportRequest) -> an.GetChurnReportResponse:
        authorize(caller.principal, Permission.READ_ANALYTICS)
        where = _slice(request.slice)
        if not 0 <= request.window_days <= 366:
            raise InvalidArgument.field("window_days", "must be between 1 and 366 (0 for 30)")
        end = _moment(request, "time")
        start = end - timedelta(days=request.window_days or 30)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.GetChurnReportResponse:
            balances, days, money = await _figures(uow, tenant_id, where, start, end, request.reporting_currency)
            running = _Running.of(balances)
            mrr_at_start = running.mrr_in(money, _day(start))
            movements = _movements(days, money)
            lost = sum(d.customers_lost for d in days)
            answer = an.GetChurnReportResponse(
                currency=money.currency,
                customers_at_start=running.customers,
                customers_lost=lost,
                customer_churn_rate=_rate(ratio(lost, running.customers)),
                mrr_at_start_minor=mrr_at_start,
                movements=_movements_pb(movements),
                gross_mrr_churn_rate=_rate(gross_mrr_churn(movements, mrr_at_start)),
                net_mrr_churn_rate=_rate(net_mrr_churn(movements, mrr_at_start)),
            )
            answer.start_time.FromDatetime(start)
            answer.end_time.FromDatetime(end)
            return answer

        return await self.units.read(work)

    async def get_payment_report(
        self, caller: Caller, request: an.GetPaymentReportRequest
    ) -> an.GetPaymentReportResponse:
        authorize(caller.principal, Permission.READ_ANALYTICS)
        where = _slice(request.slice)
        start, end = _window(request)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.GetPaymentReportResponse:
            series = await uow.revenue.charge_series(tenant_id, where, start, end)
            days = await uow.revenue.days(tenant_id, where, start, end)
            started = sum(d.dunning_started for d in days)
            recovered = sum(d.recovered for d in days)
            declines = await uow.revenue.declines(tenant_id, where, start, end)
            return an.GetPaymentReportResponse(
                charge_series=series.series,
                first_attempt_succeeded=series.first_attempt_succeeded,
                succeeded_after_retries=series.succeeded,
                first_attempt_success_rate=_rate(ratio(series.first_attempt_succeeded, series.series)),
                success_rate=_rate(ratio(series.succeeded, series.series)),
                dunning_started=started,
                dunning_recovered=recovered,
                dunning_recovery_rate=_rate(ratio(recovered, started)),
                declines=[an.DeclineBreakdown(reason=d.reason, psp=d.psp, count=d.count) for d in declines],
            )

        return await self.units.read(work)

    async def get_revenue_summary(
        self, caller: Caller, request: an.GetRevenueSummaryRequest
    ) -> an.GetRevenueSummaryResponse:
        authorize(caller.principal, Permission.READ_REVENUE_REPORTS)
        where = _slice(request.slice)
        start, end = _window(request)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.GetRevenueSummaryResponse:
            days = await uow.revenue.days(tenant_id, where, start, end)
            money = await _money(uow, tenant_id, where, request.reporting_currency, [d.currency for d in days])
            answer = an.GetRevenueSummaryResponse(currency=money.currency)
            total = an.RevenuePoint()
            for bucket_start, bucket_end in _buckets(start, end, request.granularity):
                point = an.RevenuePoint()
                for d in _within(days, bucket_start, bucket_end):
                    point.gross_minor += money(d.gross_minor, d.currency, d.day)
                    point.discounts_minor += money(d.discount_minor, d.currency, d.day)
                    point.refunds_minor += money(d.refund_minor, d.currency, d.day)
                    point.credits_minor += money(d.credit_minor, d.currency, d.day)
                    point.tax_minor += money(d.ledger_tax_minor, d.currency, d.day)
                    point.net_minor += money(d.ledger_net_minor, d.currency, d.day)
                    point.store_commission_minor += money(d.store_commission_minor, d.currency, d.day)
                point.proceeds_minor = point.net_minor - point.store_commission_minor
                _stamp(point, bucket_start, bucket_end)
                answer.points.append(point)
                for name in (
                    "gross_minor",
                    "discounts_minor",
                    "refunds_minor",
                    "credits_minor",
                    "tax_minor",
                    "net_minor",
                    "store_commission_minor",
                    "proceeds_minor",
                ):
                    setattr(total, name, getattr(total, name) + getattr(point, name))
            _stamp(total, start, end)
            answer.total.CopyFrom(total)
            return answer

        return await self.units.read(work)

    async def get_campaign_report(
        self, caller: Caller, request: an.GetCampaignReportRequest
    ) -> an.GetCampaignReportResponse:
        authorize(caller.principal, Permission.READ_ANALYTICS)
        where = _slice(request.slice)
        start, end = _window(request)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.GetCampaignReportResponse:
            rows = await uow.revenue.campaigns(tenant_id, where, start, end)
            conversions = await uow.revenue.campaign_conversions(tenant_id, where, start, end)
            return an.GetCampaignReportResponse(
                rows=[
                    an.CampaignRow(
                        promotion_id=r.promotion_id,
                        currency=r.currency,
                        redemptions=r.redemptions,
                        discount_minor=r.discount_minor,
                        revenue_minor=r.revenue_minor,
                    )
                    for r in rows
                ],
                conversions=[
                    an.CampaignConversion(
                        campaign_id=c.campaign_id,
                        promotion_id=c.promotion_id,
                        offers_issued=c.offers_issued,
                        offers_redeemed=c.offers_redeemed,
                        conversion_rate=_rate(ratio(c.offers_redeemed, c.offers_issued)),
                    )
                    for c in conversions
                ],
            )

        return await self.units.read(work)

    async def get_usage_revenue_report(
        self, caller: Caller, request: an.GetUsageRevenueReportRequest
    ) -> an.GetUsageRevenueReportResponse:
        authorize(caller.principal, Permission.READ_ANALYTICS)
        where = _slice(request.slice)
        start, end = _window(request)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.GetUsageRevenueReportResponse:
            rows = await uow.revenue.usage(tenant_id, where, start, end)
            return an.GetUsageRevenueReportResponse(
                rows=[
                    an.UsageRevenueRow(
                        meter_key=r.meter_key,
                        currency=r.currency,
                        quantity=format(r.quantity.normalize(), "f"),
                        billed_minor=r.billed_minor,
                        credit_minor=r.credit_minor,
                        charged_minor=r.charged_minor,
                        billed_per_unit_minor=_per_unit(r.billed_minor, r.quantity),
                    )
                    for r in rows
                ]
            )

        return await self.units.read(work)

    async def get_experiment_report(
        self, caller: Caller, request: an.GetExperimentReportRequest
    ) -> an.GetExperimentReportResponse:
        authorize(caller.principal, Permission.READ_ANALYTICS)
        if not request.experiment_id:
            raise InvalidArgument.field("experiment_id", "is required")
        start, end = _window(request)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.GetExperimentReportResponse:
            variants = await uow.revenue.experiment(tenant_id, request.experiment_id, start, end)
            return an.GetExperimentReportResponse(variants=[_variant_pb(v) for v in variants])

        return await self.units.read(work)

    async def list_revenue_events(
        self, caller: Caller, request: an.ListRevenueEventsRequest
    ) -> an.ListRevenueEventsResponse:
        authorize(caller.principal, Permission.READ_ANALYTICS)
        parsed = Filter.parse(request.filter, EVENT_FILTER)
        since, until = parsed.value("occur_time", ">="), parsed.value("occur_time", "<")
        query = EntryQuery(
            {name: value for name in _EVENT_FIELDS if (value := parsed.value(name)) is not None},
            _instant(since) if since else None,
            _instant(until) if until else None,
        )
        page = PageRequest.of(request, "revenue_events", parsed.canonical())

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.ListRevenueEventsResponse:
            found = await uow.revenue.entries(tenant_id, query, page)
            return an.ListRevenueEventsResponse(
                events=[revenue_event_pb(entry) for entry in found.items], next_page_token=found.next_page_token
            )

        return await self.units.read(work)

    async def set_exchange_rate(self, caller: Caller, request: an.SetExchangeRateRequest) -> an.SetExchangeRateResponse:
        authorize(caller.principal, Permission.MANAGE_TENANT)
        require_mutation(request)
        currency = _currency("currency_code", request.currency_code)
        reporting = _currency("reporting_currency", request.reporting_currency)
        if not currency:
            raise InvalidArgument.field("currency_code", "is required")
        if not reporting:
            raise InvalidArgument.field("reporting_currency", "is required")
        if currency == reporting:
            raise InvalidArgument.field("reporting_currency", "must differ from currency_code")
        try:
            rate = Decimal(request.rate)
        except InvalidOperation:
            raise InvalidArgument.field("rate", "must be a decimal number like '1.0842'") from None
        if not rate.is_finite() or not Decimal(0) < rate < MAX_RATE:
            raise InvalidArgument.field("rate", "must be a positive decimal below 1,000,000,000")
        try:
            effective = date.fromisoformat(request.effective_date)
        except ValueError:
            raise InvalidArgument.field("effective_date", "must be a date like '2026-01-31'") from None
        stored = ExchangeRate(currency, reporting, rate, effective)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.SetExchangeRateResponse:
            await uow.revenue.put_rate(tenant_id, stored)
            return an.SetExchangeRateResponse(rate=_rate_pb(stored))

        return await self.units.mutate(request, an.SetExchangeRateResponse, work)

    async def list_exchange_rates(
        self, caller: Caller, request: an.ListExchangeRatesRequest
    ) -> an.ListExchangeRatesResponse:
        authorize(caller.principal, Permission.READ_ANALYTICS)
        reporting = _currency("reporting_currency", request.reporting_currency)
        if not reporting:
            raise InvalidArgument.field("reporting_currency", "is required")

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.ListExchangeRatesResponse:
            return an.ListExchangeRatesResponse(
                rates=[_rate_pb(r) for r in await uow.revenue.rates(tenant_id, reporting)]
            )

        return await self.units.read(work)

    async def rebuild_analytics(
        self, caller: Caller, request: an.RebuildAnalyticsRequest
    ) -> an.RebuildAnalyticsResponse:
        authorize(caller.principal, Permission.MANAGE_TENANT)
        require_mutation(request)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> an.RebuildAnalyticsResponse:
            await uow.revenue.lock_tenant(tenant_id)
            await uow.revenue.forget(tenant_id)
            replayed = 0
            for producer in PRODUCERS:
                async for event in self.history.replay(producer, tenant_id):
                    replayed += 1
                    await self.projection.apply(uow, event)
            recorded = await uow.revenue.count(tenant_id)
            return an.RebuildAnalyticsResponse(events_replayed=replayed, entries_recorded=recorded)

        return await self.units.mutate(request, an.RebuildAnalyticsResponse, work)


def _rate_pb(rate: ExchangeRate) -> an.ExchangeRateEntry:
    return an.ExchangeRateEntry(
        currency_code=rate.currency,
        reporting_currency=rate.reporting_currency,
        rate=str(rate.rate),
        effective_date=rate.effective_date.isoformat(),
    )
