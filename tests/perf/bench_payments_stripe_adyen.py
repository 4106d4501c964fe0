"""Benchmark: charges/s through the Stripe adapter against the Stripe emulator, beside the raw HTTP call rate.

The emulator runs in its own process (as in the suite). A charge with a saved card is, through the adapter (the
official `stripe` library's async client): retrieve the PaymentMethod, create and confirm a PaymentIntent with an
idempotency key, read the answer into a normalized result. The baseline, in the same run against the same emulator,
makes the same two HTTP calls with a bare httpx client and does not read the answer: what the adapter costs on top
of the wire. Both run `--concurrency` charges at a time. Adyen's adapter does not exist yet, so it has no figure.

Run: .venv/bin/python tests/perf/bench_payments_stripe_adyen.py [--charges N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx

from azotte_payments.adapters.psp.stripe import StripePsp
from azotte_payments.domain.declines import Outcome
from azotte_payments.ports import PspChargeRequest
from azotte_stack.processes import free_port

SECRET_KEY = "sk_test_bench"


async def rate(charges: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Charges per second running `one(i)` for every charge, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def bounded(index: int) -> None:
        async with gate:
            await one(index)

    started = time.perf_counter()
    await asyncio.gather(*(bounded(i) for i in range(charges)))
    return charges / (time.perf_counter() - started)


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(200):
            try:
                await http.get("/v1/payment_methods/pm_card_visa")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the Stripe emulator did not start")


async def main(charges: int, concurrency: int) -> None:
    port = free_port()
    emulator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "azotte_payments.sandbox_psp", "--kind", "stripe", "--port", str(port)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_up(url)
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
    finally:
        emulator.terminate()
        await emulator.wait()
    print(f"Stripe adapter vs emulator, {charges} charges, {concurrency} at a time")
    print(f"  baseline (the same 2 HTTP calls, bare httpx): {baseline:8.1f} charges/s")
    print(f"  through StripePsp (stripe library, async):    {measured:8.1f} charges/s  ({measured / baseline:.0%})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.charges, args.concurrency))
