"""`azotte catalog plans|storefronts|features|prices|mappings ...`: catalog resources one by one.

A resource is given as JSON in its API form (e.g. `'{"id": "basic", "display_name": "Basic", ...}'`), or as
`@file.json`; answers are printed as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

plans = typer.Typer(help="Plans: list, get, create, update, activate, retire.", no_args_is_help=True)
storefronts = typer.Typer(help="Storefronts: list, get, create, update.", no_args_is_help=True)
features = typer.Typer(help="Features: list, get, create, update.", no_args_is_help=True)
prices = typer.Typer(help="Price versions: list, schedule, cancel.", no_args_is_help=True)
mappings = typer.Typer(help="Channel product mappings: list, create.", no_args_is_help=True)

Filter = Annotated[str, typer.Option("--filter", help="AIP-160 filter, e.g. 'state = active'.")]
OrderBy = Annotated[str, typer.Option("--order-by", help="AIP-132 order, e.g. 'rank desc'.")]
PageToken = Annotated[str, typer.Option("--page-token", help="Continue a previous list.")]
Mask = Annotated[str, typer.Option("--mask", help="Comma-separated fields to change (default: the ones given).")]
Resource = Annotated[str, typer.Argument(help="The resource as JSON, or @file.json.")]


def register(catalog: typer.Typer) -> None:
    """Add the resource commands under `azotte catalog`."""
    for sub, name in (
        (plans, "plans"),
        (storefronts, "storefronts"),
        (features, "features"),
        (prices, "prices"),
        (mappings, "mappings"),
    ):
        catalog.add_typer(sub, name=name)


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-apps.
    from azotte_gateway.cli import commands

    return commands


def _resource(text: str) -> dict[str, Any]:
    raw = Path(text[1:]).read_text() if text.startswith("@") else text
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise typer.BadParameter(f"not JSON: {error}") from error
    if not isinstance(value, dict):
        raise typer.BadParameter("a resource is a JSON object")
    return value


def _call(method: str, path: str, **kwargs: Any) -> None:
    cli = _cli()
    with cli.handled():
        answer = cli.client().call(method, path, **kwargs)
    cli.console.print_json(json.dumps(answer))


def _list(path: str, filter: str, order_by: str, page_token: str, **params: str) -> None:
    query = {"filter": filter, "order_by": order_by, "page_token": page_token, **params}
    _call("GET", path, params={name: value for name, value in query.items() if value})


def _mutate(method: str, path: str, body: dict[str, Any]) -> None:
    from azotte_gateway.cli.client import new_request_id

    _call(method, path, json={"request_id": new_request_id(), **body})


def _update(path: str, field: str, resource: str, mask: str) -> None:
    _mutate("PATCH", path, {field: _resource(resource), "update_mask": mask})


# --- plans ------------------------------------------------------------------------------------------


@plans.command("list")
def plans_list(filter: Filter = "", order_by: OrderBy = "", page_token: PageToken = "") -> None:
    """List plans."""
    _list("/v1/plans", filter, order_by, page_token)


@plans.command("get")
def plans_get(plan_id: str) -> None:
    """Show a plan."""
    _call("GET", f"/v1/plans/{plan_id}")


@plans.command("create")
def plans_create(plan: Resource) -> None:
    """Create a plan (a draft unless its state says PLAN_STATE_ACTIVE)."""
    _mutate("POST", "/v1/plans", {"plan": _resource(plan)})


@plans.command("update")
def plans_update(plan_id: str, plan: Resource, mask: Mask = "") -> None:
    """Change a plan's definition."""
    _update(f"/v1/plans/{plan_id}", "plan", plan, mask)


@plans.command("activate")
def plans_activate(plan_id: str) -> None:
    """Open a draft plan for sale."""
    _mutate("POST", f"/v1/plans/{plan_id}:activate", {})


@plans.command("retire")
def plans_retire(plan_id: str) -> None:
    """Stop selling a plan (its subscribers keep renewing)."""
    _mutate("POST", f"/v1/plans/{plan_id}:retire", {})


