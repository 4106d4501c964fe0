"""What the fault tests drive and check: checkouts retried until answered, and the books of both services.

`checkouts` runs checkouts as a client would under a fault: the same request id again after a 5xx, a 409
`PAYMENT_PENDING` or a dropped connection, until it is answered 200. `Books` reads payments' and lifecycle's
databases and the sandbox PSPs directly, to check that nothing was lost or done twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from azotte_stack.suite import Suite
from tests.e2e.conftest import TenantApi
from tests.helpers import eventually

# A plan without a trial that grants features: every checkout charges, and entitles its buyer.
PLAN = "family_monthly"
# NOTE: what a client may meet while a dependency is down and retry with the same request id.
RETRYABLE_STATUSES = {409, 502, 503, 504}
COMPENSATED = "CHECKOUT_COMPENSATED"


@dataclass
class Progress:
    """Checkouts answered so far, and every non-200 answer (status or transport error) met on the way."""

    done: int = 0
    failures: Counter[str] = field(default_factory=Counter)


async def checkout_until_done(
    tenant: TenantApi, customer: str, progress: Progress, *, request_id: str | None = None, within: float = 90
) -> dict[str, Any]:
    """One checkout, retried with its request id until it answers 200."""
    request_id = request_id or uuid.uuid4().hex

    async def attempt() -> dict[str, Any] | None:
        nonlocal request_id
        try:
            answer = await tenant.checkout(customer, plan=PLAN, request_id=request_id)
        except httpx.TransportError as error:
            progress.failures[type(error).__name__] += 1
            return None
        if answer.status_code == 200:
            return dict(answer.json())
        reason = _reason(answer)
        progress.failures[f"{answer.status_code} {reason.split(':')[0]}"] += 1
        if reason.startswith(COMPENSATED):
            # NOTE: the checkout gave its money back (a step after the charge failed); as the answer says,
            # the buyer starts a new checkout with a new request id.
            request_id = uuid.uuid4().hex
            return None
        assert answer.status_code in RETRYABLE_STATUSES, f"{answer.status_code} {answer.text}"
        return None

    try:
        answered = await eventually(attempt, within=within, interval=0.2)
    except AssertionError as error:
        raise AssertionError(
            f"checkout {request_id} never answered 200; answers met: {dict(progress.failures)}"
        ) from error
    assert answered is not None
    progress.done += 1
    return answered


def _reason(answer: httpx.Response) -> str:
    """The error's reason (e.g. `PAYMENT_PENDING`), or the start of its body."""
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:80]
    details = body.get("error", {}).get("details", []) if isinstance(body, dict) else []
    reasons = [d["reason"] for d in details if d.get("reason")]
    return f"{reasons[0]}: {body['error'].get('message', '')[:100]}" if reasons else answer.text[:200]


async def checkouts(
    tenant: TenantApi, customers: list[str], progress: Progress, *, concurrency: int = 10
) -> list[dict[str, Any]]:
    """A checkout for each customer, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(customer: str) -> dict[str, Any]:
        async with gate:
            return await checkout_until_done(tenant, customer, progress)

    return list(await asyncio.gather(*(one(c) for c in customers)))


async def customers(tenant: TenantApi, count: int) -> list[str]:
    """`count` new customers; a call answered 502-504 or dropped (a service restarted) is retried, same request id."""
    gate = asyncio.Semaphore(10)

    async def one() -> str:
        external = uuid.uuid4().hex[:10]
        body = {"request_id": uuid.uuid4().hex, "external_id": external, "email": f"{external}@example.com"}

        async def created() -> str | None:
            try:
                answer = await tenant.call("POST", "/v1/customers", json={**body, "country_code": "US"})
            except httpx.TransportError:  # NOTE: a kept-alive connection to a killed gateway drops once
                return None
            if answer.status_code in (502, 503, 504):
                return None
            assert answer.status_code == 200, answer.text
            return str(answer.json()["customer"]["id"])

        async with gate:
            customer_id = await eventually(created, within=60)
        assert customer_id is not None
        return customer_id

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def when_done(progress: Progress, count: int) -> None:
    """Until `count` checkouts have been answered (the fault is injected mid-flow, not before or after)."""

    async def reached() -> bool:
        return progress.done >= count

    await eventually(reached, within=60)


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    """Seconds `action` took."""
    started = time.monotonic()
    await action()
    return time.monotonic() - started


def _dsn(suite: Suite, database: str) -> str:
    return suite.postgres_url.replace("postgresql+asyncpg://", "postgresql://") + f"/{database}"


@dataclass(frozen=True)
class Books:
    """One tenant's charges and attempts (payments), subscriptions (lifecycle) and PSP captures per charge."""

    charges: list[dict[str, Any]]
    subscriptions: dict[str, dict[str, Any]]
    captures: dict[str, int]

    @classmethod
    async def read(cls, suite: Suite, tenant_id: str) -> Books:
        payments = await asyncpg.connect(_dsn(suite, "azotte_payments"))
        try:
            charges = [
                dict(row)
                for row in await payments.fetch(
                    "SELECT id, status, subscription_id, period_key, gross_minor, refunded_minor, psp"
                    " FROM charges WHERE tenant_id = $1",
                    tenant_id,
                )
            ]
            attempts = await payments.fetch(
                "SELECT charge_id, psp, psp_idempotency_key FROM charge_attempts WHERE tenant_id = $1", tenant_id
            )
        finally:
            await payments.close()
        lifecycle = await asyncpg.connect(_dsn(suite, "azotte_lifecycle"))
        try:
            subscriptions = {
                row["id"]: dict(row)
                for row in await lifecycle.fetch(
                    "SELECT id, state, initial_charge_id, (aggregate->>'period_index')::int AS period_index"
                    " FROM subscriptions WHERE tenant_id = $1",
                    tenant_id,
                )
            }
        finally:
            await lifecycle.close()
        captures: Counter[str] = Counter()
        for attempt in attempts:
            captures[attempt["charge_id"]] += await psp_captures(suite, attempt["psp"], attempt["psp_idempotency_key"])
        return cls(charges, subscriptions, dict(captures))

    def open_charges(self) -> list[dict[str, Any]]:
        return [c for c in self.charges if c["status"] in ("pending", "unknown")]

    def succeeded(self) -> list[dict[str, Any]]:
        return [c for c in self.charges if c["status"] == "succeeded"]

    def assert_nothing_lost_or_doubled(self) -> None:
        """Every charge settled; one paid charge per subscription period, each captured once at its PSP;
        every paid charge has its subscription (or was given back); every subscription has its paid charge."""
        assert self.open_charges() == [], self.open_charges()
        periods = Counter((c["subscription_id"], c["period_key"]) for c in self.succeeded())
        assert [p for p, n in periods.items() if n > 1] == [], "a subscription period was charged twice"
        for charge in self.charges:
            captured = 1 if charge["status"] in ("succeeded", "voided") else 0
            assert self.captures.get(charge["id"], 0) == captured, charge
            if charge["status"] == "succeeded" and charge["refunded_minor"] < charge["gross_minor"]:
                assert charge["subscription_id"] in self.subscriptions, f"money without a subscription: {charge}"
        paid = {c["id"] for c in self.succeeded()}
        for subscription in self.subscriptions.values():
            assert subscription["initial_charge_id"] in paid, f"a subscription without its money: {subscription}"


