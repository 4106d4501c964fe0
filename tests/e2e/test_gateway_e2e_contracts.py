"""Enterprise contracts through the gateway under time travel: three periods invoiced with the negotiated prices, a
true-up to the committed minimum and tax, numbers checked by hand; an overdue invoice suspends access through grace
and hold and paying it restores access; roles, tenants and bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from azotte_platform.periods import add_months
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually

FEATURE = "api_access"
CATALOG = b"""
version: 1
default_locale: en
storefronts:
  - id: eu
    name: Europe, business customers
    country: DE
    currency: EUR
    locales: [en-DE]
    channels: [direct]
    tax: {mode: exclusive, rate: "0.19"}
features:
  - {key: api_access, name: API access, kind: boolean}
plans:
  - id: enterprise_monthly
    name: Enterprise
    family: ai
    rank: 10
    interval: {unit: month, count: 1}
    status: active
    features:
      - key: api_access
prices:
  - {plan: enterprise_monthly, storefront: eu, amount_minor: 49900}
"""
CONTACT = {"name": "Seehotel Betriebs GmbH", "email": "ap@seehotel.example", "tax_id": "DE123456789"}


def rid() -> str:
    return uuid.uuid4().hex


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def parsed(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


async def b2b_tenant(suite: RunningSuite, catalog: bytes = CATALOG) -> TenantApi:
    """A sandbox tenant with `catalog`: by default it sells the enterprise plan directly in storefront `eu` (19 % VAT
    added on top)."""
    tenant = await suite.new_tenant(with_catalog=False)
    applied = await tenant.apply_catalog(catalog)
    assert applied.status_code == 200, applied.text
    return tenant


def terms(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "plan_id": "enterprise_monthly",
        "recurring_price": {"currency_code": "EUR", "amount_minor": 100_000},
        "meter_prices": [],
        "committed_minimum": {"currency_code": "EUR", "amount_minor": 150_000},
        "end_time": at(datetime.now(UTC) + timedelta(days=400)),
        "payment_terms_days": 30,
        "billing_contact": CONTACT,
    }
    return {**base, **changes}


async def sign(tenant: TenantApi, customer: str, key: str | None = None, **changes: Any) -> dict[str, Any]:
    body = {"request_id": rid(), "customer_id": customer, "storefront_id": "eu", "terms": terms(**changes)}
    return dict((await tenant.ok("POST", "/v1/contracts", json=body, key=key))["contract"])


async def advance_to(tenant: TenantApi, moment: datetime) -> None:
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_to": at(moment)})


async def invoices_of(tenant: TenantApi, subscription_id: str, count: int) -> list[dict[str, Any]]:
    """The subscription's invoices, oldest first, once there are `count`."""

    async def listed() -> list[dict[str, Any]]:
        found = (await tenant.ok("GET", "/v1/invoices", params={"subscription_id": subscription_id}))["invoices"]
        return list(reversed(found)) if len(found) == count else []

    return await eventually(listed, within=30)


async def allowed(tenant: TenantApi, customer: str) -> bool:
    decision = (await tenant.ok("GET", f"/v1/customers/{customer}/access/{FEATURE}"))["decision"]
    return bool(decision.get("allowed"))


async def state_of(tenant: TenantApi, contract_id: str) -> str:
    return str((await tenant.ok("GET", f"/v1/contracts/{contract_id}"))["contract"]["state"])


async def pay(tenant: TenantApi, invoice: dict[str, Any], key: str) -> None:
    body = {"request_id": rid(), "amount": invoice["total"], "bank_reference": f"TX-{invoice['number']}"}
    await tenant.ok("POST", f"/v1/invoices/{invoice['id']}/payments", json=body, key=key)


def minor(money: dict[str, Any]) -> int:
    return int(money.get("amount_minor", 0))


def lines(invoice: dict[str, Any]) -> list[tuple[str, Decimal, int]]:
    return [
        (
            line["kind"].removeprefix("INVOICE_LINE_KIND_"),
            Decimal(line.get("quantity") or "1"),
            minor(line["amount"]),
        )
        for line in invoice["lines"]
    ]


