"""Benchmark: charges/s through the Stripe and Adyen adapters against their emulators, beside the raw HTTP call rate.

Each emulator runs in its own process (as in the suite). An off-session charge with a saved card is, through the
Stripe adapter (the official `stripe` library's async client): retrieve the PaymentMethod, create and confirm a
PaymentIntent with an idempotency key; through the Adyen adapter (the official `Adyen` library, synchronous, in a
worker thread): find the shopper's stored method (`/paymentMethods`), then `/payments` with it (ContAuth), each
with an idempotency key. Both read the answer into a normalized result. The baselines, in the same run against the
same emulators, make the same two HTTP calls with a bare client on the same transport (httpx's async client for
Stripe; `requests`, pooled, in worker threads for Adyen) and do not read the answer: what each adapter costs on top
of the wire. All run `--concurrency` charges at a time.

Run: .venv/bin/python tests/perf/bench_payments_stripe_adyen.py [--charges N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import requests
from Adyen.services.checkout import PaymentsApi  # type: ignore[import-untyped]

from azotte_payments.adapters.psp.adyen import AdyenPsp, shopper_reference
from azotte_payments.adapters.psp.stripe import StripePsp
from azotte_payments.domain.declines import Outcome
from azotte_payments.ports import PspChargeRequest
from azotte_stack.processes import free_port

SECRET_KEY = "sk_test_bench"
ADYEN_KEY, MERCHANT = "AQE_bench_key", "BenchECOM"
CARD = '{"type":"scheme","encryptedCardNumber":"test_visa_authorised"}'


async def rate(charges: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Charges per second running `one(i)` for every charge, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def bounded(index: int) -> None:
        async with gate:
            await one(index)

    started = time.perf_counter()
    await asyncio.gather(*(bounded(i) for i in range(charges)))
    return charges / (time.perf_counter() - started)


async def emulator(kind: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start an emulator in its own process; (the process, its URL) once it answers."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "azotte_payments.sandbox_psp", "--kind", kind, "--port", str(port)
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(200):
            try:
                await http.get("/")
                return process, url
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"the {kind} emulator did not start")


async def stripe_rates(url: str, charges: int, concurrency: int) -> tuple[float, float]:
    """(baseline, through the adapter) charges/s against the Stripe emulator."""
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as http:
        saved = (await http.post("/v1/payment_methods", data={"type": "card", "card[token]": "tok_visa"})).json()
        customer = (await http.post("/v1/customers", data={})).json()["id"]
        await http.post(
            "/v1/setup_intents",
            data={"customer": customer, "payment_method": saved["id"], "confirm": "true"},
        )
        run = uuid.uuid4().hex[:8]

        async def raw(index: int) -> None:
            await http.get(f"/v1/payment_methods/{saved['id']}")
            body = {
                "amount": "1190",
                "currency": "eur",
                "customer": customer,
                "payment_method": saved["id"],
                "confirm": "true",
                "off_session": "true",
                "metadata[azotte_attempt]": f"raw-{run}-{index}",
            }
            answer = await http.post(
                "/v1/payment_intents", data=body, headers={"Idempotency-Key": f"raw-{run}-{index}"}
            )
            assert answer.status_code == 200

        baseline = await rate(charges, concurrency, raw)

    adapter = StripePsp("stripe-bench", SECRET_KEY, url)

    async def through_adapter(index: int) -> None:
        key = f"ch_{run}_{index}:stripe-bench"
        request = PspChargeRequest(key, 1190, "EUR", saved["id"], key, "bench", "cus_bench", off_session=True)
        result = await adapter.charge(request)
        assert result.outcome is Outcome.APPROVED, result

    measured = await rate(charges, concurrency, through_adapter)
    await adapter.aclose()
    return baseline, measured


async def adyen_rates(url: str, charges: int, concurrency: int) -> tuple[float, float]:
    """(baseline, through the adapter) charges/s against the Adyen emulator."""
    adapter = AdyenPsp("adyen-bench", ADYEN_KEY, MERCHANT, checkout_url=url)
    run = uuid.uuid4().hex[:8]
    # NOTE: the checkout stores the card for the shopper; every benchmarked charge is a ContAuth renewal.
    stored = await adapter.charge(PspChargeRequest(f"store-{run}", 1190, "EUR", CARD, "checkout", "", "cus_bench"))
    assert stored.outcome is Outcome.APPROVED, stored
    shopper = shopper_reference("cus_bench", CARD)
    version = str(PaymentsApi().baseUrl).rsplit("/", 1)[1]
    base, session = f"{url}/{version}", requests.Session()
    session.headers["X-API-Key"] = ADYEN_KEY

    def post(path: str, body: dict[str, Any], key: str) -> requests.Response:
        return session.post(f"{base}{path}", json=body, headers={"Idempotency-Key": key}, timeout=10)

    def raw_charge(index: int) -> None:
        key = f"raw-{run}-{index}"
        found = post("/paymentMethods", {"merchantAccount": MERCHANT, "shopperReference": shopper}, f"{key}:methods")
        body = {
            "merchantAccount": MERCHANT,
            "reference": key,
            "amount": {"value": 1190, "currency": "EUR"},
            "paymentMethod": {"type": "scheme", "storedPaymentMethodId": found.json()["storedPaymentMethods"][0]["id"]},
            "shopperReference": shopper,
            "recurringProcessingModel": "Subscription",
            "shopperInteraction": "ContAuth",
        }
        assert post("/payments", body, key).status_code == 200

    async def raw(index: int) -> None:
        await asyncio.to_thread(raw_charge, index)

    baseline = await rate(charges, concurrency, raw)
    session.close()

    async def through_adapter(index: int) -> None:
        key = f"ch_{run}_{index}:adyen-bench"
        result = await adapter.charge(PspChargeRequest(key, 1190, "EUR", CARD, key, "bench", "cus_bench", True))
        assert result.outcome is Outcome.APPROVED, result

    measured = await rate(charges, concurrency, through_adapter)
    await adapter.aclose()
    return baseline, measured


async def main(charges: int, concurrency: int) -> None:
    (stripe, stripe_url), (adyen, adyen_url) = await emulator("stripe"), await emulator("adyen")
    try:
        stripe_baseline, stripe_measured = await stripe_rates(stripe_url, charges, concurrency)
        adyen_baseline, adyen_measured = await adyen_rates(adyen_url, charges, concurrency)
    finally:
        for process in (stripe, adyen):
            process.terminate()
            await process.wait()
    print(f"PSP adapters vs their emulators, {charges} charges each, {concurrency} at a time")
    print(f"  Stripe baseline (the same 2 HTTP calls, bare httpx): {stripe_baseline:8.1f} charges/s")
    print(
        f"  through StripePsp (stripe library, async):           {stripe_measured:8.1f} charges/s"
        f"  ({stripe_measured / stripe_baseline:.0%})"
    )
    print(f"  Adyen baseline (the same 2 HTTP calls, requests):    {adyen_baseline:8.1f} charges/s")
    print(
        f"  through AdyenPsp (Adyen library, worker threads):    {adyen_measured:8.1f} charges/s"
        f"  ({adyen_measured / adyen_baseline:.0%})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.charges, args.concurrency))
