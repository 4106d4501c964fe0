"""Access checks through the gateway served by one process versus two worker processes on one port
(`AZOTTE_GATEWAY_WORKERS=2`), against the same services in the same run, rounds alternating.

Two drivers: `wrk` (the default) sends REST access checks (`GET /v1/customers/{id}/access/{feature}`, a
secret key, `--callers` connections over the customers) from one C process that needs little of the cores
the servers use; `grpc` sends CheckAccess from `--clients` Python client processes of their own, which on a
small machine compete with the servers for the same cores. Either way each connection is the kernel's to
spread over the workers. `wrk` is a distribution package (`make perf` installs it as root).

Usage: .venv/bin/python tests/perf/bench_gateway_workers.py [--driver wrk|grpc] [--seconds S] [--clients P]
       [--callers C] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_entitlement_access  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import grpc
import nats
import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import uvloop

from azotte_stack.processes import free_port, spawn, stop, wait_until
from azotte_stack.readiness import wait_serving

CUSTOMERS = 500
CHANNELS_PER_CLIENT = 8


async def load(address: str, key: str, customers: list[str], seconds: float, callers: int) -> int:
    """In a client process: `callers` loops of CheckAccess over its own connections for `seconds`; how many."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(address, options=options) for _ in range(CHANNELS_PER_CLIENT)]
    checks = [bench_entitlement_access.gateway_check(channel, key) for channel in channels]
    done = 0
    deadline = time.perf_counter() + seconds

    async def caller(index: int) -> None:
        nonlocal done
        check, i = checks[index % len(checks)], index
        while time.perf_counter() < deadline:
            assert await check(customers[i % len(customers)])
            done += 1
            i += callers

    await asyncio.gather(*(caller(i) for i in range(callers)))
    for channel in channels:
        await channel.close(None)
    return done


async def measure(root: Path, address: str, key: str, seconds: float, clients: int, callers: int) -> float:
    """Checks per second of `clients` client processes together against `address`."""
    outputs = [root / f"load-{i}.json" for i in range(clients)]
    processes = [
        spawn(
            [sys.executable, __file__, "--load", address, key, str(seconds), str(callers), str(out)],
            log_file=root / "load.log",
        )
        for out in outputs
    ]
    await asyncio.gather(*(asyncio.to_thread(p.wait) for p in processes))
    assert all(p.returncode == 0 for p in processes), (root / "load.log").read_text()[-2000:]
    return sum(int(json.loads(out.read_text())["checks"]) for out in outputs) / seconds


WRK_SCRIPT = """
local paths = {%s}
local next_path = 0
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  next_path = next_path %% #paths + 1
  return wrk.format("GET", paths[next_path])
end
"""


async def measure_rest(root: Path, rest_port: int, key: str, seconds: float, connections: int) -> float:
    """REST access checks per second from one `wrk` process with `connections` connections; any answer other
    than 200 fails the measurement."""
    customers = json.loads((root / "customers.json").read_text())
    paths = ", ".join(f'"/v1/customers/{customer}/access/{bench_entitlement_access.FEATURE}"' for customer in customers)
    script = root / "access.lua"
    script.write_text(WRK_SCRIPT % (paths, key))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(script)]
    done = await asyncio.to_thread(
        subprocess.run, [*command, f"http://127.0.0.1:{rest_port}"], capture_output=True, text=True, check=True
    )
    assert "Non-2xx" not in done.stdout, done.stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", done.stdout)
    assert rate, done.stdout
    return float(rate.group(1))


async def main(driver: str, seconds: float, clients: int, callers: int, rounds: int) -> None:
    if driver == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (or --driver grpc)")
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        root = Path(tmp)
        suite = perf_suite.unlimited_suite(root, gateway_workers=2)
        await suite.start()
        single_port, single_rest_port = free_port(), free_port()
        env = {
            **suite.service_env("gateway"),
            "AZOTTE_GRPC_PORT": str(single_port),
            "AZOTTE_REST_PORT": str(single_rest_port),
            "AZOTTE_GATEWAY_WORKERS": "1",
        }
        single = spawn([str(Path(sys.executable).parent / "azotte-gateway")], env=env, log_file=root / "single.log")
        client = await nats.connect(suite.nats_url)
        try:
            await wait_serving(f"127.0.0.1:{single_port}", timeout=120, what="one-process gateway", process=single)
            key = await bench_entitlement_access.publishable_key(suite)
            customers = await bench_entitlement_access.register_customers(suite, CUSTOMERS)
            js = client.jetstream()
            for customer in customers:
                await bench_entitlement_access.publish_activation(js, customer)
            async with grpc.aio.insecure_channel(suite.address("gateway")) as channel:
                check = bench_entitlement_access.gateway_check(channel, key)
                for customer in customers:
                    await wait_until(functools.partial(check, customer), timeout=60, what=f"access of {customer}")
            (root / "customers.json").write_text(json.dumps(customers))
            if driver == "wrk":
                secret = perf_suite.admin_key(suite)
                targets = {"1 gateway process": single_rest_port, "2 gateway workers": suite.gateway_rest_port}
                print(f"wrk: REST, {callers} connections, {seconds:.0f}s per measurement", flush=True)
            else:
                targets = {"1 gateway process": single_port, "2 gateway workers": suite.gateway_grpc_port}
                print(f"gRPC: {clients} client process(es) x {callers} callers, {seconds:.0f}s each", flush=True)
            rates: dict[str, list[float]] = {label: [] for label in targets}
            for round_ in range(rounds):
                for label, port in targets.items():
                    if driver == "wrk":
                        rate = await measure_rest(root, port, secret, seconds, callers)
                    else:
                        rate = await measure(root, f"127.0.0.1:{port}", key, seconds, clients, callers)
                    rates[label].append(rate)
                    print(f"  round {round_ + 1}: {label:<20} {rate:8.0f} checks/s", flush=True)
            one, two = (statistics.median(rates[label]) for label in targets)
            print(f"median: 1 process {one:.0f}/s, 2 workers {two:.0f}/s = {two / one:.2f}x (goal 1.6x)", flush=True)
        finally:
            await client.close()
            stop(single, group=True)
            suite.stop()


def run_load(address: str, key: str, seconds: str, callers: str, out: str) -> None:
    customers = json.loads((Path(out).parent / "customers.json").read_text())
    checks = uvloop.run(load(address, key, customers, float(seconds), int(callers)))
    Path(out).write_text(json.dumps({"checks": checks}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load"]:
        run_load(*sys.argv[2:7])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--driver", choices=("wrk", "grpc"), default="wrk")
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--clients", type=int, default=2)
        parser.add_argument("--callers", type=int, default=32)
        parser.add_argument("--rounds", type=int, default=3)
        args = parser.parse_args()
        uvloop.run(main(args.driver, args.seconds, args.clients, args.callers, args.rounds))