async def test_three_periods_are_invoiced_with_negotiated_prices_true_up_and_tax(suite: RunningSuite) -> None:
    tenant = await b2b_tenant(suite)
    operator = await tenant.new_key("operator")
    customer = await tenant.customer("DE")
    meter = f"ai.tokens.{uuid.uuid4().hex[:6]}"
    definition = {"key": meter, "display_name": "tokens", "event_type": meter, "value_path": "$.tokens"}
    await tenant.ok(
        "POST", "/v1/meters", json={"request_id": rid(), "meter": {**definition, "aggregation": "AGGREGATION_SUM"}}
    )
    # The storefront's usage price (1 cent a token) is what a customer without a contract pays.
    storefront_price = {"storefront_id": "eu", "plan_id": "enterprise_monthly", "meter_key": meter}
    storefront_price |= {"currency_code": "EUR", "model": "PER_UNIT", "unit_price": "1"}
    await tenant.ok("POST", "/v1/usage-prices", json={"request_id": rid(), "price": storefront_price})
    # Negotiated: 1,000.00 a month, 10,000 tokens included, then 2.5 cents a token, at least 1,500.00 a period.
    negotiated = [{"meter_key": meter, "unit_price_minor": "2.5", "included_quantity": "10000"}]
    contract = await sign(tenant, customer, meter_prices=negotiated)
    assert contract["state"] == "SUBSCRIPTION_STATE_ACTIVE" and contract["version"] == 1
    start = parsed(contract["start_time"])
    subscription = contract["subscription_id"]
    assert await eventually(lambda: allowed(tenant, customer), within=30)

    async def preview() -> dict[str, Any]:
        return dict(await tenant.ok("GET", f"/v1/customers/{customer}/upcoming-usage-charges"))

    async def use(tokens: int, period_start: datetime, when: datetime) -> None:
        """Report `tokens` used at `when`, once metering follows the period starting at `period_start`."""

        async def followed() -> bool:
            start = (await preview()).get("period_start_time")
            return isinstance(start, str) and parsed(start) == period_start

        await eventually(followed, within=30)
        event: dict[str, Any] = {"specversion": "1.0", "id": rid(), "source": "assistant", "type": meter}
        event |= {"subject": customer, "time": at(when), "data": {"tokens": tokens}}
        assert (await tenant.ok("POST", "/v1/events", json={"events": [event]}))["accepted_count"] == 1

        async def rated() -> bool:
            return minor((await preview()).get("subtotal", {})) == tokens  # at the storefront's 1 cent a token

        await eventually(rated, within=30)

    # (tokens used in the period, expected lines, net, tax): computed by hand.
    periods = [
        # 20,000 tokens: 10,000 billable x 2.5 = 250.00; 1,000.00 + 250.00 falls 250.00 short of the minimum.
        (20_000, [("RECURRING", 1, 100_000), ("USAGE", 10_000, 25_000), ("TRUE_UP", 1, 25_000)], 150_000, 28_500),
        # 45,001 tokens: 35,001 billable x 2.5 = 875.025 -> 875.03 (half up); above the minimum; 19 % of
        # 1,875.03 = 356.2557 -> 356.26.
        (45_001, [("RECURRING", 1, 100_000), ("USAGE", 35_001, 87_503)], 187_503, 35_626),
        # 30,000 tokens: 20,000 billable x 2.5 = 500.00: exactly the minimum, no true-up.
        (30_000, [("RECURRING", 1, 100_000), ("USAGE", 20_000, 50_000)], 150_000, 28_500),
    ]
    issued: list[dict[str, Any]] = []
    for index, (tokens, expected, net, tax) in enumerate(periods):
        period_start = add_months(start, index)
        # NOTE: from the second period on, the tenant's clock is ahead of the wall clock: usage is stamped in its time.
        await use(tokens, period_start, period_start + timedelta(minutes=1) if index else datetime.now(UTC))
        boundary = add_months(start, index + 1) + timedelta(hours=1)
        await advance_to(tenant, boundary)
        invoice = (await invoices_of(tenant, subscription, index + 1))[-1]
        assert lines(invoice) == [(kind, Decimal(quantity), amount) for kind, quantity, amount in expected]
        assert invoice["number"] == f"INV-EU-{index + 1:06d}"
        assert (minor(invoice["net"]), minor(invoice["tax"]), minor(invoice["total"])) == (net, tax, net + tax)
        assert invoice["tax_rate"] == "0.19" and not invoice["reverse_charge"]
        issue_day = parsed(invoice["issue_time"]).date()
        assert issue_day == boundary.date()
        assert date.fromisoformat(invoice["due_date"]) == issue_day + timedelta(days=30)
        assert invoice["bill_to"]["name"] == CONTACT["name"] and invoice["status"] == "INVOICE_STATUS_OPEN"
        await pay(tenant, invoice, operator)
        issued.append(invoice)

    paid = await invoices_of(tenant, subscription, 3)
    assert [invoice["status"] for invoice in paid] == ["INVOICE_STATUS_PAID"] * 3
    assert [invoice["period_key"] for invoice in paid] == ["1", "2", "3"]
    assert await state_of(tenant, contract["id"]) == "SUBSCRIPTION_STATE_ACTIVE"
    assert await allowed(tenant, customer)
    # Revenue analytics counts the contract's invoices with every other channel's revenue, as the ledger booked them.
    booked = (sum(period[2] for period in periods), sum(period[3] for period in periods))
    window = {"start_time": at(start - timedelta(days=1)), "end_time": at(add_months(start, 4)), "channel": "DIRECT"}

    async def counted() -> tuple[int, int]:
        total = (await tenant.ok("GET", "/v1/analytics/revenue", params=window))["total"]
        return int(total.get("net_minor", 0)), int(total.get("tax_minor", 0))

    assert await eventually(lambda: _equal(counted, booked), within=30)