async def psp_captures(suite: Suite, psp: str, key: str) -> int:
    """How many times the sandbox PSP `psp` captured money under the attempt key `key`."""
    base = suite.auxiliary_urls[f"AZOTTE_PSP_{psp.upper()}_URL"]
    param = "idempotency_key" if psp == "stripe_like" else "reference"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        answer = await http.get("/_test/captures", params={param: key})
    answer.raise_for_status()
    return int(answer.json()["captures"])


async def settled_books(suite: Suite, tenant_id: str, *, within: float = 60) -> Books:
    """The tenant's books once no charge is left open (a crash can leave one for the reconciler)."""

    async def settled() -> Books | None:
        books = await Books.read(suite, tenant_id)
        return None if books.open_charges() else books

    books = await eventually(settled, within=within, interval=0.5)
    assert books is not None
    return books


async def subscribed(tenant: TenantApi, count: int) -> list[str]:
    """`count` customers with a paid subscription each, made before any fault."""
    buyers = await customers(tenant, count)
    await checkouts(tenant, buyers, Progress())
    return buyers


async def advance_a_month(tenant: TenantApi) -> None:
    """Move the tenant's sandbox clock past every subscription's first period end: each renews once."""
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": uuid.uuid4().hex, "advance_by_days": 31})


async def renewed_books(suite: Suite, tenant_id: str, before: Books, *, within: float = 60) -> Books:
    """The tenant's books once each subscription in `before` is in its next period, nothing left open."""
    periods = {sub_id: sub["period_index"] for sub_id, sub in before.subscriptions.items()}

    async def renewed() -> Books | None:
        books = await Books.read(suite, tenant_id)
        moved = [s for s in books.subscriptions.values() if s["period_index"] > periods[s["id"]]]
        return books if len(moved) == len(periods) and not books.open_charges() else None

    books = await eventually(renewed, within=within, interval=0.5)
    assert books is not None
    return books


async def entitled(tenant: TenantApi, customer: str) -> bool:
    listed = await tenant.ok("GET", f"/v1/customers/{customer}/entitlements")
    return any(e["feature_key"] == "hd_streaming" for e in listed["entitlements"])


async def everyone_entitled(tenant: TenantApi, buyers: list[str], *, within: float = 60) -> None:
    async def all_entitled() -> bool:
        return all(await asyncio.gather(*(entitled(tenant, c) for c in buyers)))

    await eventually(all_entitled, within=within, interval=0.5)


async def set_outage(suite: Suite, psp: str, enabled: bool) -> None:
    """Make the sandbox PSP `psp` answer 503 to every charge (or stop doing so)."""
    base = suite.auxiliary_urls[f"AZOTTE_PSP_{psp.upper()}_URL"]
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        (await http.post("/_test/outage", json={"enabled": enabled})).raise_for_status()


async def each_checkout_landed_once(suite: Suite, tenant: TenantApi, buyers: list[str], answers: list[Any]) -> Books:
    """After a fault: every buyer entitled, one subscription per answer, and one charge per checkout."""
    await everyone_entitled(tenant, buyers)
    books = await settled_books(suite, tenant.tenant_id)
    books.assert_nothing_lost_or_doubled()
    assert len({a["subscription"]["id"] for a in answers}) == len(buyers)
    assert len(books.succeeded()) == len(buyers) and len(books.subscriptions) == len(buyers)
    return books
