"""Premiere night: a steady baseline, then a 10x spike of checkouts and access checks, then the baseline again,
on a local suite with replicas (2 of entitlement and lifecycle) and a gateway of 2 worker processes.

Load is open-loop: checkouts (REST, each buyer a new customer) and access checks (gRPC CheckAccess with a
publishable key, over buyers already subscribed) start on their schedule whether or not earlier ones have
answered, and latency counts from that schedule. Event -> access lag is, for every checkout, the time from its
answer until an access check without a consistency token (the gateway's cache, fed by entitlement events)
answers allowed. `--kill` SIGKILLs one lifecycle replica in the middle of the spike and starts it again.

Per phase it prints access p99, checkout p99, lag p99 and errors; at the end the audit: every checkout answered
has exactly one subscription and one successful charge, and a retry of its request id answers the same
subscription (lost or doubled work must be zero). `--png` draws latency over time.

Usage: .venv/bin/python tests/perf/bench_premiere.py [--checkouts-per-s R] [--access-per-s A] [--baseline-s B]
       [--spike-s S] [--spike-factor F] [--kill] [--png PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import uvloop

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte_stack.suite import Suite

PLAN, FEATURE, STOREFRONT = "family_monthly", "hd_streaming", "de"
LAG_LIMIT_S = 10.0


@dataclass
class Phase:
    """One phase's schedule and what it measured: (start offset s, latency s) per call, and errors by kind."""

    name: str
    seconds: float
    checkouts_per_s: float
    access_per_s: float
    checkouts: list[tuple[float, float]] = field(default_factory=list)
    access: list[tuple[float, float]] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    started_at: float = 0.0


@dataclass
class Bought:
    """A checkout answered: its buyer, request id and subscription."""

    customer_id: str
    request_id: str
    subscription_id: str


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3 if ordered else float("nan")