async def _equal(probe: Any, expected: Any) -> bool:
    got = await probe()
    assert got == expected
    return True


@pytest.mark.parametrize("settled_by", ["invoice_paid", "invoice_voided"])
async def test_an_overdue_invoice_suspends_access_after_grace_and_paying_or_voiding_it_restores_it(
    suite: RunningSuite, settled_by: str
) -> None:
    tenant = await b2b_tenant(suite)
    operator = await tenant.new_key("operator")
    customer = await tenant.customer("DE")
    contract = await sign(tenant, customer, payment_terms_days=7)
    start = parsed(contract["start_time"])
    assert await eventually(lambda: allowed(tenant, customer), within=30)

    issued_at = add_months(start, 1) + timedelta(hours=1)
    await advance_to(tenant, issued_at)
    (invoice,) = await invoices_of(tenant, contract["subscription_id"], 1)
    assert minor(invoice["total"]) == 178_500  # 1,500.00 (with its true-up) + 19 %

    # Due 7 days after issue; the day after, it is overdue: past due, access kept during the 3 days of grace.
    await advance_to(tenant, issued_at + timedelta(days=8, hours=1))

    async def past_due() -> bool:
        return await state_of(tenant, contract["id"]) == "SUBSCRIPTION_STATE_PAST_DUE"

    await eventually(past_due, within=30)
    overdue = await tenant.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert overdue["invoice"]["status"] == "INVOICE_STATUS_OVERDUE"
    assert await allowed(tenant, customer)

    # Grace over: on hold, access cut.
    await advance_to(tenant, issued_at + timedelta(days=12, hours=1))

    async def suspended() -> bool:
        return await state_of(tenant, contract["id"]) == "SUBSCRIPTION_STATE_ON_HOLD" and not await allowed(
            tenant, customer
        )

    await eventually(suspended, within=30)

    # The operator records the bank transfer (or an admin voids the invoice): the subscription active, access back.
    if settled_by == "invoice_paid":
        await pay(tenant, overdue["invoice"], operator)
    else:
        await tenant.ok(
            "POST", f"/v1/invoices/{invoice['id']}:void", json={"request_id": rid(), "reason": "billed in error"}
        )

    async def restored() -> bool:
        return await state_of(tenant, contract["id"]) == "SUBSCRIPTION_STATE_ACTIVE" and await allowed(tenant, customer)

    await eventually(restored, within=30)
    history = await tenant.ok("GET", f"/v1/subscriptions/{contract['subscription_id']}/history")
    causes = [(entry["event_type"], entry["cause"]) for entry in history["entries"]]
    assert causes[-3:] == [
        ("subscription.renewal_failed", "invoice_overdue"),
        ("subscription.on_hold", "grace_ended"),
        ("subscription.recovered", settled_by),
    ]