# --- storefronts ------------------------------------------------------------------------------------


@storefronts.command("list")
def storefronts_list(filter: Filter = "", order_by: OrderBy = "", page_token: PageToken = "") -> None:
    """List storefronts."""
    _list("/v1/storefronts", filter, order_by, page_token)


@storefronts.command("get")
def storefronts_get(storefront_id: str) -> None:
    """Show a storefront."""
    _call("GET", f"/v1/storefronts/{storefront_id}")


@storefronts.command("create")
def storefronts_create(storefront: Resource) -> None:
    """Create a storefront."""
    _mutate("POST", "/v1/storefronts", {"storefront": _resource(storefront)})


@storefronts.command("update")
def storefronts_update(storefront_id: str, storefront: Resource, mask: Mask = "") -> None:
    """Change a storefront (its currency is fixed once it has prices)."""
    _update(f"/v1/storefronts/{storefront_id}", "storefront", storefront, mask)


# --- features ---------------------------------------------------------------------------------------


@features.command("list")
def features_list(filter: Filter = "", order_by: OrderBy = "", page_token: PageToken = "") -> None:
    """List features."""
    _list("/v1/features", filter, order_by, page_token)


@features.command("get")
def features_get(feature_key: str) -> None:
    """Show a feature."""
    _call("GET", f"/v1/features/{feature_key}")


@features.command("create")
def features_create(feature: Resource) -> None:
    """Create a feature."""
    _mutate("POST", "/v1/features", {"feature": _resource(feature)})


@features.command("update")
def features_update(feature_key: str, feature: Resource, mask: Mask = "") -> None:
    """Change a feature (its kind is fixed)."""
    _update(f"/v1/features/{feature_key}", "feature", feature, mask)


# --- prices -----------------------------------------------------------------------------------------


@prices.command("list")
def prices_list(filter: Filter = "", order_by: OrderBy = "", page_token: PageToken = "") -> None:
    """List price versions (`--filter 'scheduled = true'` for the ones still ahead)."""
    _list("/v1/prices", filter, order_by, page_token)


@prices.command("schedule")
def prices_schedule(
    plan_id: Annotated[str, typer.Option("--plan", help="Plan id.")],
    storefront_id: Annotated[str, typer.Option("--storefront", help="Storefront id.")],
    amount_minor: Annotated[int, typer.Option("--amount-minor", help="In minor units of the storefront currency.")],
    effective_time: Annotated[
        str, typer.Option("--effective-time", help="RFC 3339; default now (a key's first price only).")
    ] = "",
    channel: Annotated[str, typer.Option(help="A channel-specific price, e.g. app_store.")] = "",
    existing_subscribers: Annotated[
        str, typer.Option("--existing-subscribers", help="grandfathered or at_next_renewal.")
    ] = "grandfathered",
) -> None:
    """Schedule a price version; it takes effect by itself."""
    body: dict[str, Any] = {
        "plan_id": plan_id,
        "storefront_id": storefront_id,
        "amount_minor": amount_minor,
        "existing_subscribers": existing_subscribers,
    }
    if effective_time:
        body["effective_time"] = effective_time
    if channel:
        body["channel"] = channel
    _mutate("POST", "/v1/prices", body)


@prices.command("cancel")
def prices_cancel(price_id: str) -> None:
    """Withdraw a price version scheduled ahead, before it takes effect."""
    _mutate("POST", f"/v1/prices/{price_id}:cancel", {})


# --- channel mappings -------------------------------------------------------------------------------


@mappings.command("list")
def mappings_list(filter: Filter = "", order_by: OrderBy = "", page_token: PageToken = "") -> None:
    """List channel product mappings."""
    _list("/v1/channel-mappings", filter, order_by, page_token)


@mappings.command("create")
def mappings_create(channel_mapping: Resource) -> None:
    """Map a store's product id to a plan, e.g. '{"channel": "CHANNEL_APP_STORE", ...}'."""
    _mutate("POST", "/v1/channel-mappings", {"channel_mapping": _resource(channel_mapping)})
