"""`azotte referrals program|code|list`: the referral program, a customer's code, the referrals and their rewards."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from azotte_gateway.cli import render
from azotte_gateway.cli.client import new_request_id

app = typer.Typer(help="Two-sided referrals: the program, customers' codes, referrals.", no_args_is_help=True)


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _given(reward: dict[str, Any] | None) -> str:
    if not reward:
        return "-"
    if reward.get("skipped"):
        return f"none ({reward['skipped']})"
    return reward.get("code") or render.money(reward.get("amount"))


@app.command("program")
def program() -> None:
    """Show the referral program."""
    found = _call("GET", "/v1/referral-program")["program"]
    _cli().console.print_json(data=found)


@app.command("code")
def code(customer_id: str) -> None:
    """The customer's referral code (made on the first call)."""
    issued = _call("POST", f"/v1/customers/{customer_id}/referral-code", json={"request_id": new_request_id()})
    _cli().console.print(issued["referral_code"]["code"])


@app.command("list")
def list_referrals(
    filter: Annotated[str, typer.Option("--filter", help="e.g. 'referrer_customer_id = cus_1'.")] = "",
) -> None:
    """List referrals, newest first, with what each side was given."""
    listed = _call("GET", "/v1/referrals", params={"filter": filter} if filter else None)
    table = Table("id", "referrer", "referred", "plan", "state", "referrer got", "referred got")
    for r in listed.get("referrals", []):
        table.add_row(
            r["id"],
            r["referrer_customer_id"],
            r["referred_customer_id"],
            r["plan_id"],
            render.enum(r["state"], "REFERRAL_STATE_"),
            _given(r.get("referrer_reward")),
            _given(r.get("referred_reward")),
        )
    _cli().console.print(table)
