"""The demo's AI section: the tenant adds an AI assistant (docs/examples/ai-catalog.yaml), meters tokens on two
models at graduated prices, each model's tokens filling the plan's quota of it, a prepaid wallet burns down, an 80%
alert fires, an empty wallet cuts access, and a top-up restores it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from azotte_gateway.cli import render
from azotte_gateway.cli.client import ApiError, GatewayClient

if TYPE_CHECKING:
    from azotte_gateway.cli.demo import Tour

AI_CATALOG = Path("docs/examples/ai-catalog.yaml")
FEATURE = "priority_access"
METER = "ai.tokens"
# Cents per token (decimal strings): the large model is cheaper past its first 1,000 tokens of the period.
PRICES = {
    "large": [{"up_to": "1000", "unit_price": "0.5"}, {"unit_price": "0.3"}],
    "small": [{"unit_price": "0.05"}],
}
# 2.50 USD a batch up to the large model's 1,000th token, 2.10 across it, 1.90 past it: the fifth empties the wallet.
BATCHES = ({"large": 300, "small": 2000},) * 5
# The plan's quota feature each model's tokens count toward.
QUOTAS = {"large": "tokens_gpt_large", "small": "tokens_gpt_small"}


def ai_section(tour: Tour, title: str) -> None:
    with tour.step(title):
        ai = _ai_catalog(tour)
        customer = _subscribed_customer(tour, ai)
        _meter_and_prices(tour, ai)
        tour.wait_for(
            "metering to follow the subscription",
            lambda: ai.get(f"/v1/customers/{customer}/upcoming-usage-charges")["subtotal"]["currency_code"] == "USD",
        )
        ai.post(
            f"/v1/customers/{customer}/wallet-credits",
            {"amount": {"currency_code": "USD", "amount_minor": 1000}, "source": "PROMOTION", "reference": "welcome"},
            request_id=tour.request_id("ai", "credit"),
        )
        _limits(tour, ai, customer)
        tour.console.print("  prepaid credit 10.00 USD; alert at 80% of 10.00 USD spent; access stops at 0")
        _show_access(tour, ai, customer)
        for number, batch in enumerate(BATCHES, start=1):
            _stream(tour, ai, customer, number, batch)
        tour.wait_for("the empty wallet to cut access", lambda: not _allowed(ai, customer)[0])
        _show_access(tour, ai, customer)
        _show_quotas(tour, ai, customer)
        alerts = [
            limit for limit in ai.get(f"/v1/customers/{customer}/usage-limits")["limits"] if limit["alerted_percents"]
        ]
        for limit in alerts:
            tour.console.print(f"  alert: {limit['limit_id']} crossed {limit['alerted_percents']}% of {limit['value']}")
        bought = ai.post(
            f"/v1/customers/{customer}/wallets/USD:top-up",
            {"amount_minor": 2000},
            request_id=tour.request_id("ai", "top-up"),
        )
        tour.console.print(f"  top-up of 20.00 USD charged ({bought['charge_id']}): balance {_balance(ai, customer)}")
        tour.wait_for("the top-up to restore access", lambda: _allowed(ai, customer)[0])
        _show_access(tour, ai, customer)
        tour.console.print(_charges_table(ai.get(f"/v1/customers/{customer}/upcoming-usage-charges")))


def _ai_catalog(tour: Tour) -> GatewayClient:
    """The tenant's gateway, its catalog extended with the AI product (applying never deletes)."""
    answer = tour.gateway.apply_catalog(AI_CATALOG, dry_run=False, request_id=tour.request_id("ai", "catalog"))
    added = [c for c in answer.get("changes", []) if c["change_type"] != "CHANGE_TYPE_UNCHANGED"]
    tour.console.print(f"  the AI catalog ({AI_CATALOG}) added {len(added)} resources beside the streaming ones")
    return tour.gateway


def _subscribed_customer(tour: Tour, ai: GatewayClient) -> str:
    run = tour.request_id("ai", "erin")
    created = ai.post(
        "/v1/customers",
        {"external_id": run, "email": f"{run}@example.com", "country_code": "US"},
        request_id=tour.request_id("ai", "customer"),
    )
    customer = str(created["customer"]["id"])
    body = {
        "request_id": tour.request_id("ai", "checkout"),
        "customer_id": customer,
        "storefront_id": "global",
        "plan_id": "pro_monthly",
        "channel": "web",
        "payment_method_token": "tok_success",
    }
    subscription = ai.call("POST", "/v1/checkout", json=body)["subscription"]
    tour.console.print(f"  erin subscribes to Pro: {render.enum(subscription['state'], 'SUBSCRIPTION_STATE_')}")
    return customer


