"""The demo's promotions section: a premiere code discounts checkouts in two storefronts (USD and EUR) and carries
its discount into the next renewal, and a referred customer's checkout rewards both sides with credit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

from azotte_gateway.cli import render

if TYPE_CHECKING:
    from azotte_gateway.cli.demo import Tour

PREMIERE = {
    "display_name": "Premiere: half price for two months",
    "discount": {
        "kind": "DISCOUNT_KIND_PERCENT_OFF",
        "percent_basis_points": 5000,
        "duration": "DISCOUNT_DURATION_REPEATING",
        "duration_periods": 2,
    },
    "limits": {"max_per_customer": 1},
}
REFERRALS = {
    "enabled": True,
    "conversion": "REFERRAL_CONVERSION_FIRST_PAID_PERIOD",
    "max_rewards_per_referrer": "10",
    "rules": [
        {
            "storefront_ids": ["us"],
            "referrer": {"kind": "REWARD_KIND_CREDIT", "amounts": [{"currency_code": "USD", "amount_minor": "500"}]},
            "referred": {"kind": "REWARD_KIND_CREDIT", "amounts": [{"currency_code": "USD", "amount_minor": "300"}]},
        }
    ],
}


def promotions_section(tour: Tour, title: str) -> None:
    with tour.step(title):
        code = _premiere_code(tour)
        buyers = {"hana": ("us", "basic_monthly", "US"), "ivo": ("de", "family_monthly", "DE")}
        table = Table("customer", "storefront", "list price", "discount", "paid", "renewals discounted", title=code)
        for name, (storefront, plan, country) in buyers.items():
            customer = tour.customer(name, country)
            answer = _checkout(tour, customer, storefront, plan, promotion_code=code)
            applied, charge = answer["promotion"], answer["charge"]
            renewals = answer["subscription"].get("renewal_discount", {}).get("renewals_left", 0)
            table.add_row(
                name,
                storefront,
                render.money(applied["list_price"]),
                render.money(applied["discount"]),
                render.money(charge["gross"]),
                str(renewals),
            )
        tour.console.print(table)
        _referral(tour)


def _premiere_code(tour: Tour) -> str:
    gateway = tour.gateway
    promotion = gateway.post("/v1/promotions", {"promotion": PREMIERE}, request_id=tour.request_id("premiere"))
    promotion_id = promotion["promotion"]["id"]
    code = f"PREMIERE{tour.request_id()[-6:].upper()}"
    gateway.post(f"/v1/promotions/{promotion_id}/codes", {"code": code}, request_id=tour.request_id("code"))
    gateway.post(f"/v1/promotions/{promotion_id}:activate", request_id=tour.request_id("activate"))
    tour.console.print(f"  {PREMIERE['display_name']}: the code [bold]{code}[/] works in every storefront")
    return code


def _checkout(tour: Tour, customer: str, storefront: str, plan: str, **code: str) -> dict[str, Any]:
    body = {
        "request_id": tour.request_id("promo-checkout", customer),
        "customer_id": customer,
        "storefront_id": storefront,
        "plan_id": plan,
        "channel": "web",
        "payment_method_token": "tok_success",
        **code,
    }
    answer: dict[str, Any] = tour.gateway.call("POST", "/v1/checkout", json=body)
    return answer


def _referral(tour: Tour) -> None:
    """Jun refers Kai: Kai's paid checkout converts the referral, and each gets credit once."""
    gateway = tour.gateway
    current = gateway.get("/v1/referral-program")["program"]
    program = {**REFERRALS, "version": current.get("version", "0")}
    gateway.call("PUT", "/v1/referral-program", json={"request_id": tour.request_id("program"), "program": program})
    jun, kai = tour.customer("jun", "US"), tour.customer("kai", "US")
    _checkout(tour, jun, "us", "basic_monthly")
    code = gateway.post(f"/v1/customers/{jun}/referral-code", request_id=tour.request_id("referral-code"))
    referral_code = code["referral_code"]["code"]
    _checkout(tour, kai, "us", "basic_monthly", referral_code=referral_code)
    tour.console.print(f"  jun shares the referral code [bold]{referral_code}[/]; kai subscribes with it")

    def rewarded() -> bool:
        listed = gateway.get("/v1/referrals", filter=f'referred_customer_id = "{kai}"')["referrals"]
        return bool(listed) and listed[0]["state"] == "REFERRAL_STATE_REWARDED"

    if tour.wait_for("the referral's rewards", rewarded):
        for name, customer in (("jun (referrer)", jun), ("kai (referred)", kai)):
            balances = gateway.get(f"/v1/customers/{customer}/credits")["balances"]
            credit = ", ".join(render.money(b["balance"]) for b in balances) or "-"
            tour.console.print(f"  {name}: credit {credit}")
