"""`azotte revenue mrr|churn|payments|summary|campaigns|experiment|usage|events|rate|rates|rebuild`: analytics in a
terminal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import plotext
import typer
from rich.table import Table
from rich.text import Text

from azotte_gateway.cli.billing import _call, _print
from azotte_gateway.cli.client import new_request_id

Start = Annotated[str, typer.Option("--from", help="Start, RFC 3339 (default: 90 days ago).")]
End = Annotated[str, typer.Option("--to", help="End, RFC 3339 (default: now).")]
Granularity = Annotated[str, typer.Option(help="day or month.")]
Reporting = Annotated[str, typer.Option("--currency", help="Reporting currency (converted at stored rates).")]
Storefront = Annotated[str, typer.Option(help="Only this storefront.")]
Plot = Annotated[bool, typer.Option("--plot/--no-plot", help="Draw the series in the terminal.")]


def _window(start: str, end: str) -> dict[str, str]:
    until = datetime.fromisoformat(end) if end else datetime.now(UTC)
    since = datetime.fromisoformat(start) if start else until - timedelta(days=90)
    return {"start_time": since.isoformat(), "end_time": until.isoformat()}


def _amount(minor: str | int, currency: str) -> str:
    return f"{int(minor) / 100:,.2f} {currency}".strip()


def _chart(title: str, labels: list[str], series: dict[str, list[float]]) -> Text:
    plotext.clear_figure()
    plotext.theme("clear")
    plotext.plotsize(100, 20)
    plotext.title(title)
    positions = list(range(len(labels)))
    for name, values in series.items():
        plotext.plot(positions, values, label=name)
    step = max(1, len(labels) // 8)
    plotext.xticks(positions[::step], labels[::step])
    return Text.from_ansi(plotext.build())


def mrr(
    start: Start = "",
    end: End = "",
    granularity: Granularity = "month",
    currency: Reporting = "",
    storefront: Storefront = "",
    plot: Plot = True,
) -> None:
    """MRR, its movements, active subscriptions and trials, per day or month."""
    params = {
        **_window(start, end),
        "granularity": granularity,
        "reporting_currency": currency,
        "storefront_id": storefront,
    }
    answer = _call("GET", "/v1/analytics/mrr", params=params)
    unit = answer["currency"]
    table = Table("from", "MRR", "new", "expansion", "contraction", "churn", "reactivation", "active", "trials")
    for p in answer["points"]:
        m = p["movements"]
        table.add_row(
            p["start_time"][:10],
            _amount(p["mrr_minor"], unit),
            *(_amount(m[f"{k}_minor"], "") for k in ("new", "expansion", "contraction", "churn", "reactivation")),
            p["active_subscriptions"],
            p["trials"],
        )
    _print(table)
    if plot and answer["points"]:
        labels = [p["start_time"][:10] for p in answer["points"]]
        _print(_chart(f"MRR ({unit})", labels, {"MRR": [int(p["mrr_minor"]) / 100 for p in answer["points"]]}))


def churn(
    time: Annotated[str, typer.Option(help="The window's end, RFC 3339 (default: now).")] = "",
    days: Annotated[int, typer.Option(help="The window's length in days.")] = 30,
    currency: Reporting = "",
) -> None:
    """Customer churn and gross and net MRR churn over a window."""
    moment = time or datetime.now(UTC).isoformat()
    answer = _call(
        "GET", "/v1/analytics/churn", params={"time": moment, "window_days": days, "reporting_currency": currency}
    )
    table = Table("figure", "value", title=f"{answer['start_time'][:10]} .. {answer['end_time'][:10]}")
    table.add_row("customers at start", answer["customers_at_start"])
    table.add_row("customers lost", answer["customers_lost"])
    table.add_row("customer churn", answer["customer_churn_rate"] or "-")
    table.add_row("MRR at start", _amount(answer["mrr_at_start_minor"], answer["currency"]))
    table.add_row("gross MRR churn", answer["gross_mrr_churn_rate"] or "-")
    table.add_row("net MRR churn", answer["net_mrr_churn_rate"] or "-")
    _print(table)


def payments(start: Start = "", end: End = "") -> None:
    """Payment success, dunning recovery and declines by reason and PSP."""
    answer = _call("GET", "/v1/analytics/payments", params=_window(start, end))
    table = Table("figure", "value")
    table.add_row("charge series", answer["charge_series"])
    table.add_row("first-attempt success", answer["first_attempt_success_rate"] or "-")
    table.add_row("success after retries", answer["success_rate"] or "-")
    table.add_row("dunning recovered / started", f"{answer['dunning_recovered']} / {answer['dunning_started']}")
    table.add_row("dunning recovery", answer["dunning_recovery_rate"] or "-")
    declines = Table("decline reason", "PSP", "count", title="Declines")
    for d in answer["declines"]:
        declines.add_row(d["reason"], d["psp"], d["count"])
    _print(table)
    _print(declines)


def summary(
    start: Start = "",
    end: End = "",
    granularity: Granularity = "month",
    currency: Reporting = "",
    plot: Plot = True,
) -> None:
    """Gross, discounts, refunds, credits, tax, net revenue, store commission and proceeds (admin)."""
    params = {**_window(start, end), "granularity": granularity, "reporting_currency": currency}
    answer = _call("GET", "/v1/analytics/revenue", params=params)
    unit = answer["currency"]
    table = Table("from", "gross", "discounts", "refunds", "credits", "tax", "net", "store commission", "proceeds")
    columns = ("gross_minor", "discounts_minor", "refunds_minor", "credits_minor", "tax_minor", "net_minor")
    for p in [*answer["points"], answer["total"]]:
        label = "total" if p is answer["total"] else p["start_time"][:10]
        amounts = [_amount(p[k], "") for k in (*columns, "store_commission_minor")]
        table.add_row(label, *amounts, _amount(p["proceeds_minor"], unit))
    _print(table)
    if plot and answer["points"]:
        labels = [p["start_time"][:10] for p in answer["points"]]
        nets = [int(p["net_minor"]) / 100 for p in answer["points"]]
        _print(_chart(f"Net revenue ({unit})", labels, {"net": nets}))


def campaigns(start: Start = "", end: End = "") -> None:
    """Redemptions, discount and revenue per promotion."""
    answer = _call("GET", "/v1/analytics/campaigns", params=_window(start, end))
    table = Table("promotion", "currency", "redemptions", "discount", "revenue")
    for r in answer["rows"]:
        table.add_row(
            r["promotion_id"],
            r["currency"],
            r["redemptions"],
            _amount(r["discount_minor"], ""),
            _amount(r["revenue_minor"], ""),
        )
    _print(table)
    if answer.get("conversions"):
        offers = Table("campaign", "promotion", "offers issued", "redeemed", "conversion")
        for c in answer["conversions"]:
            offers.add_row(
                c["campaign_id"], c["promotion_id"], c["offers_issued"], c["offers_redeemed"], c["conversion_rate"]
            )
        _print(offers)


def usage(start: Start = "", end: End = "") -> None:
    """Usage revenue and consumption per meter."""
    answer = _call("GET", "/v1/analytics/usage", params=_window(start, end))
    table = Table("meter", "currency", "quantity", "billed", "prepaid credit", "charged", "per unit (minor)")
    for r in answer["rows"]:
        table.add_row(
            r["meter_key"],
            r["currency"],
            r["quantity"],
            _amount(r["billed_minor"], ""),
            _amount(r["credit_minor"], ""),
            _amount(r["charged_minor"], ""),
            r["billed_per_unit_minor"],
        )
    _print(table)


def experiment(experiment_id: str, start: Start = "", end: End = "") -> None:
    """An A/B experiment's variants: assigned, converted, revenue."""
    answer = _call("GET", f"/v1/analytics/experiments/{experiment_id}", params=_window(start, end))
    table = Table("variant", "assigned", "converted", "conversion", "revenue", "per customer")
    for v in answer["variants"]:
        table.add_row(
            v["variant_id"],
            v["assigned"],
            v["converted"],
            v["conversion_rate"],
            ", ".join(_amount(m["amount_minor"], m["currency_code"]) for m in v["revenue"]),
            ", ".join(_amount(m["amount_minor"], m["currency_code"]) for m in v["revenue_per_customer"]),
        )
    _print(table)


