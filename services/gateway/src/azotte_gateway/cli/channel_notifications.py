"""`azotte channel-notifications ...`: the notification inbox of App Store and Google Play, and replays."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

app = typer.Typer(help="Store notifications the gateway received, and replays of failed ones.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="The notification's name: <channel>/<notification id>.")]
STATE = "CHANNEL_NOTIFICATION_STATE_"


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def notifications_table(listed: list[dict[str, Any]]) -> Table:
    table = Table("name", "state", "event time", "attempts", "next attempt", "last error", title="Notifications")
    for n in listed:
        table.add_row(
            n["name"],
            str(n["state"]).removeprefix(STATE).lower(),
            n.get("event_time", ""),
            str(n.get("attempt_count", 0)),
            n.get("next_attempt_time", ""),
            n.get("last_error", ""),
        )
    return table


@app.command("list")
def list_notifications(
    channel: Annotated[str, typer.Option("--channel", help="app_store or google_play.")] = "",
    state: Annotated[str, typer.Option("--state", help="received, applied, ignored, failed or parked.")] = "",
) -> None:
    """The newest notifications first (one page)."""
    terms = [f'channel = "{channel}"'] * bool(channel) + [f"state = {state.upper()}"] * bool(state)
    cli = _cli()
    with cli.handled():
        answer = cli.client().call("GET", "/v1/channel-notifications", params={"filter": " AND ".join(terms)})
    cli.console.print(notifications_table(answer.get("notifications", [])))


@app.command("show")
def show(name: Name) -> None:
    """One notification with its raw body and headers."""
    cli = _cli()
    with cli.handled():
        answer = cli.client().call("GET", f"/v1/channel-notifications/{name}")
    notification = answer["notification"]
    cli.console.print(notifications_table([notification]))
    for header, value in sorted(notification.get("headers", {}).items()):
        cli.console.print(f"{header}: {value}", markup=False, highlight=False)
    cli.console.print(notification.get("body", ""), markup=False, highlight=False)


@app.command("replay")
def replay(name: Name) -> None:
    """Apply a failed or parked notification again, now."""
    cli = _cli()
    with cli.handled():
        answer = cli.client().post(f"/v1/channel-notifications/{name}:replay")
    cli.console.print(notifications_table([answer["notification"]]))