class Premiere:
    """Drives the load against a running suite and audits what it bought."""

    def __init__(self, suite: Suite, publishable_key: str):
        self.suite = suite
        limits = httpx.Limits(
            max_connections=400, max_keepalive_connections=100, keepalive_expiry=perf_suite.KEEPALIVE_EXPIRY_S
        )
        self.http: httpx.AsyncClient = perf_suite.admin_client(suite, timeout=60, limits=limits)
        options = [("grpc.use_local_subchannel_pool", 1)]
        self.channels = [grpc.aio.insecure_channel(suite.address("gateway"), options=options) for _ in range(8)]
        self.stubs = itertools.cycle(gateway_pb2_grpc.GatewayServiceStub(c) for c in self.channels)
        self.metadata = (("authorization", f"Bearer {publishable_key}"),)
        self.bought: list[Bought] = []
        self.began = 0.0

    async def close(self) -> None:
        await self.http.aclose()
        for channel in self.channels:
            await channel.close(None)

    async def customers(self, count: int) -> list[str]:
        gate = asyncio.Semaphore(20)

        async def one() -> str:
            async with gate:
                return str(await perf_suite.new_customer(self.http))

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def checkout(self, customer_id: str, request_id: str) -> httpx.Response:
        body = {
            "request_id": request_id,
            "customer_id": customer_id,
            "storefront_id": STOREFRONT,
            "plan_id": PLAN,
            "channel": "web",
            "payment_method_token": "tok_success",
        }
        return await self.http.post("/v1/checkout", json=body)

    async def allowed(self, customer_id: str) -> bool:
        request = gw.CheckAccessRequest(customer_id=customer_id, feature_key=FEATURE)
        answer = await next(self.stubs).CheckAccess(request, metadata=self.metadata, timeout=10)
        return bool(answer.decision.allowed)

    async def _one_checkout(self, phase: Phase, customer_id: str, due: float) -> None:
        request_id = uuid.uuid4().hex
        for attempt in range(20):
            try:
                answer = await self.checkout(customer_id, request_id)
            except httpx.TransportError as error:
                phase.errors[f"checkout {type(error).__name__}"] += 1
            else:
                if answer.status_code == 200:
                    break
                phase.errors[f"checkout {answer.status_code}"] += 1
            await asyncio.sleep(min(0.1 * 2**attempt, 2.0))  # NOTE: the same request id, as a client retries
        else:
            return
        answered = time.perf_counter()
        phase.checkouts.append((due - self.began, answered - due))
        self.bought.append(Bought(customer_id, request_id, answer.json()["subscription"]["id"]))
        while time.perf_counter() - answered < LAG_LIMIT_S:
            try:
                if await self.allowed(customer_id):
                    phase.lags.append(time.perf_counter() - answered)
                    return
            except grpc.aio.AioRpcError as error:
                phase.errors[f"access {error.code().name}"] += 1
            await asyncio.sleep(0.005)
        phase.errors["access never reflected the checkout"] += 1

    async def _one_access(self, phase: Phase, customer_id: str, due: float) -> None:
        try:
            allowed = await self.allowed(customer_id)
        except grpc.aio.AioRpcError as error:
            phase.errors[f"access {error.code().name}"] += 1
            return
        latency = time.perf_counter() - due
        phase.access.append((due - self.began, latency))
        if not allowed:
            phase.errors["access denied to a subscriber"] += 1

    async def run_phase(self, phase: Phase, buyers: list[str], subscribers: list[str]) -> None:
        """Every call of the phase started on its schedule; returns once all have answered."""
        start = time.perf_counter()
        phase.started_at = start - self.began
        calls: list[asyncio.Task[None]] = []
        checkouts = int(phase.seconds * phase.checkouts_per_s)
        accesses = int(phase.seconds * phase.access_per_s)
        schedule = sorted(
            [(i / phase.checkouts_per_s, "checkout", i) for i in range(checkouts)]
            + [(i / phase.access_per_s, "access", i) for i in range(accesses)]
        )
        for offset, kind, index in schedule:
            due = start + offset
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if kind == "checkout":
                calls.append(asyncio.create_task(self._one_checkout(phase, buyers.pop(), due)))
            else:
                customer = subscribers[index % len(subscribers)]
                calls.append(asyncio.create_task(self._one_access(phase, customer, due)))
        await asyncio.gather(*calls)

    async def audit(self) -> Counter[str]:
        """Lost or doubled work: a checkout answered without exactly one subscription and one successful charge,
        or a retry of its request id answering another subscription."""
        found: Counter[str] = Counter()
        gate = asyncio.Semaphore(20)

        async def check(bought: Bought) -> None:
            async with gate:
                subscriptions = await self.http.get(f"/v1/customers/{bought.customer_id}/subscriptions")
                charges = await self.http.get(
                    f"/v1/customers/{bought.customer_id}/charges", params={"filter": "state = SUCCEEDED"}
                )
                retried = await self.checkout(bought.customer_id, bought.request_id)
            held = [s["id"] for s in subscriptions.json().get("subscriptions", [])]
            if held != [bought.subscription_id]:
                found["lost or doubled subscriptions"] += 1
            if len(charges.json().get("charges", [])) != 1:
                found["lost or doubled charges"] += 1
            if retried.status_code != 200 or retried.json()["subscription"]["id"] != bought.subscription_id:
                found["a retried checkout answered differently"] += 1

        await asyncio.gather(*(check(b) for b in self.bought))
        return found


async def publishable_key(http: httpx.AsyncClient) -> str:
    body = {"request_id": uuid.uuid4().hex, "display_name": "premiere app", "role": "publishable"}
    created = await http.post("/v1/api-keys", json=body)
    created.raise_for_status()
    return str(created.json()["secret"])


async def kill_mid_spike(suite: Suite, after: float) -> float:
    """SIGKILL the second lifecycle replica `after` seconds in, start it again; seconds until it serves."""
    await asyncio.sleep(after)
    killed = time.monotonic()
    suite.kill_service("lifecycle-2")
    await suite.start_service("lifecycle-2")
    return time.monotonic() - killed


def report(phase: Phase) -> None:
    print(
        f"{phase.name:<9} checkouts {len(phase.checkouts):>5} p99 {p99([x[1] for x in phase.checkouts]):8.1f} ms"
        f" | access {len(phase.access):>6} p99 {p99([x[1] for x in phase.access]):7.1f} ms"
        f" | event->access lag p99 {p99(phase.lags):7.1f} ms | errors {dict(phase.errors) or 0}",
        flush=True,
    )


