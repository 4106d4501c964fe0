"""`azotte psp-accounts list|get|connect|rewrap`: the tenant's own payment provider accounts (admins)."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

app = typer.Typer(help="Your own payment provider accounts (Stripe, Adyen, sandbox PSPs).", no_args_is_help=True)

# The credentials each kind asks for; secrets are typed at a hidden prompt, never passed as options.
# A live Adyen account is also asked for its live URL prefix (not secret).
CREDENTIALS = {
    "STRIPE": ("secret_key", "webhook_secret"),
    "ADYEN": ("api_key", "merchant_account", "hmac_key"),
    "STRIPE_LIKE": ("api_key",),
    "ADYEN_LIKE": ("api_key", "merchant_account"),
}


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _post(path: str, body: dict[str, Any]) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().post(path, body)


def accounts_table(accounts: list[dict[str, Any]]) -> Table:
    table = Table("account", "kind", "mode", "name", "credentials (hints)", title="PSP accounts")
    for account in accounts:
        hints = ", ".join(f"{name} {hint}" for name, hint in sorted(account.get("credential_hints", {}).items()))
        table.add_row(
            account["account_id"],
            str(account.get("kind", "")).removeprefix("PSP_KIND_"),
            str(account.get("mode", "")).removeprefix("PSP_MODE_"),
            account.get("display_name", ""),
            hints,
        )
    return table


@app.command("list")
def list_accounts() -> None:
    """Your PSP accounts, with a hint of each credential."""
    _cli().console.print(accounts_table(_call("GET", "/v1/psp-accounts")["accounts"]))


@app.command("get")
def get(account_id: str) -> None:
    """One PSP account."""
    _cli().console.print(accounts_table([_call("GET", f"/v1/psp-accounts/{account_id}")["account"]]))


@app.command("connect")
def connect(
    account_id: Annotated[str, typer.Argument(help="The name your routing rules use, e.g. stripe-eu.")],
    kind: Annotated[str, typer.Option("--kind", help="STRIPE, ADYEN, STRIPE_LIKE or ADYEN_LIKE.")] = "STRIPE",
    live: Annotated[bool, typer.Option("--live", help="Real money (a Stripe sk_live_ key).")] = False,
    name: Annotated[str, typer.Option("--name", help="A display name.")] = "",
) -> None:
    """Connect an account; its credentials are asked for at a hidden prompt and never shown again."""
    kind = kind.upper()
    if kind not in CREDENTIALS:
        raise typer.BadParameter(f"must be one of {', '.join(CREDENTIALS)}", param_hint="--kind")
    credentials = {field: typer.prompt(field, hide_input=field != "merchant_account") for field in CREDENTIALS[kind]}
    if kind == "ADYEN" and live:
        credentials["live_url_prefix"] = typer.prompt("live_url_prefix")
    account = {"account_id": account_id, "kind": kind, "mode": "LIVE" if live else "SANDBOX", "display_name": name}
    answer = _post("/v1/psp-accounts", {"account": account, "credentials": credentials})
    _cli().console.print(accounts_table([answer["account"]]))


@app.command("rewrap")
def rewrap() -> None:
    """After a key-encryption key rotation: wrap every account's data key with the active key."""
    answer = _post("/v1/psp-accounts:rewrap", {})
    _cli().console.print(f"re-wrapped {answer.get('rewrapped_count', 0)} account(s)")
