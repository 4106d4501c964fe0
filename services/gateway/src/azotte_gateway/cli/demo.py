"""`azotte demo`: a readable scripted tour of the running suite through the public REST API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import Progress
from rich.table import Table

from azotte_gateway.cli import render
from azotte_gateway.cli.client import ApiError, GatewayClient
from azotte_gateway.cli.demo_ai import ai_section
from azotte_gateway.cli.demo_campaigns import campaigns_section
from azotte_gateway.cli.demo_channels import channels_section
from azotte_gateway.cli.demo_promotions import promotions_section

DAY = 86_400


class Tour:
    """Runs the demo's steps, printing each answer; a failed step is reported and the tour goes on."""

    def __init__(self, gateway: GatewayClient, console: Console):
        self.gateway = gateway
        self.console = console
        self.failed: list[str] = []
        self._run = uuid.uuid4().hex[:6]
        self._clock_moves = 0
        self._clock_ahead = timedelta()

    def request_id(self, *step: str) -> str:
        """The request id of one step of this run: sending the step again is a safe retry."""
        return "-".join(("demo", self._run, *step))

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.console.rule(f"[bold cyan]{title}")
        try:
            yield
        except ApiError as error:
            self.failed.append(title)
            self.console.print(f"[red]This step failed: {error}[/] [dim]{error.reason}[/]")

    def wait_for(self, what: str, probe: Callable[[], bool], timeout: float = 20.0) -> bool:
        """Poll the API until `probe` holds (due work runs in the background after a clock move); a probe that
        never holds is a failure of the tour."""
        deadline = time.monotonic() + timeout
        with Progress(console=self.console, transient=True) as progress:
            task = progress.add_task(what, total=timeout)
            while not probe():
                if time.monotonic() > deadline:
                    self.failed.append(f"waiting for {what}")
                    self.console.print(f"[red]Still waiting for {what} after {timeout:.0f} s[/]")
                    return False
                progress.update(task, completed=timeout - (deadline - time.monotonic()))
                time.sleep(0.2)
        return True

    # --- building blocks ------------------------------------------------------------------------

    def customer(self, name: str, country: str) -> str:
        created = self.gateway.post(
            "/v1/customers",
            {"external_id": f"{name}-{self._run}", "email": f"{name}-{self._run}@example.com", "country_code": country},
            request_id=self.request_id("customer", name),
        )
        return str(created["customer"]["id"])

    def checkout(self, customer_id: str, storefront: str, plan: str, token: str = "tok_success") -> dict[str, Any]:
        body = {
            "request_id": self.request_id("checkout", customer_id, plan),
            "customer_id": customer_id,
            "storefront_id": storefront,
            "plan_id": plan,
            "channel": "web",
            "payment_method_token": token,
        }
        answer: dict[str, Any] = self.gateway.call("POST", "/v1/checkout", json=body)
        return answer

    def now(self) -> datetime:
        """The tenant's sandbox time, as of this run's last clock move (the real time before any)."""
        return datetime.now(UTC) + self._clock_ahead

    def access(self, who: str, customer_id: str, feature: str, consistency_token: str = "") -> bool:
        """The access decision, printed; with `consistency_token`, one that sees the change that answered it."""
        query = {"consistency_token": consistency_token} if consistency_token else {}
        decision = self.gateway.get(f"/v1/customers/{customer_id}/access/{feature}", **query)["decision"]
        allowed = bool(decision.get("allowed"))
        verdict = (
            "[green]allowed[/]"
            if allowed
            else (f"[red]denied[/] ({render.enum(decision.get('denial_reason', ''), 'ACCESS_DENIAL_REASON_')})")
        )
        self.console.print(f"  access: {who} → {feature}: {verdict}")
        return allowed

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.gateway.get(f"/v1/subscriptions/{subscription_id}")["subscription"]
        return answer

    def state(self, subscription_id: str) -> str:
        return render.enum(self.subscription(subscription_id)["state"], "SUBSCRIPTION_STATE_")

    def card(self, customer_id: str, token: str) -> None:
        self.gateway.post(
            f"/v1/customers/{customer_id}/payment-methods",
            {"payment_method_token": token},
            request_id=self.request_id("card", customer_id, token),
        )

    def charges(self, customer_id: str) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = self.gateway.get(f"/v1/customers/{customer_id}/charges")["charges"]
        return answer

    def advance(self, days: int) -> None:
        self._clock_moves += 1
        moved = self.gateway.post(
            "/v1/sandbox/clock:advance",
            {"advance_by_seconds": days * DAY},
            request_id=self.request_id("clock", str(self._clock_moves)),
        )
        self._clock_ahead = datetime.fromisoformat(moved["now"]) - datetime.now(UTC)
        self.console.print(f"  the sandbox clock moved {days} days: it is now [bold]{render.day(moved['now'])}[/]")


