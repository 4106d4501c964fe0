"""`azotte experiments list|results|stop|ship`: A/B experiments and their results."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import typer
from rich.table import Table

from azotte_gateway.cli import render
from azotte_gateway.cli.client import new_request_id

app = typer.Typer(help="A/B experiments: variants, results, stop or ship.", no_args_is_help=True)


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


@app.command("list")
def list_experiments() -> None:
    """List experiments."""
    table = Table("id", "name", "variants", "state")
    for e in _call("GET", "/v1/experiments").get("experiments", []):
        variants = ", ".join(v["id"] for v in e["variants"])
        table.add_row(e["id"], e["display_name"], variants, render.enum(e["state"], "EXPERIMENT_STATE_"))
    _cli().console.print(table)


@app.command("results")
def results(experiment_id: str) -> None:
    """Per variant: exposed, converted, revenue per customer, and the significance against the control."""
    answer = _call("GET", f"/v1/experiments/{experiment_id}/results")
    _cli().console.print(results_table(experiment_id, answer.get("results", [])))


def results_table(experiment_id: str, results: list[dict[str, Any]]) -> Table:
    """An experiment's results as `GET /v1/experiments/{id}/results` answers them; `*`: significant (p < 0.05)."""
    table = Table("variant", "exposed", "converted", "rate", "revenue/customer", "z", "p", title=experiment_id)
    for r in results:
        table.add_row(
            r["variant_id"],
            str(r.get("exposed", 0)),
            str(r.get("converted", 0)),
            f"{float(r.get('conversion_rate', 0)):.1%}",
            render.money(r.get("revenue_per_customer")),
            f"{float(r.get('z_score', 0)):.2f}",
            f"{float(r.get('p_value', 0)):.4f}" + (" *" if r.get("significant") else ""),
        )
    return table


def _end(experiment_id: str, ship: str) -> None:
    body = {"request_id": new_request_id(), "ship_variant_id": ship}
    answer = _call("POST", f"/v1/experiments/{experiment_id}:end", json=body)["experiment"]
    _cli().console.print(f"{experiment_id}: {render.enum(answer['state'], 'EXPERIMENT_STATE_')}")


@app.command("stop")
def stop(experiment_id: str) -> None:
    """Stop an experiment (assigned customers keep their variant)."""
    _end(experiment_id, "")


@app.command("ship")
def ship(experiment_id: str, variant_id: str) -> None:
    """Ship a variant: every customer gets it from now on."""
    _end(experiment_id, variant_id)
