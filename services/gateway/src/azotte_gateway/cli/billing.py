"""`azotte credits grant|balance|movements`, `payment-methods list|default|delete`, `revenue report|ledger`."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from azotte_gateway.cli import render

credits = typer.Typer(help="Customer credit: grant (admin), balance, movements.", no_args_is_help=True)
payment_methods = typer.Typer(help="A customer's payment methods: list, default, delete.", no_args_is_help=True)
revenue = typer.Typer(
    help="Revenue analytics (MRR, churn, payments, campaigns, the revenue stream), the report, the ledger.",
    no_args_is_help=True,
)

PageToken = Annotated[str, typer.Option("--page-token", help="Continue a previous list.")]


def register(app: typer.Typer) -> None:
    """Add the billing commands to `azotte`."""
    for sub, name in ((credits, "credits"), (payment_methods, "payment-methods"), (revenue, "revenue")):
        app.add_typer(sub, name=name)


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-apps.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _print(renderable: Any, next_page_token: str = "") -> None:
    console = _cli().console
    console.print(renderable)
    if next_page_token:
        console.print(f"[dim]more: --page-token {next_page_token}[/]")


# --- credits ---------------------------------------------------------------------------------------


@credits.command("grant")
def credits_grant(
    customer_id: str,
    amount_minor: Annotated[int, typer.Argument(help="In minor units, e.g. 500 for 5.00 EUR.")],
    currency: Annotated[str, typer.Argument(help="ISO 4217, e.g. EUR.")],
    reason: Annotated[str, typer.Option(help="Why, e.g. a support case.")] = "",
) -> None:
    """Grant a customer credit; the next charges in that currency spend it first."""
    cli = _cli()
    body = {"amount": {"currency_code": currency, "amount_minor": amount_minor}, "reason": reason}
    with cli.handled():
        answer = cli.client().post(f"/v1/customers/{customer_id}/credits:grant", body)
    _print(f"Balance now [bold]{render.money(answer['balance']['balance'])}[/].")


@credits.command("balance")
def credits_balance(customer_id: str) -> None:
    """A customer's credit balance in each currency."""
    answer = _call("GET", f"/v1/customers/{customer_id}/credits")
    table = Table("currency", "balance", title=f"Credit of {customer_id}")
    for balance in answer["balances"]:
        table.add_row(balance["balance"]["currency_code"], render.money(balance["balance"]))
    _print(table)


@credits.command("movements")
def credits_movements(
    customer_id: str,
    filter: Annotated[str, typer.Option("--filter", help="e.g. 'currency_code = EUR AND kind = SPEND'.")] = "",
    page_token: PageToken = "",
) -> None:
    """What moved a customer's credit, newest first."""
    params = {"filter": filter, "page_token": page_token}
    answer = _call("GET", f"/v1/customers/{customer_id}/credit-movements", params=params)
    table = Table("time", "kind", "amount", "balance after", "charge", "reason", title="Credit movements")
    for m in answer["movements"]:
        table.add_row(
            m.get("create_time", "-"),
            render.enum(m["kind"], "CREDIT_MOVEMENT_KIND_"),
            render.money(m.get("amount")),
            render.money(m.get("balance_after")),
            m["charge_id"] or "-",
            m["reason"] or "-",
        )
    _print(table, answer["next_page_token"])


# --- payment methods -------------------------------------------------------------------------------


def _methods_table(methods: list[dict[str, Any]]) -> Table:
    table = Table("payment method", "brand", "last4", "default", "created", title="Payment methods")
    for m in methods:
        table.add_row(
            m["id"], m["brand"] or "-", m["last4"] or "-", "yes" if m["is_default"] else "", m.get("create_time", "-")
        )
    return table


@payment_methods.command("list")
def payment_methods_list(customer_id: str, page_token: PageToken = "") -> None:
    """A customer's payment methods, oldest first."""
    answer = _call("GET", f"/v1/customers/{customer_id}/payment-methods", params={"page_token": page_token})
    _print(_methods_table(answer["payment_methods"]), answer["next_page_token"])


@payment_methods.command("default")
def payment_methods_default(customer_id: str, payment_method_id: str) -> None:
    """Make a method the default that renewals charge."""
    cli = _cli()
    with cli.handled():
        answer = cli.client().post(f"/v1/customers/{customer_id}/payment-methods/{payment_method_id}:set-default")
    _print(_methods_table([answer["payment_method"]]))


@payment_methods.command("delete")
def payment_methods_delete(
    customer_id: str,
    payment_method_id: str,
    allow_without_default: Annotated[
        bool, typer.Option(help="Delete the last method even though a live subscription renews with it.")
    ] = False,
) -> None:
    """Delete a payment method; the newest remaining one becomes the default."""
    from azotte_gateway.cli.client import new_request_id

    params = {"request_id": new_request_id(), "allow_without_default": str(allow_without_default).lower()}
    answer = _call("DELETE", f"/v1/customers/{customer_id}/payment-methods/{payment_method_id}", params=params)
    default = answer.get("default_payment_method")
    _print(_methods_table([default]) if default else "Deleted; the customer has no payment method left.")


# --- revenue ---------------------------------------------------------------------------------------


@revenue.command("report")
def revenue_report(
    period_from: Annotated[str, typer.Argument(help="First accounting month, YYYY-MM.")],
    period_to: Annotated[str, typer.Argument(help="Last accounting month, YYYY-MM.")],
    group_by: Annotated[
        list[str] | None, typer.Option("--group-by", help="period, storefront, channel or plan (repeatable).")
    ] = None,
    currency: Annotated[str, typer.Option(help="Only this currency.")] = "",
    storefront: Annotated[str, typer.Option(help="Only this storefront.")] = "",
) -> None:
    """Revenue per currency by accounting month, storefront, channel and plan."""
    params = {
        "period_from": period_from,
        "period_to": period_to,
        "group_by": group_by or [],
        "currency_code": currency,
        "storefront_id": storefront,
    }
    answer = _call("GET", "/v1/revenue-report", params=params)
    table = Table("period", "storefront", "channel", "plan", "gross sales", "discounts", "refunds", "net", "tax")
    for r in answer["rows"]:
        table.add_row(
            r["period"] or "-",
            r["storefront_id"] or "-",
            render.enum(r["channel"], "CHANNEL_") if r["channel"] != "CHANNEL_UNSPECIFIED" else "-",
            r["plan_id"] or "-",
            *(render.money(r.get(k)) for k in ("gross_sales", "discounts", "refunds", "net_revenue", "tax")),
        )
    _print(table)


@revenue.command("ledger")
def revenue_ledger(currency: Annotated[str, typer.Option(help="Only this currency.")] = "") -> None:
    """The ledger's trial balance per currency (each currency sums to zero)."""
    answer = _call("GET", "/v1/ledger/balance", params={"currency_code": currency})
    table = Table("currency", "account", "balance", title="Trial balance")
    for c in answer["currencies"]:
        for a in c["accounts"]:
            table.add_row(c["currency_code"], a["account"], render.money(a["balance"]))
        table.add_row(c["currency_code"], "[bold]total[/]", c["total_minor"])
    _print(table)
