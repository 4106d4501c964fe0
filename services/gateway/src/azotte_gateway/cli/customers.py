"""`azotte customers search|show|link` and `azotte history <subscription>`: customers and their audit trail."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from azotte_gateway.cli import render

app = typer.Typer(help="Customers: search, show, link channel identities.", no_args_is_help=True)

Filter = Annotated[str, typer.Option("--filter", help="AIP-160 filter, ANDed with the options above.")]
OrderBy = Annotated[str, typer.Option("--order-by", help="AIP-132 order, e.g. 'create_time desc'.")]
PageToken = Annotated[str, typer.Option("--page-token", help="Continue a previous list.")]


def register(root: typer.Typer) -> None:
    """Add `customers` (and its former name `customer`, hidden) and `history` to `azotte`."""
    root.add_typer(app, name="customers")
    root.add_typer(app, name="customer", hidden=True)
    root.command("history")(history)


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's commands.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _print(*items: Any) -> None:
    for item in items:
        _cli().console.print(item)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_filter(
    email: str = "", external_id: str = "", kind: str = "", value: str = "", issuer: str = "", extra: str = ""
) -> str:
    """The AIP-160 filter of the search options."""
    terms = [
        f"{field} = {_quoted(given)}"
        for field, given in (
            ("email", email),
            ("external_id", external_id),
            ("identity.kind", kind.upper()),
            ("identity.value", value),
            ("identity.issuer", issuer),
        )
        if given
    ]
    return " AND ".join([*terms, *([extra] if extra else [])])


def customers_table(customers: list[dict[str, Any]]) -> Table:
    table = Table("customer", "external id", "email", "country", "created", "channel identities", title="Customers")
    for c in customers:
        identities = ", ".join(
            f"{render.enum(i['kind'], 'CHANNEL_IDENTITY_KIND_')}:{i['value']}"
            + (f"@{i['issuer']}" if i["issuer"] else "")
            for i in c.get("identities", [])
        )
        table.add_row(
            c["id"],
            c["external_id"],
            c["email"] or "-",
            c["country_code"],
            render.day(c.get("create_time")),
            identities or "-",
        )
    return table


def history_table(entries: list[dict[str, Any]]) -> Table:
    table = Table("time", "event", "from", "to", "cause", "ref", "actor", title="History")
    for e in entries:
        table.add_row(
            e["occur_time"],
            e["event_type"],
            render.enum(e["from_state"], "SUBSCRIPTION_STATE_")
            if e["from_state"] != "SUBSCRIPTION_STATE_UNSPECIFIED"
            else "-",
            render.enum(e["to_state"], "SUBSCRIPTION_STATE_"),
            e["cause"],
            e["cause_ref"] or "-",
            e["actor"] or "-",
        )
    return table


def _next(answer: dict[str, Any]) -> None:
    if answer["next_page_token"]:
        _print(f"next page: --page-token {answer['next_page_token']}")


@app.command("search")
def search(
    email: Annotated[str, typer.Option("--email", help="Exact email.")] = "",
    external_id: Annotated[str, typer.Option("--external-id", help="The tenant's own id.")] = "",
    kind: Annotated[str, typer.Option("--identity-kind", help="e.g. GOOGLE_PLAY_PURCHASE_TOKEN.")] = "",
    value: Annotated[str, typer.Option("--identity-value", help="The channel's id of the subscriber.")] = "",
    issuer: Annotated[str, typer.Option("--issuer", help="Carrier or partner id.")] = "",
    filter: Filter = "",
    order_by: OrderBy = "",
    page_token: PageToken = "",
) -> None:
    """Find customers by email, external id or channel identity (or any filter)."""
    params = {
        "filter": search_filter(email, external_id, kind, value, issuer, filter),
        "order_by": order_by,
        "page_token": page_token,
    }
    answer = _call("GET", "/v1/customers", params={k: v for k, v in params.items() if v})
    _print(customers_table(answer["customers"]))
    _next(answer)


@app.command("show")
def show(customer_id: str) -> None:
    """A customer with its channel identities, subscriptions, entitlements and charges."""
    found = _call("GET", f"/v1/customers/{customer_id}")["customer"]
    subscriptions = _call("GET", f"/v1/customers/{customer_id}/subscriptions")["subscriptions"]
    entitlements = _call("GET", f"/v1/customers/{customer_id}/entitlements")["entitlements"]
    charges = _call("GET", f"/v1/customers/{customer_id}/charges")["charges"]
    _print(
        customers_table([found]),
        render.subscriptions_table(subscriptions),
        render.entitlements_table(entitlements),
        render.charges_table(charges),
    )


@app.command("link")
def link(
    customer_id: str,
    kind: Annotated[str, typer.Option("--kind", help="e.g. GOOGLE_PLAY_PURCHASE_TOKEN.")],
    value: Annotated[str, typer.Option("--value", help="The channel's id of the subscriber.")],
    issuer: Annotated[str, typer.Option("--issuer", help="Carrier or partner id (telecom, partner).")] = "",
) -> None:
    """Link a channel identity to a customer."""
    cli = _cli()
    with cli.handled():
        answer = cli.client().post(
            f"/v1/customers/{customer_id}:linkChannelIdentity",
            {"identity": {"kind": kind.upper(), "value": value, "issuer": issuer}},
        )
    _print(customers_table([answer["customer"]]))


def history(
    subscription_id: Annotated[str, typer.Argument(help="The subscription.")],
    filter: Annotated[str, typer.Option("--filter", help="AIP-160 filter, e.g. 'cause = soft_decline'.")] = "",
    order_by: Annotated[str, typer.Option("--order-by", help="'occur_time' or 'occur_time desc'.")] = "",
    page_token: PageToken = "",
) -> None:
    """A subscription's audit trail: every transition with its cause, time and actor."""
    params = {"filter": filter, "order_by": order_by, "page_token": page_token}
    answer = _call("GET", f"/v1/subscriptions/{subscription_id}/history", params={k: v for k, v in params.items() if v})
    _print(history_table(answer["entries"]))
    _next(answer)