def draw(phases: list[Phase], path: Path) -> None:
    import matplotlib  # imported only when a picture is asked for

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(10, 5))
    for label, pick, colour in (("checkout", "checkouts", "tab:red"), ("access check", "access", "tab:blue")):
        points = [point for phase in phases for point in getattr(phase, pick)]
        axes.scatter([p[0] for p in points], [p[1] * 1e3 for p in points], s=2, c=colour, label=label, alpha=0.5)
    for phase in phases:
        axes.axvline(phase.started_at, color="grey", linewidth=0.5)
        axes.text(phase.started_at + 0.5, 1, phase.name, color="grey")
    axes.set_yscale("log")
    axes.set_xlabel("seconds since the start")
    axes.set_ylabel("latency (ms, from its schedule)")
    axes.set_title("Premiere night: latency over time")
    axes.legend(loc="upper right")
    figure.savefig(path, dpi=110, bbox_inches="tight")
    print(f"latency over time: {path}")


async def premiere(
    suite: Suite, phases: list[Phase], *, kill: bool = False, png: Path | None = None
) -> tuple[list[Phase], Counter[str]]:
    """Run `phases` in order against `suite` (kill a lifecycle replica mid-spike if asked); the phases and the
    audit's findings."""
    async with perf_suite.admin_client(suite) as http:
        await perf_suite.apply_catalog(http)
        publishable = await publishable_key(http)
    load = Premiere(suite, publishable)
    try:
        warm = Phase("warm-up", 10, 3, 0)
        total = sum(int(p.seconds * p.checkouts_per_s) for p in [warm, *phases])
        buyers = await load.customers(total)
        load.began = time.perf_counter()
        await load.run_phase(warm, buyers, [])
        subscribers = [b.customer_id for b in load.bought]
        load.began = time.perf_counter()
        for phase in phases:
            killing = None
            if kill and phase.name == "spike":
                killing = asyncio.create_task(kill_mid_spike(suite, phase.seconds / 2))
            await load.run_phase(phase, buyers, subscribers)
            if killing is not None:
                print(f"lifecycle-2 SIGKILLed mid-spike, serving again after {await killing:.1f} s", flush=True)
            report(phase)
        findings = await load.audit()
        print(f"audit of {len(load.bought)} checkouts: lost or doubled work {dict(findings) or 0}", flush=True)
        if png is not None:
            draw(phases, png)
        return phases, findings
    finally:
        await load.close()


async def main(args: argparse.Namespace) -> None:
    suite = perf_suite.unlimited_suite(
        perf_suite.scratch_dir("bench-premiere-"),
        replicas={"entitlement": 2, "lifecycle": 2},
        gateway_workers=2,
        start_timeout=300,
    )
    await suite.start()
    try:
        factor = args.spike_factor
        phases = [
            Phase("baseline", args.baseline_s, args.checkouts_per_s, args.access_per_s),
            Phase("spike", args.spike_s, args.checkouts_per_s * factor, args.access_per_s * factor),
            Phase("after", args.baseline_s, args.checkouts_per_s, args.access_per_s),
        ]
        print(
            f"suite: entitlement x2, lifecycle x2, gateway 2 workers; baseline {args.checkouts_per_s:g} checkouts/s"
            f" + {args.access_per_s:g} access checks/s, spike x{factor:g} for {args.spike_s:g} s",
            flush=True,
        )
        await premiere(suite, phases, kill=args.kill, png=args.png)
    finally:
        suite.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts-per-s", type=float, default=1.0)
    parser.add_argument("--access-per-s", type=float, default=30.0)
    parser.add_argument("--baseline-s", type=float, default=30.0)
    parser.add_argument("--spike-s", type=float, default=60.0)
    parser.add_argument("--spike-factor", type=float, default=10.0)
    parser.add_argument("--kill", action="store_true", help="SIGKILL a lifecycle replica in the middle of the spike")
    parser.add_argument("--png", type=Path, default=None)
    uvloop.run(main(parser.parse_args()))
