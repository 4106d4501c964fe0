"""`azotte campaigns list|offers|pause|resume`: lifecycle-triggered campaigns and the retention offers they issued."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from azotte_gateway.cli import render
from azotte_gateway.cli.client import new_request_id

app = typer.Typer(help="Lifecycle-triggered campaigns and their retention offers.", no_args_is_help=True)


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


@app.command("list")
def list_campaigns() -> None:
    """List campaigns."""
    table = Table("id", "name", "trigger", "promotion", "state")
    for c in _call("GET", "/v1/campaigns").get("campaigns", []):
        table.add_row(
            c["id"],
            c["display_name"],
            render.enum(c["trigger"], "CAMPAIGN_TRIGGER_"),
            c["promotion_id"],
            render.enum(c["state"], "CAMPAIGN_STATE_"),
        )
    _cli().console.print(table)


@app.command("offers")
def offers(
    customer: Annotated[str, typer.Option("--customer", help="Only this customer's offers.")] = "",
) -> None:
    """The retention offers issued, newest first."""
    params = {"filter": f'customer_id = "{customer}"'} if customer else None
    table = Table("issued", "campaign", "customer", "code", "expires")
    for o in _call("GET", "/v1/campaign-offers", params=params).get("offers", []):
        table.add_row(o["issue_time"], o["campaign_id"], o["customer_id"], o["code"], o["expire_time"])
    _cli().console.print(table)


def _set(campaign_id: str, verb: str) -> None:
    answer = _call("POST", f"/v1/campaigns/{campaign_id}:{verb}", json={"request_id": new_request_id()})
    _cli().console.print(f"{campaign_id}: {render.enum(answer['campaign']['state'], 'CAMPAIGN_STATE_')}")


@app.command("pause")
def pause(campaign_id: str) -> None:
    """Pause a campaign: no offer is issued."""
    _set(campaign_id, "pause")


@app.command("resume")
def resume(campaign_id: str) -> None:
    """Resume a paused campaign."""
    _set(campaign_id, "resume")
