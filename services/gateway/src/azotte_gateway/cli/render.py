"""Rich renderings of the gateway's answers."""

from __future__ import annotations

from typing import Any

from rich.table import Table

_EXPONENTS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}


def money(value: dict[str, Any] | None) -> str:
    """`{"currency_code": "EUR", "amount_minor": "2199"}` as `21.99 EUR`."""
    if not value or not value.get("currency_code"):
        return "-"
    exponent = _EXPONENTS.get(value["currency_code"], 2)
    amount = int(value.get("amount_minor", 0))
    whole = f"{amount / 10**exponent:.{exponent}f}" if exponent else str(amount)
    return f"{whole} {value['currency_code']}"


def enum(value: str, prefix: str) -> str:
    """`SUBSCRIPTION_STATE_PAST_DUE` as `past_due`."""
    return value.removeprefix(prefix).lower() if value else "-"


def day(value: str | None) -> str:
    """The date part of an RFC 3339 time."""
    return value[:10] if value else "-"


def subscriptions_table(subscriptions: list[dict[str, Any]]) -> Table:
    table = Table("subscription", "plan", "storefront", "state", "period end", "auto-renew", title="Subscriptions")
    for s in subscriptions:
        renews = "off" if s.get("cancel_at_period_end") else "on"
        table.add_row(
            s["id"],
            s["plan_id"],
            s["storefront_id"],
            enum(s["state"], "SUBSCRIPTION_STATE_"),
            day(s.get("current_period_end_time")),
            "-" if s["state"] == "SUBSCRIPTION_STATE_EXPIRED" else renews,
        )
    return table


def entitlements_table(entitlements: list[dict[str, Any]]) -> Table:
    table = Table("feature", "from subscription", "until", "quota", title="Entitlements")
    for e in entitlements:
        quota = f"{e.get('quota_used', 0)}/{e['quota_limit']}" if "quota_limit" in e else "-"
        if "quota_reset_time" in e:
            quota += f", resets {e['quota_reset_time'][:16].replace('T', ' ')}"
        table.add_row(e["feature_key"], e.get("subscription_id") or "-", day(e.get("end_time")), quota)
    return table


def charges_table(charges: list[dict[str, Any]]) -> Table:
    table = Table("charge", "state", "gross", "tax", "net", "decline", title="Charges")
    for c in charges:
        table.add_row(
            c["id"],
            enum(c["state"], "CHARGE_STATE_"),
            money(c.get("gross")),
            money(c.get("tax")),
            money(c.get("net")),
            c.get("decline_reason") or "-",
        )
    return table


def changes_table(changes: list[dict[str, Any]]) -> Table:
    table = Table("change", "resource", "id", "fields", title="Catalog changes")
    styles = {"created": "green", "updated": "yellow", "unchanged": "dim", "removed_from_document": "red"}
    for c in changes:
        kind = enum(c["change_type"], "CHANGE_TYPE_")
        style = styles.get(kind, "")
        table.add_row(
            f"[{style}]{kind}[/]" if style else kind,
            c["resource_type"],
            c["resource_id"],
            ", ".join(c.get("changed_fields", [])),
        )
    return table


def keys_table(keys: list[dict[str, Any]]) -> Table:
    table = Table("id", "name", "role", "prefix", "created", "revoked", title="API keys")
    for k in keys:
        table.add_row(
            k["id"],
            k["display_name"],
            enum(k["role"], "API_KEY_ROLE_"),
            k["prefix"],
            day(k.get("create_time")),
            day(k.get("revoke_time")),
        )
    return table
