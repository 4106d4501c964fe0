"""`azotte webhooks ...`: endpoints and their secrets, the delivery log, replays and test events."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from azotte_gateway.cli.client import new_request_id

app = typer.Typer(help="Signed webhooks to your endpoints (Standard Webhooks).", no_args_is_help=True)

Endpoint = Annotated[str, typer.Argument(help="The endpoint id (ep_...).")]
Message = Annotated[str, typer.Argument(help="The message id (msg_...): its webhook-id.")]


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _post(path: str, body: dict[str, Any] | None = None) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().post(path, body)


def _short(value: str, prefix: str) -> str:
    return value.removeprefix(prefix).lower()


def endpoints_table(endpoints: list[dict[str, Any]]) -> Table:
    table = Table("endpoint", "url", "event types", "enabled", "disabled", title="Webhook endpoints")
    for e in endpoints:
        reason = _short(str(e.get("disabled_reason", "")), "WEBHOOK_DISABLED_REASON_")
        disabled = "" if e["enabled"] else f"{reason} {e.get('disable_time', '')}".strip()
        table.add_row(
            e["id"], e["url"], ", ".join(e["event_types"]) or "all", "yes" if e["enabled"] else "no", disabled
        )
    return table


def _show_secret(answer: dict[str, Any]) -> None:
    console = _cli().console
    console.print(endpoints_table([answer["endpoint"]]))
    console.print(f"secret (shown once): [bold]{answer['secret']}[/]")


@app.command("list")
def list_endpoints() -> None:
    """The tenant's endpoints."""
    _cli().console.print(endpoints_table(_call("GET", "/v1/webhook-endpoints")["endpoints"]))


@app.command("create")
def create(
    url: Annotated[str, typer.Argument(help="Where messages are POSTed (https; http for sandbox tenants).")],
    event_type: Annotated[
        list[str] | None, typer.Option("--event-type", help="Repeat for each type (e.g. payment.*); none: all.")
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """Add an endpoint; its secret is printed once."""
    body = {"url": url, "event_types": event_type or [], "description": description}
    _show_secret(_post("/v1/webhook-endpoints", body))


@app.command("rotate-secret")
def rotate_secret(endpoint_id: Endpoint) -> None:
    """A new secret (printed once); the previous one keeps signing for 24 hours."""
    _show_secret(_post(f"/v1/webhook-endpoints/{endpoint_id}:rotate-secret"))


@app.command("enable")
def enable(endpoint_id: Endpoint) -> None:
    """Send to the endpoint again."""
    answer = _call(
        "PATCH", f"/v1/webhook-endpoints/{endpoint_id}", json=_body({"enabled": True, "update_mask": "enabled"})
    )
    _cli().console.print(endpoints_table([answer["endpoint"]]))


@app.command("disable")
def disable(endpoint_id: Endpoint) -> None:
    """Stop sending to the endpoint (pending messages fail; replay them later)."""
    answer = _call(
        "PATCH", f"/v1/webhook-endpoints/{endpoint_id}", json=_body({"enabled": False, "update_mask": "enabled"})
    )
    _cli().console.print(endpoints_table([answer["endpoint"]]))


@app.command("delete")
def delete(endpoint_id: Endpoint) -> None:
    """Remove an endpoint with its messages and log."""
    _call("DELETE", f"/v1/webhook-endpoints/{endpoint_id}", params=_body({}))
    _cli().console.print(f"deleted {endpoint_id}")


@app.command("test")
def send_test(endpoint_id: Endpoint) -> None:
    """Send a webhook.test message to the endpoint."""
    answer = _post(f"/v1/webhook-endpoints/{endpoint_id}:send-test-event")
    _cli().console.print(messages_table([answer["message"]]))


@app.command("messages")
def messages(
    filter: Annotated[str, typer.Option("--filter", help="AIP-160, e.g. 'state = FAILED'.")] = "",
    page_token: Annotated[str, typer.Option("--page-token", help="Continue a previous list.")] = "",
) -> None:
    """The delivery log, newest first."""
    query = {k: v for k, v in {"filter": filter, "page_token": page_token}.items() if v}
    answer = _call("GET", "/v1/webhook-messages", params=query or None)
    _cli().console.print(messages_table(answer["messages"]))
    if answer.get("next_page_token"):
        _cli().console.print(f"next page: --page-token {answer['next_page_token']}")


def messages_table(listed: list[dict[str, Any]]) -> Table:
    table = Table("message", "endpoint", "event", "state", "attempts", "created", "next attempt", title="Messages")
    for m in listed:
        table.add_row(
            m["id"],
            m["endpoint_id"],
            m["event_type"],
            _short(str(m["state"]), "WEBHOOK_MESSAGE_STATE_"),
            str(m["attempt_count"]),
            m["create_time"],
            m.get("next_attempt_time", "-"),
        )
    return table


@app.command("attempts")
def attempts(message_id: Message) -> None:
    """Every attempt to deliver one message."""
    listed = _call("GET", f"/v1/webhook-messages/{message_id}/attempts")["attempts"]
    table = Table("#", "time", "status", "ms", "error", "answer", "next attempt", title=message_id)
    for a in listed:
        table.add_row(
            str(a["attempt_number"]),
            a["attempt_time"],
            str(a["status_code"] or "-"),
            str(a["duration_ms"]),
            a["error"],
            a["response_body_excerpt"][:60],
            a.get("next_attempt_time", "-"),
        )
    _cli().console.print(table)


@app.command("replay")
def replay(
    message_id: Annotated[str, typer.Argument(help="A message id; or, with --endpoint, nothing.")] = "",
    endpoint: Annotated[str, typer.Option("--endpoint", help="Replay this endpoint's messages of a range.")] = "",
    start: Annotated[str, typer.Option("--from", help="RFC 3339 start of the range.")] = "",
    end: Annotated[str, typer.Option("--to", help="RFC 3339 end of the range.")] = "",
    include_delivered: Annotated[bool, typer.Option("--include-delivered")] = False,
) -> None:
    """Deliver one message again (same webhook-id), or every failed message of an endpoint in a range."""
    if endpoint:
        body = {"start_time": start, "end_time": end, "include_delivered": include_delivered}
        answer = _post(f"/v1/webhook-endpoints/{endpoint}/messages:replay", body)
        _cli().console.print(f"replayed {answer['replayed_count']} message(s)")
        return
    answer = _post(f"/v1/webhook-messages/{message_id}:replay")
    _cli().console.print(messages_table([answer["message"]]))


def _body(fields: dict[str, Any]) -> dict[str, Any]:
    return {"request_id": new_request_id(), **fields}