def _meter_and_prices(tour: Tour, ai: GatewayClient) -> None:
    meter = {
        "key": METER,
        "display_name": "AI tokens",
        "event_type": METER,
        "value_path": "$.tokens",
        "aggregation": "AGGREGATION_SUM",
        "dimensions": ["model"],
        "quota_features": [{"feature_key": key, "dimensions": {"model": model}} for model, key in QUOTAS.items()],
    }
    try:
        ai.post("/v1/meters", {"meter": meter}, request_id=tour.request_id("ai", "meter"))
    except ApiError as error:
        if error.reason != "METER_EXISTS":
            raise
        # NOTE: an earlier tour on this tenant made the meter; its definition is the same.
        tour.console.print(f"  the meter {METER} is already there from an earlier tour")
    for model, tiers in PRICES.items():
        price = {
            "storefront_id": "global",
            "plan_id": "pro_monthly",
            "meter_key": METER,
            "dimensions": {"model": model},
            "currency_code": "USD",
            "model": "GRADUATED",
            "tiers": tiers,
        }
        ai.post("/v1/usage-prices", {"price": price}, request_id=tour.request_id("ai", "price", model))
    tour.console.print("  tokens metered by model; large: 0.5 cent/token up to 1,000 then 0.3; small: 0.05")
    tour.console.print("  each model's tokens count toward the plan's quota of it (tokens_gpt_large, tokens_gpt_small)")


def _limits(tour: Tour, ai: GatewayClient, customer: str) -> None:
    """An 80% alert on 10.00 USD spent, and access cut when the wallet is empty.

    NOTE: a limit's id is unique in the tenant, so each run names its own (a tour may run again on the tenant).
    """
    limits = (
        {
            "limit_id": tour.request_id("spend-alert"),
            "measure": "SPEND",
            "value": "1000",
            "policy": "ALLOW_OVERAGE",
            "alert_percents": [80],
        },
        {"limit_id": tour.request_id("prepaid"), "measure": "CREDIT", "value": "0", "policy": "SUSPEND"},
    )
    for limit in limits:
        ai.post(
            f"/v1/customers/{customer}/usage-limits",
            {"limit": {**limit, "feature_key": FEATURE, "currency_code": "USD"}},
            request_id=tour.request_id("ai", "limit", str(limit["limit_id"])),
        )


def _stream(tour: Tour, ai: GatewayClient, customer: str, number: int, batch: dict[str, int]) -> None:
    before = _balance(ai, customer)
    events = [
        {
            "specversion": "1.0",
            "id": tour.request_id("ai", "event", str(number), model),
            "source": "assistant",
            "type": METER,
            "subject": customer,
            "data": {"tokens": tokens, "model": model},
        }
        for model, tokens in batch.items()
    ]
    # NOTE: no `time`: the events are timed on arrival by the tenant's clock (the tour moved it months ahead).
    ai.call("POST", "/v1/events", json={"events": events})
    tour.wait_for(f"batch {number} to be rated", lambda: _balance(ai, customer) != before)
    sent = ", ".join(f"{tokens} {model}" for model, tokens in batch.items())
    tour.console.print(f"  batch {number}: {sent} tokens → wallet {_balance(ai, customer)}")


def _balance(ai: GatewayClient, customer: str) -> str:
    return render.money(ai.get(f"/v1/customers/{customer}/wallets/USD")["wallet"]["balance"])


def _allowed(ai: GatewayClient, customer: str) -> tuple[bool, str]:
    """Whether the customer may use the feature now, and the denial's reason when not."""
    decision = ai.get(f"/v1/customers/{customer}/access/{FEATURE}")["decision"]
    return bool(decision.get("allowed")), render.enum(decision.get("denial_reason", ""), "ACCESS_DENIAL_REASON_")


def _show_quotas(tour: Tour, ai: GatewayClient, customer: str) -> None:
    """The plan's token quotas as the tokens streamed filled them."""
    sent = {QUOTAS[model]: sum(batch[model] for batch in BATCHES) for model in QUOTAS}

    def used(feature: str) -> dict[str, Any]:
        return dict(ai.get(f"/v1/customers/{customer}/access/{feature}")["decision"])

    def counted() -> bool:
        return all(used(feature).get("quota_used") == str(tokens) for feature, tokens in sent.items())

    tour.wait_for("the plan's quotas to count the tokens", counted)
    for feature in sent:
        decision = used(feature)
        tour.console.print(
            f"  quota: erin → {feature}: {int(decision['quota_used']):,} of {int(decision['quota_limit']):,} used"
        )


def _show_access(tour: Tour, ai: GatewayClient, customer: str) -> None:
    allowed, reason = _allowed(ai, customer)
    tour.console.print(
        f"  access: erin → {FEATURE}: {'[green]allowed[/]' if allowed else f'[red]denied[/] ({reason})'}"
    )


def _charges_table(preview: dict[str, Any]) -> Table:
    table = Table("model", "tokens", "amount", title="Upcoming usage charges of the period")
    for line in preview["lines"]:
        table.add_row(line["dimensions"].get("model", ""), line["quantity"], render.money(line["amount"]))
    table.add_row("paid from the wallet", "", render.money(preview["credited"]))
    table.add_row("due with the renewal", "", render.money(preview["due"]))
    return table
