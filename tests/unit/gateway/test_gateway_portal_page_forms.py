"""The portal pages' reading of form values: amounts in major units, times, promotions and limits."""

from __future__ import annotations

import pytest

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.metering.v1 import wallets_pb2 as wa
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.entrypoints.portal.forms import PortalForm
from azotte_gateway.entrypoints.portal.pages.campaigns import promotion_from
from azotte_gateway.entrypoints.portal.pages.form_values import amount_minor, enum_label, instant
from azotte_gateway.entrypoints.portal.pages.usage import limit_from
from azotte_platform.errors import InvalidArgument


def form(**values: str) -> PortalForm:
    return PortalForm({name: [value] for name, value in values.items()})


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [("12.50", "USD", 1250), ("5", "USD", 500), (" 0.01 ", "EUR", 1), ("1200", "JPY", 1200), ("1.234", "BHD", 1234)],
)
def test_an_amount_typed_in_major_units_is_sent_in_minor_units(typed: str, currency: str, minor: int) -> None:
    assert amount_minor(typed, currency, "amount") == minor


@pytest.mark.parametrize(
    "typed", ["", "abc", "1.001", "0", "-5", "NaN", "Infinity", "1e30", "99999999999999999999", "12.5.0", "1\x00"]
)
def test_an_amount_that_is_not_a_positive_amount_of_the_currency_is_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        amount_minor(typed, "USD", "amount")
    assert refused.value.violations[0].field == "amount"


def test_a_yen_amount_takes_no_decimals() -> None:
    with pytest.raises(InvalidArgument, match="at most 0 decimals"):
        amount_minor("10.5", "JPY", "amount")


def test_a_local_time_is_read_as_utc_and_a_wrong_one_names_its_field() -> None:
    assert instant("2027-01-31T09:30", "effective_time").ToJsonString() == "2027-01-31T09:30:00Z"
    assert instant("2027-01-31T09:30+02:00", "effective_time").ToJsonString() == "2027-01-31T07:30:00Z"
    with pytest.raises(InvalidArgument) as refused:
        instant("next week", "effective_time")
    assert refused.value.violations[0].field == "effective_time"


def test_enum_values_are_shown_without_their_prefix() -> None:
    assert enum_label(gw.Charge(state=gw.CHARGE_STATE_PARTIALLY_REFUNDED), "state") == "Partially refunded"
    assert enum_label(gw.Charge(), "state") == "Unspecified"


def test_a_percent_off_promotion_is_read_in_basis_points() -> None:
    promotion = promotion_from(
        form(display_name="Spring", kind="percent_off", value="12.5", duration="repeating", duration_periods="3")
    )
    assert promotion.display_name == "Spring"
    assert promotion.discount.kind == pr.DISCOUNT_KIND_PERCENT_OFF
    assert promotion.discount.percent_basis_points == 1250
    assert promotion.discount.duration == pr.DISCOUNT_DURATION_REPEATING
    assert promotion.discount.duration_periods == 3
    assert not promotion.limits.HasField("max_redemptions")


def test_an_amount_off_promotion_carries_its_currency_times_and_limit() -> None:
    promotion = promotion_from(
        form(
            display_name="Five off",
            kind="amount_off",
            value="5",
            currency_code="eur",
            duration="once",
            start_time="2027-01-01T00:00",
            max_redemptions="100",
        )
    )
    assert [(a.amount_minor, a.currency_code) for a in promotion.discount.amounts] == [(500, "EUR")]
    assert promotion.start_time.ToJsonString() == "2027-01-01T00:00:00Z"
    assert not promotion.HasField("end_time")
    assert promotion.limits.max_redemptions == 100


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "percent_off", "value": "20", "duration": "once"}, "display_name"),
        ({"display_name": "x", "kind": "gift", "value": "20", "duration": "once"}, "kind"),
        ({"display_name": "x", "kind": "percent_off", "value": "120", "duration": "once"}, "value"),
        ({"display_name": "x", "kind": "percent_off", "value": "0.001", "duration": "once"}, "value"),
        ({"display_name": "x", "kind": "percent_off", "value": "1e999999999", "duration": "once"}, "value"),
        ({"display_name": "x", "kind": "percent_off", "value": "NaN", "duration": "once"}, "value"),
        ({"display_name": "x", "kind": "percent_off", "value": "20", "duration": "weekly"}, "duration"),
        ({"display_name": "x", "kind": "amount_off", "value": "5", "duration": "once"}, "currency_code"),
        ({"display_name": "x", "kind": "extra_trial_days", "value": "0", "duration": "once"}, "value"),
        (
            {"display_name": "x", "kind": "percent_off", "value": "5", "duration": "once", "max_redemptions": "0"},
            "max_redemptions",
        ),
    ],
)
def test_a_promotion_form_with_a_wrong_field_is_refused_naming_it(values: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        promotion_from(form(**values))
    assert refused.value.violations[0].field == field


def test_a_spend_limit_with_alerts_is_read_for_the_customer() -> None:
    limit = limit_from(
        form(
            feature_key="tokens",
            measure="spend",
            value="25.00",
            policy="suspend",
            currency_code="usd",
            alert_percents="50, 80,100",
        ),
        "cus_1",
    )
    assert (limit.limit_id, limit.customer_id) == ("cus_1-tokens-spend", "cus_1")
    assert limit.measure == wa.LIMIT_MEASURE_SPEND and limit.policy == wa.LIMIT_POLICY_SUSPEND
    assert (limit.value, limit.currency_code, list(limit.alert_percents)) == ("25.00", "USD", [50, 80, 100])


@pytest.mark.parametrize("alerts", ["0", "101", "half", "50;80", "²", "-5"])
def test_alert_percentages_outside_1_to_100_are_refused(alerts: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        limit_from(form(feature_key="f", measure="units", value="5", policy="suspend", alert_percents=alerts), "c")
    assert refused.value.violations[0].field == "alert_percents"
