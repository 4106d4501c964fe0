"""The demo's growth section: an A/B experiment on the paywall (sticky assignment, a few customers converting, the
results with their significance), and a lifecycle campaign issuing a retention offer when a renewal fails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

from azotte_gateway.cli import render
from azotte_gateway.cli.experiments import results_table

if TYPE_CHECKING:
    from azotte_gateway.cli.demo import Tour

EXPERIMENT = {
    "display_name": "Paywall: Basic at 6.99 or 5.99",
    "currency_code": "USD",
    "variants": [
        {
            "id": "control",
            "weight": 1,
            "kind": "VARIANT_KIND_PRICE_POINT",
            "price": {"currency_code": "USD", "amount_minor": "699"},
        },
        {
            "id": "lower",
            "weight": 1,
            "kind": "VARIANT_KIND_PRICE_POINT",
            "price": {"currency_code": "USD", "amount_minor": "599"},
        },
    ],
}
VISITORS, BUYERS = 8, 3
WIN_BACK_CAMPAIGN = "Renewal failed: half price"
WIN_BACK = {
    "display_name": "Stay with us: half price",
    "discount": {"kind": "DISCOUNT_KIND_PERCENT_OFF", "percent_basis_points": 5000},
}


def campaigns_section(tour: Tour, title: str) -> None:
    with tour.step(title):
        _experiment(tour)
        _retention_offer(tour)


def _experiment(tour: Tour) -> None:
    """Eight visitors see the paywall, each twice (the same variant both times); three of them subscribe."""
    gateway = tour.gateway
    created = gateway.post("/v1/experiments", {"experiment": EXPERIMENT}, request_id=tour.request_id("experiment"))
    experiment_id = created["experiment"]["id"]
    tour.console.print(f"  experiment {experiment_id}: {EXPERIMENT['display_name']}, visitors split 1:1")
    assigned: dict[str, str] = {}
    sticky = True
    for number in range(1, VISITORS + 1):
        customer = tour.customer(f"visitor{number}", "US")
        seen = [_assign(tour, experiment_id, customer, visit) for visit in ("first", "second")]
        sticky = sticky and seen[0] == seen[1]
        assigned[customer] = seen[0]
    tour.console.print(f"  every visitor saw the same variant on both visits: {sticky}")
    if not sticky:
        tour.failed.append(f"{experiment_id}: an assignment changed between visits")
    for customer in list(assigned)[:BUYERS]:
        tour.checkout(customer, "us", "basic_monthly")
    tour.console.print(f"  {BUYERS} visitors subscribed: " + ", ".join(list(assigned.values())[:BUYERS]))

    def results() -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = gateway.get(f"/v1/experiments/{experiment_id}/results").get("results", [])
        return answer

    tour.wait_for(
        f"{experiment_id}'s conversions to be counted",
        lambda: sum(int(r.get("converted", 0)) for r in results()) == BUYERS,
    )
    tour.console.print(results_table(experiment_id, results()))


def _assign(tour: Tour, experiment_id: str, customer: str, visit: str) -> str:
    answer = tour.gateway.post(
        f"/v1/experiments/{experiment_id}:assign",
        {"customer_id": customer},
        request_id=tour.request_id("assign", customer, visit),
    )
    return str(answer["variant"]["id"])


def _retention_offer(tour: Tour) -> None:
    """A campaign offers half price to a US subscriber whose renewal is declined: the offer is a personal code."""
    gateway = tour.gateway
    campaign_id = _win_back_campaign(tour)
    customer = tour.customer("olga", "US")
    subscription = tour.checkout(customer, "us", "basic_monthly")["subscription"]["id"]
    tour.card(customer, "tok_insufficient_funds")
    tour.console.print("  olga subscribes to Basic; her card on file then declines")
    tour.advance(31)
    tour.wait_for("olga's failed renewal", lambda: tour.state(subscription) == "past_due")

    def offers() -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = gateway.get("/v1/campaign-offers", filter=f'customer_id = "{customer}"').get(
            "offers", []
        )
        return listed

    if not tour.wait_for(f"{campaign_id}'s retention offer (campaign.offer_issued)", lambda: bool(offers())):
        return
    table = Table("customer", "campaign", "trigger", "plan", "code", "valid until", title="campaign.offer_issued")
    for offer in offers():
        trigger = render.enum(offer["trigger"], "CAMPAIGN_TRIGGER_")
        expires = render.day(offer.get("expire_time"))
        table.add_row("olga", offer["campaign_id"], trigger, offer["plan_id"], offer["code"], expires)
    tour.console.print(table)
    code = offers()[0]["code"]
    body = {"storefront_id": "us", "plan_id": "basic_monthly", "channel": "web", "customer_id": customer}
    validation = gateway.call("POST", f"/v1/promotion-codes/{code}:validate", json=body)["validation"]
    tour.console.print(
        f"  olga's code {code}: eligible {validation['eligible']}, takes {render.money(validation.get('discount'))} "
        "off her next Basic month (no other customer can use it)"
    )


def _win_back_campaign(tour: Tour) -> str:
    """The active campaign named WIN_BACK_CAMPAIGN, made (with its promotion) when there is none."""
    gateway = tour.gateway
    listed = gateway.get("/v1/campaigns").get("campaigns", [])
    active = [c for c in listed if c["display_name"] == WIN_BACK_CAMPAIGN and c["state"] == "CAMPAIGN_STATE_ACTIVE"]
    if active:
        tour.console.print(f"  campaign {active[0]['id']}: {WIN_BACK_CAMPAIGN} (already running)")
        return str(active[0]["id"])
    promotion = gateway.post("/v1/promotions", {"promotion": WIN_BACK}, request_id=tour.request_id("win-back"))
    promotion_id = promotion["promotion"]["id"]
    gateway.post(f"/v1/promotions/{promotion_id}:activate", request_id=tour.request_id("win-back", "activate"))
    campaign = {
        "display_name": WIN_BACK_CAMPAIGN,
        "trigger": "CAMPAIGN_TRIGGER_RENEWAL_FAILED",
        "conditions": {"storefront_ids": ["us"]},
        "promotion_id": promotion_id,
        "offer_valid_days": 7,
        "quiet_period_days": 30,
    }
    created = gateway.post("/v1/campaigns", {"campaign": campaign}, request_id=tour.request_id("campaign"))
    tour.console.print(f"  campaign {created['campaign']['id']}: {WIN_BACK_CAMPAIGN} (offer valid 7 days)")
    return str(created["campaign"]["id"])
