"""`azotte usage send|meters|create-meter|show|events|export`: usage events, meters and a customer's usage."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

app = typer.Typer(help="Usage: report events, define meters, read a customer's usage.", no_args_is_help=True)


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


@app.command("send")
def send(
    file: Annotated[Path, typer.Argument(help='A JSON array of CloudEvents (or {"events": [...]}); - for stdin.')],
) -> None:
    """Report usage events: one result line per event that was not accepted."""
    body = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    answer = _call("POST", "/v1/events", content=body, headers={"Content-Type": "application/json"})
    console = _cli().console
    for result in answer["results"]:
        if result["outcome"] == "EVENT_OUTCOME_REJECTED":
            console.print(
                f"[red]rejected[/] {result['id'] or '#' + str(result['index'])}: {result['field']} {result['reason']}"
            )
    console.print(
        f"accepted {answer['accepted_count']}, duplicates {answer['duplicate_count']}, "
        f"rejected {answer['rejected_count']}"
    )


@app.command("meters")
def meters() -> None:
    """The tenant's meters."""
    answer = _call("GET", "/v1/meters", params={"page_size": 500})
    table = Table("key", "event type", "aggregation", "value path", "dimensions", "quota features", title="Meters")
    for meter in answer["meters"]:
        aggregation = str(meter["aggregation"]).removeprefix("AGGREGATION_")
        quotas = ", ".join(_quota_text(quota) for quota in meter.get("quota_features", []))
        table.add_row(
            meter["key"], meter["event_type"], aggregation, meter["value_path"], ", ".join(meter["dimensions"]), quotas
        )
    _cli().console.print(table)


@app.command("create-meter")
def create_meter(
    key: Annotated[str, typer.Argument(help="The meter's key, e.g. tokens.")],
    event_type: Annotated[str, typer.Option("--event-type", help="The events it counts, e.g. ai.tokens.")],
    aggregation: Annotated[str, typer.Option("--aggregation", help="SUM, COUNT, MIN, MAX, AVG, UNIQUE_COUNT, LATEST.")],
    value_path: Annotated[str, typer.Option("--value-path", help="e.g. $.tokens (none for COUNT).")] = "",
    dimension: Annotated[list[str] | None, typer.Option("--dimension", help="Group by this data path; repeat.")] = None,
    display_name: Annotated[str, typer.Option("--name", help="Shown in the portal (default: the key).")] = "",
    quota_feature: Annotated[
        list[str] | None,
        typer.Option(
            "--quota-feature",
            help="A plan's quota feature this meter measures, over the usage with these dimension values: "
            "FEATURE[:DIMENSION=VALUE,...], e.g. tokens_gpt_large:model=large; repeat.",
        ),
    ] = None,
) -> None:
    """Create a meter."""
    meter = {
        "key": key,
        "display_name": display_name or key,
        "event_type": event_type,
        "value_path": value_path,
        "aggregation": f"AGGREGATION_{aggregation.upper()}",
        "dimensions": dimension or [],
        "quota_features": [_quota_feature(text) for text in quota_feature or []],
    }
    cli = _cli()
    with cli.handled():
        answer = cli.client().post("/v1/meters", {"meter": meter})
    cli.console.print(f"created meter {answer['meter']['key']}")


def _quota_feature(text: str) -> dict[str, Any]:
    """`tokens_gpt_large:model=large,region=eu` as a meter's quota feature."""
    feature, _, values = text.partition(":")
    pairs = [pair.partition("=") for pair in values.split(",")] if values else []
    if not feature or any(not name or not sep or not value for name, sep, value in pairs):
        raise typer.BadParameter(f"{text!r}: expected FEATURE[:DIMENSION=VALUE,...]", param_hint="--quota-feature")
    return {"feature_key": feature, "dimensions": {name: value for name, _, value in pairs}}


def _quota_text(quota: dict[str, Any]) -> str:
    values = ",".join(f"{name}={value}" for name, value in sorted(quota.get("dimensions", {}).items()))
    return f"{quota['feature_key']}:{values}" if values else str(quota["feature_key"])


@app.command("show")
def show(
    customer_id: Annotated[str, typer.Argument(help="The customer.")],
    meter_key: Annotated[str, typer.Argument(help="The meter.")],
    start: Annotated[str, typer.Option("--from", help="Window start, RFC 3339, a whole minute.")],
    end: Annotated[str, typer.Option("--to", help="Window end, RFC 3339, a whole minute.")],
    granularity: Annotated[str, typer.Option("--granularity", help="total, minute, hour or day.")] = "total",
    group_by: Annotated[list[str] | None, typer.Option("--group-by", help="A dimension; repeat.")] = None,
) -> None:
    """A customer's usage of a meter over a window."""
    params: dict[str, Any] = {"meter_key": meter_key, "start_time": start, "end_time": end, "granularity": granularity}
    if group_by:
        params["group_by"] = group_by
    answer = _call("GET", f"/v1/customers/{customer_id}/usage", params=params)
    table = Table("from", "to", *(group_by or []), "value", "events", title=f"{meter_key} of {customer_id}")
    for value in answer["values"]:
        dimensions = value.get("dimensions", {})
        table.add_row(
            value["start_time"],
            value["end_time"],
            *(dimensions.get(name, "") for name in group_by or []),
            value["value"],
            str(value["event_count"]),
        )
    _cli().console.print(table)


@app.command("events")
def events(
    filter: Annotated[str, typer.Option("--filter", help="e.g. 'customer_id = \"cus-1\"'.")] = "",
    page_token: Annotated[str, typer.Option("--page-token", help="Continue a previous list.")] = "",
) -> None:
    """The raw events stored, newest first (JSON lines)."""
    params = {k: v for k, v in {"filter": filter, "page_token": page_token}.items() if v}
    answer = _call("GET", "/v1/usage-events", params=params or None)
    for stored in answer["events"]:
        _cli().console.print_json(json.dumps(stored))
    if answer.get("next_page_token"):
        _cli().console.print(f"next page: --page-token {answer['next_page_token']}")


@app.command("export")
def export(
    output: Annotated[Path, typer.Argument(help="Where to write the CSV.")],
    filter: Annotated[str, typer.Option("--filter", help="e.g. 'time >= \"2026-03-01T00:00:00Z\"'.")] = "",
) -> None:
    """Every raw event matching the filter, as CSV."""
    text = _call("GET", "/v1/usage-events.csv", params={"filter": filter} if filter else None)
    output.write_text(text)
    _cli().console.print(f"wrote {max(0, text.count(chr(10)) - 1)} events to {output}")