def events(
    filter: Annotated[str, typer.Option(help='AIP-160, e.g. "customer_id = c_1" or "movement = churn".')] = "",
    page_token: Annotated[str, typer.Option("--page-token", help="Continue a previous list.")] = "",
) -> None:
    """The revenue stream: a customer's timeline, or the events behind a figure."""
    answer = _call("GET", "/v1/analytics/events", params={"filter": filter, "page_token": page_token})
    table = Table("time", "type", "customer", "subscription", "amount", "MRR move")
    for e in answer["events"]:
        amount = next(
            (e[k] for k in ("gross_minor", "refund_minor", "credit_minor", "ledger_net_minor") if e[k] != "0"), ""
        )
        move = f"{e['movement']} {_amount(e['mrr_delta_minor'], '')}" if e["movement"] else ""
        table.add_row(
            e["occur_time"][:19],
            e["type"],
            e["customer_id"],
            e["subscription_id"],
            _amount(amount, e["currency"]) if amount else "",
            move,
        )
    _print(table)
    if answer["next_page_token"]:
        _print(f"[dim]more: --page-token {answer['next_page_token']}[/]")


def rate(
    currency: Annotated[str, typer.Argument(help="ISO 4217, e.g. EUR.")],
    reporting: Annotated[str, typer.Argument(help="Reporting currency, e.g. USD.")],
    value: Annotated[str, typer.Argument(help="Units of the reporting currency per unit, e.g. 1.0842.")],
    effective: Annotated[str, typer.Option(help="YYYY-MM-DD (default: today).")] = "",
) -> None:
    """Store an exchange rate (admin)."""
    body = {
        "currency_code": currency,
        "reporting_currency": reporting,
        "rate": value,
        "effective_date": effective or datetime.now(UTC).date().isoformat(),
    }
    answer = _call("POST", "/v1/exchange-rates", json={"request_id": new_request_id(), **body})
    stored = answer["rate"]
    _print(
        f"1 {stored['currency_code']} = {stored['rate']} {stored['reporting_currency']} from {stored['effective_date']}"
    )


def rates(reporting: Annotated[str, typer.Argument(help="Reporting currency, e.g. USD.")]) -> None:
    """The stored exchange rates into a reporting currency."""
    answer = _call("GET", "/v1/exchange-rates", params={"reporting_currency": reporting})
    table = Table("currency", "rate", "from")
    for r in answer["rates"]:
        table.add_row(r["currency_code"], r["rate"], r["effective_date"])
    _print(table)


def rebuild() -> None:
    """Rebuild the analytics read models from the services' event streams (admin)."""
    answer = _call("POST", "/v1/analytics:rebuild", json={"request_id": new_request_id()})
    _print(f"replayed {answer['events_replayed']} events into {answer['entries_recorded']} revenue entries")


def register(revenue: typer.Typer) -> None:
    """Add the analytics commands to `azotte revenue`."""
    for name, command in (
        ("mrr", mrr),
        ("churn", churn),
        ("payments", payments),
        ("summary", summary),
        ("campaigns", campaigns),
        ("experiment", experiment),
        ("usage", usage),
        ("events", events),
        ("rate", rate),
        ("rates", rates),
        ("rebuild", rebuild),
    ):
        revenue.command(name)(command)