async def test_roles_tenants_versions_and_bad_input(suite: RunningSuite) -> None:
    tenant = await b2b_tenant(suite)
    manager, operator, viewer = [await tenant.new_key(role) for role in ("manager", "operator", "viewer")]
    customer = await tenant.customer("DE")

    body = {"request_id": rid(), "customer_id": customer, "storefront_id": "eu", "terms": terms()}
    refused = await tenant.call("POST", "/v1/contracts", json=body, key=operator)
    assert refused.status_code == 403, refused.text
    contract = await sign(tenant, customer, key=manager)
    assert contract["terms"]["recurring_price"] == {"currency_code": "EUR", "amount_minor": "100000"}

    listed = await tenant.ok("GET", "/v1/contracts", params={"customer_id": customer}, key=viewer)
    assert [c["id"] for c in listed["contracts"]] == [contract["id"]]
    amend = {"request_id": rid(), "terms": terms(committed_minimum={"currency_code": "EUR", "amount_minor": 200_000})}
    path = f"/v1/contracts/{contract['id']}"
    assert (await tenant.call("POST", f"{path}:amend", json=amend, key=viewer)).status_code == 403
    amended = await tenant.ok("POST", f"{path}:amend", json=amend, key=manager)
    assert amended["contract"]["version"] == 2
    versions = (await tenant.ok("GET", path, key=viewer))["versions"]
    assert [(v["version"], v["terms"]["committed_minimum"]["amount_minor"]) for v in versions] == [
        (2, "200000"),
        (1, "150000"),
    ]
    assert (await tenant.call("POST", f"{path}:end", json={"request_id": rid()}, key=viewer)).status_code == 403
    ended = await tenant.ok("POST", f"{path}:end", json={"request_id": rid()}, key=manager)
    first_period_end = add_months(parsed(contract["start_time"]), 1)
    assert parsed(ended["contract"]["final_end_time"]) == first_period_end

    other = await b2b_tenant(suite)
    assert (await other.call("GET", path)).status_code == 404
    assert (await other.call("POST", f"{path}:end", json={"request_id": rid()})).status_code == 404
    assert (await other.call("GET", "/v1/contracts", params={"customer_id": customer})).status_code == 404
    foreign = {"request_id": rid(), "customer_id": customer, "storefront_id": "eu", "terms": terms()}
    assert (await other.call("POST", "/v1/contracts", json=foreign)).status_code == 404

    async def rejected(changes: dict[str, Any], status: int = 400) -> str:
        body = {"request_id": rid(), "customer_id": customer, "storefront_id": "eu", "terms": terms(**changes)}
        answer = await tenant.call("POST", "/v1/contracts", json=body, key=manager)
        assert answer.status_code == status, answer.text
        details = answer.json()["error"]["details"]
        return "".join(v["field"] for d in details for v in d.get("field_violations", []))

    assert await rejected({"committed_minimum": {"amount_minor": -1}}) == "terms.committed_minimum.amount_minor"
    past = at(datetime.now(UTC) - timedelta(days=1))
    assert await rejected({"end_time": past}) == "terms.end_time"
    assert await rejected({"payment_terms_days": 400}) == "terms.payment_terms_days"
    assert await rejected({"billing_contact": {"name": " "}}) == "terms.billing_contact.name"
    bad_price = [{"meter_key": "tokens", "unit_price_minor": "cheap"}]
    assert await rejected({"meter_prices": bad_price}) == "terms.meter_prices[0].unit_price_minor"
    dollars = {"currency_code": "USD", "amount_minor": 1}
    assert await rejected({"recurring_price": dollars}) == "terms.recurring_price.currency_code"
    assert await rejected({"plan_id": "no_such_plan"}, 404) == ""
    assert (await tenant.call("GET", "/v1/contracts/ctr_missing")).status_code == 404
    assert [c["id"] for c in (await tenant.ok("GET", "/v1/contracts"))["contracts"]] == [contract["id"]]


@pytest.mark.parametrize("role", ["viewer", "operator", "manager", "admin"])
async def test_every_role_reads_contracts(suite: RunningSuite, role: str) -> None:
    tenant = await b2b_tenant(suite)
    key = None if role == "admin" else await tenant.new_key(role)
    assert (await tenant.call("GET", "/v1/contracts", key=key)).status_code == 200
