"""`azotte grants list|create|revoke|suspend|restore|reconcile`: entitlements by hand for support cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

app = typer.Typer(help="Grants by hand: comps, revocations, suspensions, drift reconciliation.", no_args_is_help=True)

Customer = Annotated[str, typer.Argument(help="The customer id.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (required), e.g. the support case.")]


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


def _time(value: dict[str, Any], field: str) -> str:
    return str(value.get(field, "")) or "-"


def grants_table(grants: list[dict[str, Any]], title: str = "Grants") -> Table:
    table = Table("grant", "feature", "source", "from", "until", "limit", "by", "reason", title=title)
    for grant in grants:
        audit = grant.get("audit") or {}
        source = str(grant.get("source", "")).removeprefix("ACCESS_SOURCE_KIND_").lower()
        table.add_row(
            grant["grant_id"],
            grant["feature_key"],
            f"{source} {grant.get('source_ref', '')}".strip(),
            _time(grant, "start_time"),
            _time(grant, "end_time"),
            str(grant.get("limit", "-")),
            audit.get("actor", ""),
            audit.get("reason", ""),
        )
    return table


def _show_token(answer: dict[str, Any]) -> None:
    token = answer.get("consistency_token")
    if token:
        _cli().console.print(f"[dim]consistency token: {token}[/]")


@app.command("list")
def list_grants(
    customer_id: Customer,
    filter: Annotated[str, typer.Option("--filter", help="AIP-160, e.g. 'source = manual'.")] = "",
    order_by: Annotated[str, typer.Option("--order-by", help="AIP-132, e.g. 'valid_until desc'.")] = "",
    page_token: Annotated[str, typer.Option("--page-token", help="Continue a previous list.")] = "",
) -> None:
    """A customer's grants from every source."""
    query = {"filter": filter, "order_by": order_by, "page_token": page_token}
    answer = _call("GET", f"/v1/customers/{customer_id}/grants", params={k: v for k, v in query.items() if v} or None)
    _cli().console.print(grants_table(answer["grants"]))
    if answer.get("next_page_token"):
        _cli().console.print(f"next page: --page-token {answer['next_page_token']}")


@app.command("create")
def create(
    customer_id: Customer,
    reason: Reason,
    feature: Annotated[list[str] | None, typer.Option("--feature", help="A feature to grant (repeatable).")] = None,
    plan: Annotated[str, typer.Option("--plan", help="Grant every feature of this plan instead.")] = "",
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="How long the grant lasts.")] = 30,
    limit: Annotated[int | None, typer.Option("--limit", help="Quota or seats of quota/seats features.")] = None,
) -> None:
    """Grant features (or a plan's features) to a customer for some days, with a reason."""
    body: dict[str, Any] = {
        "feature_keys": feature or [],
        "plan_id": plan,
        "end_time": (datetime.now(UTC) + timedelta(days=days)).isoformat(),
        "reason": reason,
    }
    if limit is not None:
        body["limit"] = limit
    answer = _post(f"/v1/customers/{customer_id}/grants", body)
    _cli().console.print(grants_table(answer["grants"], "Granted"))
    _show_token(answer)


@app.command("revoke")
def revoke(customer_id: Customer, grant_id: str, reason: Reason) -> None:
    """Revoke a grant made by hand."""
    answer = _post(f"/v1/customers/{customer_id}/grants/{grant_id}:revoke", {"reason": reason})
    _cli().console.print(grants_table([answer["grant"]], "Revoked"))
    _show_token(answer)


@app.command("suspend")
def suspend(customer_id: Customer, feature_key: str, reason: Reason) -> None:
    """Suspend a feature for a customer whatever grants it (e.g. abuse)."""
    answer = _post(f"/v1/customers/{customer_id}/features/{feature_key}:suspend", {"reason": reason})
    suspension = answer["suspension"]
    _cli().console.print(f"suspended {suspension['feature_key']} for {customer_id}: {suspension['reason']}")
    _show_token(answer)


@app.command("restore")
def restore(customer_id: Customer, feature_key: str) -> None:
    """Lift a feature's suspension."""
    answer = _post(f"/v1/customers/{customer_id}/features/{feature_key}:restore")
    _cli().console.print(f"restored {answer['suspension']['feature_key']} for {customer_id}")
    _show_token(answer)


@app.command("reconcile")
def reconcile(
    customer_id: Annotated[str, typer.Argument(help="Only this customer; omit for the whole tenant.")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report without correcting.")] = False,
) -> None:
    """Recompute grants from subscriptions and the catalog, correct the drift and report it."""
    path = f"/v1/customers/{customer_id}/grants:reconcile" if customer_id else "/v1/grants:reconcile"
    answer = _post(path, {"validate_only": dry_run})
    table = Table("correction", "customer", "feature", "source", title="Drift")
    for correction in answer["corrections"]:
        grant = correction["grant"]
        kind = str(correction["kind"]).removeprefix("GRANT_CORRECTION_KIND_").lower()
        table.add_row(kind, grant["customer_id"], grant["feature_key"], grant.get("source_ref", ""))
    console = _cli().console
    console.print(table)
    counts = f"{answer['granted_count']} missing, {answer['revoked_count']} extra, {answer['changed_count']} changed"
    state = "corrected" if answer["corrected"] else "not corrected"
    console.print(f"{answer['checked_customer_count']} customers checked: {counts} ({state})")
