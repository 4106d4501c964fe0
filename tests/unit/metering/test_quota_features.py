"""Quota features measured by meters: the definition is checked naming the field, one meter measures a feature,
and each change of a customer's usage or period reports the feature's use in its window (`quota.used`): the
catalog's reset period counted from the billing period's start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte_metering.domain.charges import Period, UsageAccount
from azotte_metering.domain.meters import Aggregation, Meter, QuotaFeature
from azotte_metering.domain.quotas import HISTORY_START, QuotaReset, QuotaWindow, quota_window
from azotte_metering.domain.wallets import GrantSource
from azotte_metering.errors import InvalidMeter
from azotte_metering.service_layer import meters, wallets
from azotte_platform.clock import FixedClock
from tests.unit.metering.billing_fakes import MARCH, T0, TENANT, Billing
from tests.unit.metering.metering_fakes import UseCases, event

LARGE = QuotaFeature("tokens_gpt_large", (("model", "gpt-large"),))
ALL_TOKENS = QuotaFeature("tokens_all")
APRIL = Period(MARCH.end, datetime(2026, 5, 1, tzinfo=UTC))


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def tokens_meter(*quotas: QuotaFeature, aggregation: Aggregation = Aggregation.SUM) -> Meter:
    return Meter(TENANT, "tokens", "Tokens", "ai.tokens", "$.tokens", aggregation, ("model",), T0, T0, quotas)


@pytest.mark.parametrize(
    ("meter", "field", "says"),
    [
        (tokens_meter(LARGE, aggregation=Aggregation.MAX), "meter.quota_features", "SUM or COUNT"),
        (tokens_meter(QuotaFeature("Tokens-Large")), "meter.quota_features[0].feature_key", "snake_case"),
        (tokens_meter(LARGE, LARGE), "meter.quota_features[1].feature_key", "twice"),
        (
            tokens_meter(ALL_TOKENS, QuotaFeature("tokens_eu", (("region", "eu"),))),
            "meter.quota_features[1].dimensions",
            "'region' is not a dimension",
        ),
        (tokens_meter(QuotaFeature("tokens_x", (("model", ""),))), "meter.quota_features[0].dimensions", "1-256"),
        (tokens_meter(*(QuotaFeature(f"f{i}") for i in range(9))), "meter.quota_features", "at most 8"),
    ],
)
def test_a_bad_quota_feature_is_refused_naming_its_field(meter: Meter, field: str, says: str) -> None:
    with pytest.raises(InvalidMeter) as refused:
        meter.validated()
    assert refused.value.violations[0].field == field
    assert says in refused.value.violations[0].description


async def test_one_meter_measures_a_feature_and_its_features_change_after_it_counted_events() -> None:
    use_cases = UseCases(FixedClock(T0))
    await use_cases.meter("tokens", Aggregation.SUM, "tokens", dimensions=["model"], quota_features=[LARGE])
    with pytest.raises(InvalidMeter) as taken:
        await use_cases.meter("calls", Aggregation.COUNT, quota_features=[QuotaFeature("tokens_gpt_large")])
    assert taken.value.violations[0].field == "meter.quota_features[0].feature_key"
    assert taken.value.violations[0].description == "'tokens_gpt_large' is measured by the meter 'tokens' already"
    await use_cases.ingest(event("e1", T0, {"tokens": 5, "model": "gpt-large"}))
    async with use_cases.uow as uow:
        changed = await meters.update_meter(uow, TENANT, "tokens", {"quota_features": (LARGE, ALL_TOKENS)})
    assert changed.quota_features == (LARGE, ALL_TOKENS)


def used(billing: Billing) -> list[tuple[str, int, datetime]]:
    """(feature, used, period start) of each `quota.used` published."""
    return [
        (event.payload.feature_key, event.payload.used, event.payload.period_start_time.ToDatetime(UTC))  # type: ignore[attr-defined]
        for event in billing.published("quota.used")
    ]


def windows(billing: Billing) -> list[tuple[str, int, datetime, datetime | None]]:
    """(feature, used, window start, window end or None) of each `quota.used` published."""
    return [
        (
            event.payload.feature_key,  # type: ignore[attr-defined]
            event.payload.used,  # type: ignore[attr-defined]
            event.payload.period_start_time.ToDatetime(UTC),  # type: ignore[attr-defined]
            event.payload.period_end_time.ToDatetime(UTC) if event.payload.HasField("period_end_time") else None,  # type: ignore[attr-defined]
        )
        for event in billing.published("quota.used")
    ]


async def test_each_usage_reports_its_meters_features_in_whole_units_over_their_dimension_values() -> None:
    billing = Billing()
    billing.uow.data.quota_meters.append(tokens_meter(LARGE, ALL_TOKENS))
    calls = QuotaFeature("api_calls")
    billing.uow.data.quota_meters.append(
        Meter(TENANT, "calls", "Calls", "ai.call", "", Aggregation.COUNT, (), T0, T0, (calls,))
    )
    await billing.usage("1500.4", model="gpt-large")
    await billing.usage("100", model="gpt-small")
    assert used(billing) == [  # the usage of `tokens` reports its features, not those of `calls`
        ("tokens_gpt_large", 1501, MARCH.start),
        ("tokens_all", 1501, MARCH.start),
        ("tokens_gpt_large", 1501, MARCH.start),
        ("tokens_all", 1601, MARCH.start),
    ]


async def test_a_new_period_reports_the_features_afresh_and_another_tenant_sees_nothing() -> None:
    billing = Billing()
    billing.uow.data.quota_meters.append(tokens_meter(LARGE))
    billing.uow.data.quota_meters.append(
        Meter("other", "tokens", "Tokens", "ai.tokens", "$.tokens", Aggregation.SUM, (), T0, T0, (ALL_TOKENS,))
    )
    await billing.usage("700", model="gpt-large")
    billing.clock.set(APRIL.start + timedelta(minutes=1))
    account = UsageAccount("cus_1", "sub_1", "sf_us", "plan_ai", "USD", APRIL)
    await billing.follow(account)
    assert used(billing) == [("tokens_gpt_large", 700, MARCH.start), ("tokens_gpt_large", 0, APRIL.start)]


async def test_a_tenant_without_measured_features_reports_nothing_nor_does_a_wallet_change() -> None:
    billing = Billing()
    await billing.usage("700", model="gpt-large")
    assert used(billing) == []
    billing.uow.data.quota_meters.append(tokens_meter(LARGE))
    await billing.run(lambda uow: wallets.grant_credit(uow, TENANT, "cus_1", "USD", 500, GrantSource.ADMIN))
    assert used(billing) == []


YEAR = Period(at("2026-01-31"), at("2027-01-31"))


@pytest.mark.parametrize(
    ("reset", "period", "now", "window"),
    [
        (QuotaReset.DAY, MARCH, at("2026-03-10", 12), QuotaWindow(at("2026-03-10"), at("2026-03-11"))),
        (QuotaReset.WEEK, MARCH, at("2026-03-10", 12), QuotaWindow(at("2026-03-08"), at("2026-03-15"))),
        (QuotaReset.WEEK, MARCH, at("2026-03-30"), QuotaWindow(at("2026-03-29"), MARCH.end)),  # cut at the period's end
        (QuotaReset.MONTH, MARCH, at("2026-03-10"), QuotaWindow(MARCH.start, MARCH.end)),
        (QuotaReset.MONTH, YEAR, at("2026-03-05"), QuotaWindow(at("2026-02-28"), at("2026-03-31"))),  # month ends
        (QuotaReset.MONTH, YEAR, at("2027-01-30"), QuotaWindow(at("2026-12-31"), YEAR.end)),
        (QuotaReset.YEAR, MARCH, at("2026-03-10"), QuotaWindow(MARCH.start, MARCH.end)),
        (QuotaReset.BILLING_PERIOD, YEAR, at("2026-03-05"), QuotaWindow(YEAR.start, YEAR.end)),
        (QuotaReset.NEVER, MARCH, at("2026-03-10"), QuotaWindow(HISTORY_START, None)),
        (QuotaReset.DAY, MARCH, at("2026-02-20"), QuotaWindow(MARCH.start, at("2026-03-02"))),  # before: the first
        (QuotaReset.DAY, MARCH, at("2026-04-03"), QuotaWindow(at("2026-03-31"), MARCH.end)),  # after: the last
    ],
)
def test_a_quota_window_is_the_reset_period_counted_from_the_billing_period_start_within_it(
    reset: QuotaReset, period: Period, now: datetime, window: QuotaWindow
) -> None:
    assert quota_window(reset, period, now) == window


async def test_a_daily_quota_on_a_monthly_plan_counts_each_day_from_the_period_start() -> None:
    billing = Billing()
    billing.resets.resets["tokens_gpt_large"] = QuotaReset.DAY
    billing.uow.data.quota_meters.append(tokens_meter(LARGE, ALL_TOKENS))
    billing.clock.set(at("2026-03-01", 9))
    await billing.usage("700", model="gpt-large")
    billing.clock.set(at("2026-03-02", 10))
    await billing.usage("50", model="gpt-large")
    await billing.usage("30", at=at("2026-03-01", 23), model="gpt-large")  # late: counted on its own day
    assert windows(billing) == [
        ("tokens_gpt_large", 700, MARCH.start, at("2026-03-02")),
        ("tokens_all", 700, MARCH.start, MARCH.end),  # reset every billing period: the period's totals
        ("tokens_gpt_large", 50, at("2026-03-02"), at("2026-03-03")),
        ("tokens_all", 750, MARCH.start, MARCH.end),
        ("tokens_gpt_large", 50, at("2026-03-02"), at("2026-03-03")),
        ("tokens_all", 780, MARCH.start, MARCH.end),
    ]


async def test_a_quota_that_never_resets_counts_every_period_of_the_customer() -> None:
    billing = Billing()
    billing.resets.resets["tokens_all"] = QuotaReset.NEVER
    billing.uow.data.quota_meters.append(tokens_meter(ALL_TOKENS))
    billing.clock.set(at("2026-03-05"))
    await billing.usage("700")
    billing.clock.set(APRIL.start + timedelta(minutes=1))
    await billing.follow(UsageAccount("cus_1", "sub_1", "sf_us", "plan_ai", "USD", APRIL))
    await billing.usage("100", at=APRIL.start + timedelta(minutes=1))
    assert windows(billing) == [
        ("tokens_all", 700, HISTORY_START, None),
        ("tokens_all", 700, HISTORY_START, None),
        ("tokens_all", 800, HISTORY_START, None),
    ]
