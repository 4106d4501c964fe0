"""`azotte policy show|set|versions`: the lifecycle policy (grace, retries, hold, trial end, pause, cancel,
invoice reminders)."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from azotte_gateway.cli import render
from azotte_gateway.cli.client import new_request_id

app = typer.Typer(help="The lifecycle policy, per tenant and per plan, and its versions.", no_args_is_help=True)

Plan = Annotated[str, typer.Option("--plan", help="A plan's override instead of the tenant's rules.")]
DAY = 86_400


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _print(*items: Any) -> None:
    for item in items:
        _cli().console.print(item)


def _days(duration: str | None) -> str:
    if not duration:
        return "-"
    return f"{float(duration.removesuffix('s')) / DAY:g} d"


def _day_list(days: dict[str, Any] | None) -> str:
    """A day list as written (`none` when set empty), or `-` when unset."""
    if days is None:
        return "-"
    return ", ".join(str(d) for d in days["days"]) or "none"


def _row(rules: dict[str, Any]) -> list[str]:
    return [
        _days(rules.get("grace_period")),
        _day_list(rules.get("retry_schedule")),
        _days(rules.get("hold_period")),
        render.enum(rules.get("trial_end_behavior", ""), "TRIAL_END_BEHAVIOR_").replace("unspecified", "-"),
        _days(rules.get("max_pause")),
        render.enum(rules.get("cancel_timing", ""), "CANCELLATION_TIMING_").replace("unspecified", "-"),
        render.enum(rules.get("duplicate_across_channels", ""), "DUPLICATE_ACROSS_CHANNELS_").replace(
            "unspecified", "-"
        ),
        _day_list(rules.get("invoice_reminder_days")),
    ]


def policy_table(policy: dict[str, Any], effective: dict[str, Any] | None = None, plan: str = "") -> Table:
    title = f"Lifecycle policy, version {policy['version']}"
    if policy.get("update_time"):
        title += f" ({policy['update_time']} by {policy['update_actor']})"
    table = Table(
        "rules",
        "grace",
        "retry days",
        "hold",
        "trial end",
        "max pause",
        "cancel",
        "duplicates",
        "invoice reminder days",
        title=title,
    )
    table.add_row("tenant", *_row(policy["rules"]))
    for plan_id, rules in sorted(policy.get("plan_overrides", {}).items()):
        table.add_row(f"plan {plan_id}", *_row(rules))
    if effective is not None and plan:
        table.add_row(f"effective for {plan}", *_row(effective))
    return table


@app.command("show")
def show(plan: Plan = "") -> None:
    """The current policy, its plan overrides and its version (with --plan, that plan's effective rules)."""
    answer = _call("GET", "/v1/lifecycle-policy", params={"plan_id": plan} if plan else None)
    _print(policy_table(answer["policy"], answer["effective_rules"], plan))


def rules_update(
    grace_days: float | None,
    retry_days: str | None,
    hold_days: float | None,
    trial_end: str | None,
    max_pause_days: float | None,
    cancel_timing: str | None,
    duplicate_across_channels: str | None = None,
    invoice_reminder_days: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The `rules` and `update_mask` of the options given."""
    rules: dict[str, Any] = {}
    for name, days in (("grace_period", grace_days), ("hold_period", hold_days), ("max_pause", max_pause_days)):
        if days is not None:
            rules[name] = f"{int(days * DAY)}s"
    for name, listed in (("retry_schedule", retry_days), ("invoice_reminder_days", invoice_reminder_days)):
        if listed is not None:
            rules[name] = {"days": [int(d) for d in listed.split(",") if d.strip()]}
    if trial_end is not None:
        rules["trial_end_behavior"] = trial_end.upper()
    if cancel_timing is not None:
        rules["cancel_timing"] = cancel_timing.upper()
    if duplicate_across_channels is not None:
        rules["duplicate_across_channels"] = duplicate_across_channels.upper()
    return rules, list(rules)


@app.command("set")
def set_(
    plan: Plan = "",
    grace_days: Annotated[float | None, typer.Option("--grace-days", help="Grace after a failed charge.")] = None,
    retry_days: Annotated[str | None, typer.Option("--retry-days", help="e.g. 1,3,5,7 ('' for none).")] = None,
    hold_days: Annotated[float | None, typer.Option("--hold-days", help="Hold after grace (0: none).")] = None,
    trial_end: Annotated[
        str | None, typer.Option("--trial-end", help="convert or expire_without_payment_method.")
    ] = None,
    max_pause_days: Annotated[float | None, typer.Option("--max-pause-days", help="The longest pause.")] = None,
    cancel_timing: Annotated[str | None, typer.Option("--cancel-timing", help="at_period_end or immediately.")] = None,
    duplicate_across_channels: Annotated[
        str | None,
        typer.Option("--duplicate-across-channels", help="allow, or flag a store purchase of a product line held."),
    ] = None,
    invoice_reminder_days: Annotated[
        str | None,
        typer.Option(
            "--invoice-reminder-days", help="Days from an invoice's due date, e.g. -3,2 (before, after; '' for none)."
        ),
    ] = None,
    expected_version: Annotated[
        int | None, typer.Option("--expected-version", help="Refuse if the policy moved past this version.")
    ] = None,
) -> None:
    """Change the given rules (a new version); the others keep their value."""
    rules, mask = rules_update(
        grace_days,
        retry_days,
        hold_days,
        trial_end,
        max_pause_days,
        cancel_timing,
        duplicate_across_channels,
        invoice_reminder_days,
    )
    if not mask:
        _print("[red]Nothing to set: pass at least one rule option.[/]")
        raise typer.Exit(2)
    body: dict[str, Any] = {"request_id": new_request_id(), "rules": rules, "update_mask": ",".join(mask)}
    if plan:
        body["plan_id"] = plan
    if expected_version is not None:
        body["expected_version"] = expected_version
    answer = _call("PATCH", "/v1/lifecycle-policy", json=body)
    _print(policy_table(answer["policy"]), f"Applies to {answer['applies_to']} ({answer['effective_time']}).")


@app.command("versions")
def versions(page_token: Annotated[str, typer.Option("--page-token", help="Continue a previous list.")] = "") -> None:
    """The stored versions, newest first: who changed the policy and when."""
    answer = _call("GET", "/v1/lifecycle-policy/versions", params={"page_token": page_token} if page_token else None)
    for version in answer["versions"]:
        _print(policy_table(version))
    if answer["next_page_token"]:
        _print(f"next page: --page-token {answer['next_page_token']}")
