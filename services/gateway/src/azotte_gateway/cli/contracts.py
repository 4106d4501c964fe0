"""`azotte contracts …`: enterprise contracts billed by invoice (sign, list, show, amend, end)."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

app = typer.Typer(help="Enterprise contracts: negotiated terms, invoiced each period.", no_args_is_help=True)

Plan = Annotated[str | None, typer.Option("--plan", help="The plan the contract grants.")]
Recurring = Annotated[int | None, typer.Option("--recurring", help="Recurring price per period, minor units.")]
Minimum = Annotated[int | None, typer.Option("--minimum", help="Committed minimum per period, minor units.")]
End = Annotated[str | None, typer.Option("--end", help="End of the initial term (ISO 8601).")]
Renewals = Annotated[int | None, typer.Option("--renewal-periods", help="Periods renewed after the end.")]
Terms = Annotated[int | None, typer.Option("--payment-terms", help="Invoices due this many days after issue.")]
Contact = Annotated[str | None, typer.Option("--contact", help="Billing contact name.")]
Email = Annotated[str | None, typer.Option("--email", help="Billing contact email.")]
Address = Annotated[str | None, typer.Option("--address", help="Billing address.")]
TaxId = Annotated[str | None, typer.Option("--tax-id", help="The customer's tax id.")]
MeterPrices = Annotated[
    list[str] | None,
    typer.Option("--meter-price", help="METER=UNIT_PRICE_MINOR[:INCLUDED] (repeatable; replaces all)."),
]
Features = Annotated[
    list[str] | None,
    typer.Option("--feature", help="FEATURE[=LIMIT]: a custom feature or quota (repeatable; replaces all)."),
]
Interval = Annotated[
    str | None, typer.Option("--interval", help="UNIT[:COUNT] (day, week, month, year): required without a plan.")
]


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _post(path: str, body: dict[str, Any]) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().post(path, body)


def _money(money: dict[str, Any]) -> str:
    return f"{int(money.get('amount_minor', 0)) / 100:,.2f} {money.get('currency_code', '')}"


def contracts_table(contracts: list[dict[str, Any]]) -> Table:
    table = Table("id", "customer", "plan", "state", "version", "recurring", title="Contracts")
    for contract in contracts:
        terms = contract.get("terms", {})
        state = "SCHEDULED" if contract.get("scheduled") else str(contract.get("state", ""))
        table.add_row(
            contract["id"],
            contract.get("customer_id", ""),
            terms.get("plan_id", ""),
            state.removeprefix("SUBSCRIPTION_STATE_"),
            str(contract.get("version", "")),
            _money(terms.get("recurring_price", {})),
        )
    return table


def _meter_price(text: str) -> dict[str, str]:
    key, _, price = text.partition("=")
    unit, _, included = price.partition(":")
    if not key or not unit:
        raise typer.BadParameter(f"{text!r}: expected METER=UNIT_PRICE_MINOR[:INCLUDED]", param_hint="--meter-price")
    return {"meter_key": key, "unit_price_minor": unit, "included_quantity": included}


def _feature(text: str) -> dict[str, Any]:
    key, has_limit, limit = text.partition("=")
    if not key or (has_limit and not limit.isdigit()):
        raise typer.BadParameter(f"{text!r}: expected FEATURE[=LIMIT]", param_hint="--feature")
    return {"feature_key": key, "limit": int(limit)} if has_limit else {"feature_key": key}


def _interval(text: str) -> dict[str, Any]:
    unit, _, count = text.partition(":")
    if unit.lower() not in ("day", "week", "month", "year") or (count and not count.isdigit()):
        raise typer.BadParameter(f"{text!r}: expected UNIT[:COUNT]", param_hint="--interval")
    return {"unit": f"INTERVAL_UNIT_{unit.upper()}", "count": int(count or 1)}


def _terms(base: dict[str, Any], **given: Any) -> dict[str, Any]:
    """`base` terms with the options given (None: kept)."""
    terms = {**base, "billing_contact": dict(base.get("billing_contact", {}))}
    simple = {"plan_id": "plan", "end_time": "end", "renewal_periods": "renewals", "payment_terms_days": "days"}
    terms.update({name: given[option] for name, option in simple.items() if given[option] is not None})
    for name, option in (("recurring_price", "recurring"), ("committed_minimum", "minimum")):
        if given[option] is not None:
            terms[name] = {"amount_minor": given[option]}
    contact = {"name": "contact", "email": "email", "address": "address", "tax_id": "tax_id"}
    terms["billing_contact"].update({k: given[o] for k, o in contact.items() if given[o] is not None})
    if given["meter_prices"] is not None:
        terms["meter_prices"] = [_meter_price(text) for text in given["meter_prices"]]
    if given["features"] is not None:
        terms["features"] = [_feature(text) for text in given["features"]]
    if given["interval"] is not None:
        terms["interval"] = _interval(given["interval"])
    return terms


@app.command("create")
def create(
    customer: Annotated[str, typer.Option("--customer", help="The customer signing.")],
    storefront: Annotated[str, typer.Option("--storefront", help="The storefront (currency, tax, numbering).")],
    plan: Plan = None,
    recurring: Recurring = None,
    minimum: Minimum = None,
    end: End = None,
    renewals: Renewals = None,
    days: Terms = None,
    contact: Contact = None,
    email: Email = None,
    address: Address = None,
    tax_id: TaxId = None,
    meter_prices: MeterPrices = None,
    features: Features = None,
    interval: Interval = None,
    start: Annotated[
        str | None, typer.Option("--start", help="When it starts (ISO 8601): back-dated or scheduled; unset: now.")
    ] = None,
) -> None:
    """Sign a contract; its subscription starts now, or at --start."""
    terms = _terms({}, **{k: v for k, v in locals().items() if k not in ("customer", "storefront", "start")})
    body: dict[str, Any] = {"customer_id": customer, "storefront_id": storefront, "terms": terms}
    if start is not None:
        body["start_time"] = start
    answer = _post("/v1/contracts", body)
    _cli().console.print(contracts_table([answer["contract"]]))


@app.command("list")
def list_contracts(customer: Annotated[str, typer.Option("--customer", help="Only this customer's.")] = "") -> None:
    """Contracts, newest first."""
    _cli().console.print(contracts_table(_call("GET", "/v1/contracts", params={"customer_id": customer})["contracts"]))


@app.command("get")
def get(contract_id: str) -> None:
    """A contract and its versions."""
    answer = _call("GET", f"/v1/contracts/{contract_id}")
    console = _cli().console
    contract = answer["contract"]
    console.print(contracts_table([contract]))
    console.print(f"  ends {contract.get('final_end_time', '')}, subscription {contract.get('subscription_id', '')}")
    for version in answer.get("versions", []):
        terms = version["terms"]
        console.print(f"  v{version['version']} {version['create_time']} by {version['actor']}: "
                      f"{terms['plan_id']}, {_money(terms['recurring_price'])}, "
                      f"minimum {_money(terms['committed_minimum'])}")  # fmt: skip


@app.command("amend")
def amend(
    contract_id: str,
    plan: Plan = None,
    recurring: Recurring = None,
    minimum: Minimum = None,
    end: End = None,
    renewals: Renewals = None,
    days: Terms = None,
    contact: Contact = None,
    email: Email = None,
    address: Address = None,
    tax_id: TaxId = None,
    meter_prices: MeterPrices = None,
    features: Features = None,
    interval: Interval = None,
) -> None:
    """A new version: the current terms with the options given."""
    current = _call("GET", f"/v1/contracts/{contract_id}")["contract"]["terms"]
    terms = _terms(current, **{k: v for k, v in locals().items() if k not in ("contract_id", "current")})
    answer = _post(f"/v1/contracts/{contract_id}:amend", {"terms": terms})
    _cli().console.print(contracts_table([answer["contract"]]))


@app.command("end")
def end_contract(contract_id: str) -> None:
    """End a contract with its current period (still invoiced)."""
    _cli().console.print(contracts_table([_post(f"/v1/contracts/{contract_id}:end", {})["contract"]]))
