"""`azotte` commands; each is a thin call of the gateway REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from azotte_gateway.cli import (
    analytics,
    billing,
    campaigns,
    catalog_resources,
    channel_notifications,
    contracts,
    customers,
    experiments,
    families,
    grants,
    invoices,
    partners,
    policy,
    price_changes,
    psp_accounts,
    referrals,
    render,
    usage,
    usage_billing,
    webhooks,
)
from azotte_gateway.cli.client import DEFAULT_URL, ApiError, GatewayClient, default_key, home, sandbox_urls

app = typer.Typer(
    help="Azotte: subscriptions, entitlements and the sandbox, from the command line.", no_args_is_help=True
)
tenants = typer.Typer(help="Tenants (root tenant administrators).", no_args_is_help=True)
keys = typer.Typer(help="API keys of your tenant.", no_args_is_help=True)
catalog = typer.Typer(help="The declarative catalog.", no_args_is_help=True)
clock = typer.Typer(help="The sandbox clock.", no_args_is_help=True)
for sub, name in ((tenants, "tenants"), (keys, "keys"), (catalog, "catalog"), (clock, "clock")):
    app.add_typer(sub, name=name)
catalog_resources.register(catalog)
billing.register(app)
analytics.register(billing.revenue)
app.add_typer(families.app, name="families")
app.add_typer(grants.app, name="grants")
app.add_typer(referrals.app, name="referrals")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(experiments.app, name="experiments")
customers.register(app)
app.add_typer(policy.app, name="policy")
app.add_typer(price_changes.app, name="price-changes")
app.add_typer(psp_accounts.app, name="psp-accounts")
app.add_typer(invoices.app, name="invoices")
app.add_typer(invoices.bank, name="bank")
app.add_typer(contracts.app, name="contracts")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(channel_notifications.app, name="channel-notifications")
app.add_typer(partners.app, name="partners")
app.add_typer(usage.app, name="usage")
app.add_typer(usage_billing.app, name="usage-billing")

console = Console(emoji=False)


class State:
    """Options shared by every command."""

    url: str = DEFAULT_URL
    key: str | None = None


@app.callback()
def main(
    url: Annotated[str, typer.Option(envvar="AZOTTE_URL", help="Gateway REST address.")] = DEFAULT_URL,
    key: Annotated[
        str | None, typer.Option(envvar="AZOTTE_API_KEY", help="API key (default: .azotte/sandbox-admin.key).")
    ] = None,
) -> None:
    State.url = url
    State.key = key


def client() -> GatewayClient:
    """A client with the chosen key, or a clear error when there is none."""
    key = State.key or default_key()
    if not key:
        console.print("[red]No API key: pass --key, set AZOTTE_API_KEY, or start the suite (make up) first.[/]")
        raise typer.Exit(2)
    return GatewayClient(State.url, key)


@contextmanager
def handled() -> Iterator[None]:
    """Print API errors readably and exit non-zero."""
    try:
        yield
    except ApiError as error:
        console.print(f"[red]{error}[/] [dim]{error.reason}[/]")
        raise typer.Exit(1) from error


@contextmanager
def spinner(what: str) -> Iterator[None]:
    """A progress line while a long call runs."""
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as progress:
        progress.add_task(what, total=None)
        yield


# --- tenants and keys -----------------------------------------------------------------------------


@tenants.command("create")
def tenants_create(
    tenant_id: str,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    live: Annotated[bool, typer.Option(help="A live tenant (real money, wall clock).")] = False,
) -> None:
    """Create a tenant and print its first admin key (shown once)."""
    with handled():
        body = {"tenant_id": tenant_id, "display_name": name or tenant_id, "mode": "live" if live else "sandbox"}
        created = client().post("/v1/tenants", body)
    console.print(f"Tenant [bold]{tenant_id}[/] created. Its first admin key (shown only now):")
    console.print(created["admin_secret"], soft_wrap=True)


@keys.command("list")
def keys_list(
    revoked: Annotated[bool, typer.Option(help="Include revoked keys.")] = False,
    filter: Annotated[str, typer.Option("--filter", help="e.g. 'role = viewer AND revoked = false'.")] = "",
    order_by: Annotated[str, typer.Option("--order-by", help="create_time, display_name or role [desc].")] = "",
) -> None:
    """List your tenant's keys (prefixes only)."""
    with handled():
        listed = client().get("/v1/api-keys", show_revoked=revoked, filter=filter, order_by=order_by)
    console.print(render.keys_table(listed["api_keys"]))


@keys.command("create")
def keys_create(
    name: str,
    role: Annotated[str, typer.Option(help="admin, manager, operator, viewer or publishable.")] = "viewer",
) -> None:
    """Create a key and print its secret (shown once)."""
    with handled():
        created = client().post("/v1/api-keys", {"display_name": name, "role": role})
    console.print(render.keys_table([created["api_key"]]))
    console.print(created["secret"], soft_wrap=True)


@keys.command("revoke")
def keys_revoke(api_key_id: str) -> None:
    """Revoke a key at once."""
    with handled():
        revoked = client().post(f"/v1/api-keys/{api_key_id}:revoke")
    console.print(render.keys_table([revoked["api_key"]]))


# --- catalog --------------------------------------------------------------------------------------


@catalog.command("apply")
def catalog_apply(
    document: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Catalog document (YAML or JSON).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would change.")] = False,
) -> None:
    """Apply a catalog document, showing every change."""
    with handled(), spinner("Applying the catalog" if not dry_run else "Computing the changes"):
        answer = client().apply_catalog(document, dry_run=dry_run)
    changes = [c for c in answer.get("changes", []) if c["change_type"] != "CHANGE_TYPE_UNCHANGED"]
    console.print(render.changes_table(changes) if changes else "Nothing to change.")
    for warning in answer.get("warnings", []):
        console.print(f"[yellow]warning[/] {escape(warning['field'])}: {escape(warning['description'])}")
    console.print("Applied." if answer.get("applied") else "[yellow]Dry run: nothing written.[/]")


@catalog.command("export")
def catalog_export(fmt: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml") -> None:
    """Print the catalog as a document."""
    with handled():
        document = client().get("/v1/catalog", format=fmt)
    console.print(document if isinstance(document, str) else json.dumps(document, indent=2), markup=False)


# --- clock --------------------------------------------------------------------------------------


@clock.command("advance")
def clock_advance(
    days: Annotated[int, typer.Option(help="Days to move forward.")] = 0,
    hours: Annotated[int, typer.Option(help="Hours to move forward.")] = 0,
) -> None:
    """Move the sandbox clock forward; renewals, trial ends and retries that fall due run."""
    with handled(), spinner(f"Advancing the clock by {days} d {hours} h"):
        moved = client().post("/v1/sandbox/clock:advance", {"advance_by_seconds": days * 86_400 + hours * 3_600})
    console.print(f"Sandbox time is now [bold]{moved['now']}[/] (offset {moved['offset']}).")


@app.command("demo")
def demo(
    catalog_file: Annotated[Path, typer.Option("--catalog", help="Catalog to apply.")] = Path(
        "docs/examples/ott-catalog.yaml"
    ),
) -> None:
    """A scripted tour of Azotte against the running suite."""
    from azotte_gateway.cli.demo import run_demo

    with handled():
        failed = run_demo(client(), catalog_file, console, sandbox_urls(home()))
    if failed:
        raise typer.Exit(1)
