"""`azotte price-changes dry-run|pending|upcoming|consent|decline|impact`: price changes reaching subscribers."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from azotte_gateway.cli import render
from azotte_gateway.cli.client import new_request_id

app = typer.Typer(help="Price changes reaching existing subscribers: dry runs, notices, consent, impact.")

Subscription = Annotated[str, typer.Argument(help="The subscription's id.")]


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _print(*items: Any) -> None:
    for item in items:
        _cli().console.print(item)


def _state(change: dict[str, Any] | None) -> str:
    return render.enum((change or {}).get("state", ""), "PRICE_CHANGE_STATE_")


@app.command("dry-run")
def dry_run(
    plan: Annotated[str, typer.Option("--plan", help="The plan whose price would change.")],
    storefront: Annotated[str, typer.Option("--storefront", help="The storefront it is priced in.")],
    amount_minor: Annotated[int, typer.Option("--amount-minor", min=0, help="The new price in minor units.")],
    effective_time: Annotated[str, typer.Option("--effective-time", help="RFC 3339; unset: now.")] = "",
    existing: Annotated[str, typer.Option("--existing", help="grandfathered or at_next_renewal.")] = "grandfathered",
    channel: Annotated[str, typer.Option("--channel", help="A channel's own price; unset: every channel.")] = "",
    page_size: Annotated[int, typer.Option("--page-size", min=0)] = 0,
    page_token: Annotated[str, typer.Option("--page-token")] = "",
) -> None:
    """Whom a price would reach before it is scheduled: counts, revenue, and a page of subscriptions."""
    params: dict[str, Any] = {
        "plan_id": plan,
        "storefront_id": storefront,
        "amount_minor": amount_minor,
        "existing_subscribers": existing,
    }
    optional = {"effective_time": effective_time, "channel": channel, "page_size": page_size, "page_token": page_token}
    params.update({name: value for name, value in optional.items() if value})
    answer = _call("GET", "/v1/price-changes/affected-subscribers", params=params)
    notice = f"{answer['notice_days']} days' notice" + (", consent required" if answer["consent_required"] else "")
    summary = (
        f"{answer['affected_count']} reached, {answer['unaffected_count']} not ({notice}); recurring revenue "
        f"{render.money(answer.get('revenue_before'))} -> {render.money(answer.get('revenue_after'))}"
    )
    table = Table("subscription", "customer", "old price", "new price", "first renewal charging it")
    for s in answer["subscribers"]:
        table.add_row(
            s["subscription_id"],
            s["customer_id"],
            render.money(s.get("old_price")),
            render.money(s.get("new_price")),
            render.day(s.get("first_renewal_time")),
        )
    _print(summary, table)
    if answer.get("next_page_token"):
        _print(f"next page: --page-token {answer['next_page_token']}")


@app.command("pending")
def pending(subscription_id: Subscription) -> None:
    """A subscription's current and next price and the change on the way, if any."""
    answer = _call("GET", f"/v1/subscriptions/{subscription_id}/price-change")
    change = answer.get("price_change", {})
    table = Table("current", "next", "next renewal", "state", "old -> new", "from renewal", "told", "answered")
    answered = change.get("consent_time") or change.get("decline_time")
    table.add_row(
        render.money(answer.get("current_price")),
        render.money(answer.get("next_price")),
        render.day(answer.get("next_renewal_time")),
        _state(change),
        f"{render.money(change.get('old_price'))} -> {render.money(change.get('new_price'))}",
        render.day(change.get("effective_time")),
        render.day(change.get("notice_time")),
        render.day(answered),
    )
    _print(table)


@app.command("upcoming")
def upcoming(subscription_id: Subscription) -> None:
    """The next renewal's charge: date, amount, discount, tax and what is paid."""
    answer = _call("GET", f"/v1/subscriptions/{subscription_id}/upcoming-charge")
    table = Table("charge date", "amount", "discount", "tax", "paid", "price change")
    table.add_row(
        render.day(answer.get("charge_time")),
        render.money(answer.get("amount")),
        render.money(answer.get("discount")),
        render.money(answer.get("tax")),
        render.money(answer.get("gross")),
        render.enum(answer.get("price_change_state", ""), "PRICE_CHANGE_STATE_"),
    )
    _print(table)


@app.command("consent")
def consent(subscription_id: Subscription) -> None:
    """Record the subscriber's consent to the increase awaiting it."""
    body = {"request_id": new_request_id()}
    answer = _call("POST", f"/v1/subscriptions/{subscription_id}:consent-to-price-change", json=body)
    _print(f"{subscription_id}: {_state(answer['subscription'].get('price_change'))}")


@app.command("decline")
def decline(subscription_id: Subscription) -> None:
    """Record the subscriber's refusal: the subscription ends, uncharged, at the renewal that would charge it."""
    body = {"request_id": new_request_id()}
    answer = _call("POST", f"/v1/subscriptions/{subscription_id}:decline-price-change", json=body)
    _print(f"{subscription_id}: {_state(answer['subscription'].get('price_change'))}")


@app.command("impact")
def impact(
    plan: Annotated[str, typer.Option("--plan")] = "",
    storefront: Annotated[str, typer.Option("--storefront")] = "",
) -> None:
    """Each price change's impact per cohort: consented, declined, renewed, churned, revenue before and after."""
    params = {name: value for name, value in (("plan_id", plan), ("storefront_id", storefront)) if value}
    answer = _call("GET", "/v1/price-changes/impact", params=params or None)
    table = Table(
        "storefront",
        "plan",
        "price from",
        "cohort",
        "reached",
        "consented",
        "declined",
        "renewed",
        "churned",
        "revenue before",
        "revenue after",
        title="Price change impact",
    )
    for c in answer["cohorts"]:
        counts = ("subscriber_count", "consented_count", "declined_count", "renewed_count", "churned_count")
        table.add_row(
            c["storefront_id"],
            c["plan_id"],
            render.day(c.get("price_effective_time")),
            c["cohort"],
            *(str(c.get(name, "0")) for name in counts),
            render.money(c.get("revenue_before")),
            render.money(c.get("revenue_after")),
        )
    _print(table)