def run_demo(
    gateway: GatewayClient, catalog_file: Path, console: Console, sandbox_urls: Mapping[str, str]
) -> list[str]:
    """The tour; returns the titles of the steps that failed (empty when everything ran clean). `sandbox_urls`: the
    stack's helper servers (channel emulators, the carrier) by environment name, as `client.sandbox_urls` reads them."""
    tour = Tour(gateway, console)
    console.print(Panel.fit("Azotte demo: one catalog, one lifecycle, entitlements as the truth", style="bold"))
    ids: dict[str, str] = {}

    with tour.step(f"1. Apply the catalog {catalog_file}"):
        answer = gateway.apply_catalog(catalog_file, dry_run=False, request_id=tour.request_id("catalog"))
        changes = [c for c in answer.get("changes", []) if c["change_type"] != "CHANGE_TYPE_UNCHANGED"]
        console.print(render.changes_table(changes) if changes else "  the catalog is already up to date")

    with tour.step("2. Web checkouts in the US (tax added on top) and in Germany (19 % VAT included)"):
        ids["alice"] = tour.customer("alice", "US")
        ids["bruno"] = tour.customer("bruno", "DE")
        alice = tour.checkout(ids["alice"], "us", "basic_monthly")
        bruno = tour.checkout(ids["bruno"], "de", "family_monthly")
        ids["alice_sub"], ids["bruno_sub"] = alice["subscription"]["id"], bruno["subscription"]["id"]
        table = Table("customer", "storefront", "plan", "net", "tax", "gross (paid)", "granted", title="Checkouts")
        for who, sf, made in (("alice", "us", alice), ("bruno", "de", bruno)):
            charge = made.get("charge") or {}
            granted = ", ".join(e["feature_key"] for e in made.get("granted_entitlements", [])) or "-"
            table.add_row(
                who,
                sf,
                made["subscription"]["plan_id"],
                render.money(charge.get("net")),
                render.money(charge.get("tax")),
                render.money(charge.get("gross")),
                granted,
            )
        console.print(table)
        console.print("  US prices exclude tax (it is added); German prices include VAT (it is carved out).")
        console.print(languages_table(gateway, "de", "family_monthly", ("de-DE", "en-GB")))

    with tour.step("3. Access checks: entitlements are the truth"):
        tour.access("alice (basic)", ids["alice"], "hd_streaming")
        tour.access("bruno (family)", ids["bruno"], "hd_streaming")
        tour.access("bruno (family)", ids["bruno"], "uhd_streaming")

    with tour.step("4. A trial starts without a charge"):
        ids["carol"] = tour.customer("carol", "US")
        carol = tour.checkout(ids["carol"], "us", "standard_monthly")
        console.print(
            f"  carol: {render.enum(carol['subscription']['state'], 'SUBSCRIPTION_STATE_')} until "
            f"{render.day(carol['subscription'].get('trial_end_time'))}, charged: "
            f"{render.money((carol.get('charge') or {}).get('gross'))}"
        )
        tour.access("carol (trial)", ids["carol"], "hd_streaming")

    with tour.step("5. An upgrade with proration: alice moves from Basic to Family"):
        preview = gateway.post(
            f"/v1/subscriptions/{ids['alice_sub']}:preview-change", {"new_plan_id": "family_monthly"}
        )["quote"]
        console.print(
            f"  quote: due now {render.money(preview.get('amount_due'))}, "
            f"credit for the unused Basic days {render.money(preview.get('proration_credit'))}"
        )
        changed = gateway.post(
            f"/v1/subscriptions/{ids['alice_sub']}:change-plan",
            {"new_plan_id": "family_monthly"},
            request_id=tour.request_id("upgrade", ids["alice_sub"]),
        )
        latest = tour.charges(ids["alice"])[0]
        console.print(
            f"  alice is now on {changed['subscription']['plan_id']}; charged {render.money(latest.get('gross'))}"
        )
        tour.wait_for("entitlements to follow the plan", lambda: tour.access("alice", ids["alice"], "hd_streaming"))

    with tour.step("6. A month later: renewals, and a card that starts failing"):
        ids["dave"] = tour.customer("dave", "US")
        ids["dave_sub"] = tour.checkout(ids["dave"], "us", "family_monthly")["subscription"]["id"]
        tour.card(ids["dave"], "tok_insufficient_funds")
        console.print("  dave's card on file now declines (insufficient funds)")
        before = tour.subscription(ids["bruno_sub"]).get("current_period_end_time")
        tour.advance(31)
        tour.wait_for(
            "bruno's renewal", lambda: tour.subscription(ids["bruno_sub"]).get("current_period_end_time") != before
        )
        tour.wait_for("dave's failed renewal", lambda: tour.state(ids["dave_sub"]) == "past_due")
        console.print(
            render.subscriptions_table([tour.subscription(ids["bruno_sub"]), tour.subscription(ids["dave_sub"])])
        )
        console.print(render.charges_table(tour.charges(ids["bruno"])))
        tour.access("bruno (renewed)", ids["bruno"], "hd_streaming")
        tour.access("dave (past due, in grace)", ids["dave"], "hd_streaming")

    with tour.step("7. Recovery: a new card, and the next retry succeeds"):
        tour.card(ids["dave"], "tok_success")
        tour.advance(1)
        tour.wait_for("dave's retry", lambda: tour.state(ids["dave_sub"]) == "active")
        console.print(render.subscriptions_table([tour.subscription(ids["dave_sub"])]))
        console.print(render.charges_table(tour.charges(ids["dave"])))
        tour.access("dave (recovered)", ids["dave"], "hd_streaming")

    with tour.step("8. Pause and resume: no access, no billing while paused"):
        paused = gateway.post(f"/v1/subscriptions/{ids['bruno_sub']}:pause", request_id=tour.request_id("pause"))
        console.print(f"  bruno: {render.enum(paused['subscription']['state'], 'SUBSCRIPTION_STATE_')}")
        tour.wait_for("access to be suspended", lambda: not tour.access("bruno", ids["bruno"], "hd_streaming"))
        resumed = gateway.post(f"/v1/subscriptions/{ids['bruno_sub']}:resume", request_id=tour.request_id("resume"))
        console.print(f"  bruno: {render.enum(resumed['subscription']['state'], 'SUBSCRIPTION_STATE_')}")
        tour.wait_for("access to come back", lambda: tour.access("bruno", ids["bruno"], "hd_streaming"))

    with tour.step("9. Cancel at period end: access continues until the period ends, then expires"):
        cancelled = gateway.post(
            f"/v1/subscriptions/{ids['alice_sub']}:cancel",
            {"timing": "at_period_end"},
            request_id=tour.request_id("cancel"),
        )
        period_end = render.day(cancelled["subscription"].get("current_period_end_time"))
        console.print(f"  alice: auto-renew off, access until {period_end}")
        tour.access("alice", ids["alice"], "hd_streaming")
        tour.advance(32)
        tour.wait_for(
            "alice's subscription to expire",
            lambda: tour.subscription(ids["alice_sub"])["state"] == "SUBSCRIPTION_STATE_EXPIRED",
        )
        console.print(render.subscriptions_table([tour.subscription(ids["alice_sub"])]))
        tour.wait_for("access to end", lambda: not tour.access("alice", ids["alice"], "hd_streaming"))

    family_section(tour, "10. Families: an owner shares the plan's seats; a lapse takes every member's access")
    ai_section(tour, "11. AI usage: tokens on two models, a prepaid wallet burning down, an alert, a cut-off, a top-up")
    promotions_section(tour, "12. Promotions: a premiere code in two storefronts, and a referral rewarding both sides")
    channels_section(
        tour,
        "13. Channels: an App Store renewal, a Google Play hold and recovery, a phone bill, a partner activation",
        sandbox_urls,
    )
    campaigns_section(tour, "14. Growth: an A/B experiment's results, and a retention offer when a renewal fails")

    if tour.failed:
        console.print(f"[yellow]The tour finished; {len(tour.failed)} step(s) failed: {', '.join(tour.failed)}[/]")
    else:
        console.print("[bold green]The tour ran clean.[/]")
    return tour.failed


