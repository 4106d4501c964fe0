"""`azotte partners list|get|create`: the partners whose signed subscriber events the gateway accepts, and their
wholesale terms (managers, admins)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

app = typer.Typer(help="Partners and aggregators: their keys and wholesale terms.", no_args_is_help=True)


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def partners_table(partners: list[dict[str, Any]]) -> Table:
    table = Table("partner", "name", "algorithm", "tenant's share", "events path", title="Partners")
    for partner in partners:
        share = int(partner.get("revenue_share_bps", 0))
        table.add_row(
            partner["partner_id"],
            partner.get("display_name", ""),
            partner.get("algorithm", ""),
            f"{share / 100:.2f} %",
            partner.get("events_path", ""),
        )
    return table


@app.command("list")
def list_partners() -> None:
    """Your partners."""
    cli = _cli()
    with cli.handled():
        partners = cli.client().call("GET", "/v1/partners").get("partners", [])
    cli.console.print(partners_table(partners))


@app.command("get")
def get(partner_id: str) -> None:
    """One partner."""
    cli = _cli()
    with cli.handled():
        partner = cli.client().call("GET", f"/v1/partners/{partner_id}")["partner"]
    cli.console.print(partners_table([partner]))


@app.command("create")
def create(
    partner_id: Annotated[str, typer.Argument(help="1 to 63 of a-z, 0-9, '-': the partner's JWS kid.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="PEM file of its Ed25519 or P-256 public key.")],
    share_bps: Annotated[
        int | None,
        typer.Option("--share-bps", help="Your share of the catalog price, 0 to 10000 bps (default 10000)."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="A display name.")] = "",
) -> None:
    """Configure a partner; each period it bills is booked at the catalog price, net of its part."""
    partner: dict[str, Any] = {"partner_id": partner_id, "display_name": name, "public_key_pem": public_key.read_text()}
    if share_bps is not None:
        partner["revenue_share_bps"] = share_bps
    cli = _cli()
    with cli.handled():
        created = cli.client().post("/v1/partners", {"partner": partner})["partner"]
    cli.console.print(partners_table([created]))
