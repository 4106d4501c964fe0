"""`azotte usage-billing ...`: usage prices, wallets of prepaid credit, limits and the upcoming usage charges."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

app = typer.Typer(help="Usage billing: prices, wallets, limits, upcoming charges.", no_args_is_help=True)

Customer = Annotated[str, typer.Argument(help="The customer id.")]
Currency = Annotated[str, typer.Option("--currency", help="ISO 4217 code of the wallet.")]


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _get(path: str, params: dict[str, Any] | None = None) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call("GET", path, params=params)


def _post(path: str, body: dict[str, Any]) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().post(path, body)


def _money(value: dict[str, Any] | None) -> str:
    value = value or {}
    return f"{value.get('amount_minor', 0)} {value.get('currency_code', '')}".strip()


def wallet_table(wallet: dict[str, Any]) -> Table:
    table = Table(
        "grant", "source", "priority", "remaining", "of", "expires", title=f"Balance {_money(wallet['balance'])}"
    )
    for grant in wallet.get("grants", []):
        table.add_row(
            grant["grant_id"],
            str(grant.get("source", "")).removeprefix("CREDIT_SOURCE_").lower(),
            str(grant.get("priority", 0)),
            _money(grant.get("remaining")),
            _money(grant.get("amount")),
            str(grant.get("expire_time", "")) or "never",
        )
    return table


def charges_table(preview: dict[str, Any]) -> Table:
    table = Table("meter", "dimensions", "quantity", "included", "billable", "amount", title="Upcoming usage charges")
    for line in preview.get("lines", []):
        dimensions = ", ".join(f"{k}={v}" for k, v in sorted((line.get("dimensions") or {}).items()))
        table.add_row(
            line["meter_key"],
            dimensions,
            line["quantity"],
            line["included_units"],
            line["billable_units"],
            _money(line.get("amount")),
        )
    for adjustment in preview.get("adjustments", []):
        table.add_row(
            adjustment["meter_key"], "late usage", adjustment["quantity"], "", "", _money(adjustment["amount"])
        )
    return table


@app.command("set-price")
def set_price(
    price_json: Annotated[str, typer.Argument(help="The price as JSON (see POST /v1/usage-prices).")],
) -> None:
    """Create or replace a usage price, e.g. '{"storefront_id": "us", "plan_id": "pro", "meter_key": "tokens",
    "currency_code": "USD", "model": "PER_UNIT", "unit_price": "0.002"}'."""
    answer = _post("/v1/usage-prices", {"price": json.loads(price_json)})
    _cli().console.print_json(data=answer["price"])


@app.command("prices")
def list_prices(
    storefront_id: Annotated[str, typer.Argument(help="The storefront.")],
    plan_id: Annotated[str, typer.Argument(help="The plan.")],
) -> None:
    """A plan's usage prices in a storefront."""
    answer = _get(f"/v1/storefronts/{storefront_id}/plans/{plan_id}/usage-prices")
    _cli().console.print_json(data=answer["prices"])


@app.command("grant")
def grant_credit(
    customer_id: Customer,
    amount_minor: Annotated[int, typer.Argument(help="The credit, in minor units.")],
    currency: Currency = "USD",
    priority: Annotated[int, typer.Option("--priority", help="Lower burns first.")] = 0,
    expire_time: Annotated[str, typer.Option("--expires", help="RFC 3339; default never.")] = "",
    promotion: Annotated[bool, typer.Option("--promotion", help="Granted for a promotion.")] = False,
    reference: Annotated[str, typer.Option("--reference", help="Kept on the history, e.g. a ticket.")] = "",
) -> None:
    """Put credit in a customer's wallet."""
    body: dict[str, Any] = {
        "amount": {"currency_code": currency, "amount_minor": amount_minor},
        "source": "PROMOTION" if promotion else "ADMIN",
        "priority": priority,
        "reference": reference,
    }
    if expire_time:
        body["expire_time"] = expire_time
    answer = _post(f"/v1/customers/{customer_id}/wallet-credits", body)
    _cli().console.print(wallet_table(answer["wallet"]))


@app.command("top-up")
def top_up(customer_id: Customer, amount_minor: Annotated[int, typer.Argument()], currency: Currency = "USD") -> None:
    """Buy credit for a customer with their default payment method."""
    answer = _post(f"/v1/customers/{customer_id}/wallets/{currency}:top-up", {"amount_minor": amount_minor})
    _cli().console.print(f"charge {answer['charge_id']}")
    _cli().console.print(wallet_table(answer["wallet"]))


@app.command("auto-recharge")
def auto_recharge(
    customer_id: Customer,
    threshold_minor: Annotated[int, typer.Option("--below", help="Recharge below this balance; 0 turns it off.")],
    amount_minor: Annotated[int, typer.Option("--amount", help="Credit bought each time.")] = 0,
    currency: Currency = "USD",
) -> None:
    """Turn a wallet's auto-recharge on or off."""
    rule = {"threshold_minor": threshold_minor, "amount_minor": amount_minor} if threshold_minor else None
    answer = _post(f"/v1/customers/{customer_id}/wallets/{currency}:set-auto-recharge", {"auto_recharge": rule})
    _cli().console.print(wallet_table(answer["wallet"]))


@app.command("wallet")
def wallet(customer_id: Customer, currency: Currency = "USD") -> None:
    """A customer's wallet: balance and grants."""
    _cli().console.print(wallet_table(_get(f"/v1/customers/{customer_id}/wallets/{currency}")["wallet"]))


@app.command("limit")
def set_limit(
    customer_id: Customer,
    limit_json: Annotated[str, typer.Argument(help="The limit as JSON (see POST /v1/customers/{id}/usage-limits).")],
) -> None:
    """Create or replace a usage limit, e.g. '{"limit_id": "cap", "feature_key": "ai.chat", "measure": "SPEND",
    "value": "5000", "currency_code": "USD", "policy": "SUSPEND", "alert_percents": [80]}'."""
    answer = _post(f"/v1/customers/{customer_id}/usage-limits", {"limit": json.loads(limit_json)})
    _cli().console.print_json(data=answer["limit"])


@app.command("limits")
def list_limits(customer_id: Customer) -> None:
    """A customer's usage limits and where each stands."""
    _cli().console.print_json(data=_get(f"/v1/customers/{customer_id}/usage-limits")["limits"])


@app.command("preview")
def preview(customer_id: Customer) -> None:
    """The usage charges of the current period so far."""
    answer = _get(f"/v1/customers/{customer_id}/upcoming-usage-charges")
    console = _cli().console
    console.print(charges_table(answer))
    console.print(
        f"subtotal {_money(answer['subtotal'])}, paid from the wallet {_money(answer['credited'])}, "
        f"due {_money(answer['due'])}"
    )