def languages_table(gateway: GatewayClient, storefront: str, plan: str, locales: tuple[str, ...]) -> Table:
    """One plan of a storefront as readers in each locale see it: its texts and its price (CLDR formats)."""
    table = Table("Accept-Language", "locale used", "name", "price", "disclosure", title=f"{plan} in {storefront}")
    for locale in locales:
        header = {"Accept-Language": locale}
        shown = gateway.call("GET", f"/v1/plans/{plan}", params={"storefront_id": storefront}, headers=header)
        text = shown["plan"]["localized"]
        prices = gateway.call(
            "GET", "/v1/prices", params={"plan_id": plan, "storefront_id": storefront}, headers=header
        )["prices"]
        price = prices[0]["display_amount"] if prices else "-"
        table.add_row(locale, text["locale"], text["display_name"], price, text.get("disclosure", ""))
    return table


def family_section(tour: Tour, title: str) -> None:
    """An owner on the family plan (3 seats) invites two members, a third invite is refused at the seat
    limit; the owner's renewal fails into hold and every member loses access; recovery restores it."""
    gateway, console = tour.gateway, tour.console
    ids: dict[str, str] = {}

    def expect(holds: bool, what: str) -> None:
        if not holds:
            tour.failed.append(f"{title}: {what}")
            console.print(f"[red]Expected: {what}[/]")

    def members_access(allowed: bool) -> bool:
        return all(tour.access(name, ids[name], "hd_streaming") is allowed for name in ("frank", "gina"))

    with tour.step(title):
        ids["erin"] = tour.customer("erin", "US")
        ids["erin_sub"] = tour.checkout(ids["erin"], "us", "family_monthly")["subscription"]["id"]
        family_path = f"/v1/customers/{ids['erin']}/family"
        for name in ("frank", "gina"):
            ids[name] = tour.customer(name, "US")
            invite = gateway.post(f"{family_path}/invites", request_id=tour.request_id("invite", name))["invite"]
            gateway.post(
                f"/v1/family-invites/{invite['code']}:accept",
                {"customer_id": ids[name]},
                request_id=tour.request_id("accept", name),
            )
            console.print(f"  erin invited {name} (code {invite['code']}); {name} accepted")
        try:
            gateway.post(f"{family_path}/invites", request_id=tour.request_id("invite", "third"))
            expect(False, "a third invite is refused at the seat limit")
        except ApiError as refusal:
            console.print(f"  a third invite is refused: [yellow]{refusal.status_code} {refusal.reason}[/]")
            expect(refusal.reason == "SEAT_LIMIT_REACHED", "the refusal names SEAT_LIMIT_REACHED")
        family = gateway.get(family_path)["family"]
        console.print(f"  seats: {family['seats_used']} of {family['seat_limit']} taken (the owner counts as one)")
        expect(members_access(True), "members share the plan's features")

        tour.card(ids["erin"], "tok_insufficient_funds")
        console.print("  erin's card on file now declines; a month passes, then the grace period")
        tour.advance(31)
        tour.wait_for("erin's failed renewal", lambda: tour.state(ids["erin_sub"]) == "past_due")
        tour.advance(4)
        tour.wait_for("erin's hold", lambda: tour.state(ids["erin_sub"]) == "on_hold")
        tour.wait_for("every member to lose access", lambda: members_access(False))

        tour.card(ids["erin"], "tok_success")
        tour.advance(2)
        tour.wait_for("erin's retry", lambda: tour.state(ids["erin_sub"]) == "active")
        tour.wait_for("members to get access back", lambda: members_access(True))
        console.print(render.subscriptions_table([tour.subscription(ids["erin_sub"])]))
