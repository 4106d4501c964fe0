"""`azotte-stack up | down | reset`: the local suite behind `make up`, `make down` and `make reset`.

`up` reads `AZOTTE_REPLICAS` (processes per service, default 1), `AZOTTE_REPLICAS_<SERVICE>` for one service
(e.g. `AZOTTE_REPLICAS_ENTITLEMENT=3`, over the former) and `AZOTTE_GATEWAY_WORKERS` (processes serving the
gateway's ports, default 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import time
from pathlib import Path

from azotte_stack.suite import SERVICES, ExternalServers, Suite, replica_name

STATE_FILE = "stack.json"


def _root() -> Path:
    return Path(os.environ.get("AZOTTE_HOME", ".azotte")).resolve()


def _external() -> ExternalServers | None:
    postgres, nats = os.environ.get("AZOTTE_POSTGRES_URL"), os.environ.get("AZOTTE_NATS_URL")
    if postgres and nats:
        return ExternalServers(postgres_url=postgres.rstrip("/"), nats_url=nats)
    return None


def _count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, got {value!r}")
    return int(value)


def _replicas() -> dict[str, int]:
    """Processes per service from `AZOTTE_REPLICAS` and `AZOTTE_REPLICAS_<SERVICE>`."""
    every = _count("AZOTTE_REPLICAS", 1)
    return {service: _count(f"AZOTTE_REPLICAS_{service.upper()}", every) for service in SERVICES}


async def _up(root: Path) -> None:
    started = time.perf_counter()
    suite = Suite(
        root=root,
        gateway_grpc_port=int(os.environ.get("AZOTTE_GATEWAY_GRPC_PORT", "50051")),
        gateway_rest_port=int(os.environ.get("AZOTTE_GATEWAY_REST_PORT", "8080")),
        external=_external(),
        replicas=_replicas(),
        gateway_workers=_count("AZOTTE_GATEWAY_WORKERS", 1),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await suite.start()
        state = {"pid": os.getpid(), "ports": suite.ports, "rest_port": suite.gateway_rest_port}
        (root / STATE_FILE).write_text(json.dumps(state))
        print(f"Azotte is up in {time.perf_counter() - started:.1f}s: every service reports SERVING.")
        print(f"  gateway REST  http://127.0.0.1:{suite.gateway_rest_port}  (docs at /docs)")
        print(f"  gateway gRPC  127.0.0.1:{suite.gateway_grpc_port}")
        for service in SERVICES:
            ports = suite.replica_ports[service]
            if len(ports) > 1:
                names = ", ".join(f"{replica_name(service, i)} :{port}" for i, port in enumerate(ports))
                if service == "gateway":
                    names += f" (REST :{', :'.join(map(str, suite.gateway_rest_ports))})"
                print(f"  {service} replicas  {names}")
        if suite.gateway_workers > 1:
            print(f"  gateway workers  {suite.gateway_workers} processes per gateway port")
        print(f"  portal        http://127.0.0.1:{suite.gateway_rest_port}/portal")
        key_file = root / "sandbox-admin.key"
        if key_file.exists():
            print(f"  sandbox tenant admin key in {key_file}")
        portal_admin = root / "sandbox-portal-admin.txt"
        if portal_admin.exists():
            email, password = portal_admin.read_text().split()[:2]
            print(f"  portal sign-in: tenant sandbox, email {email}, password {password} (kept in {portal_admin})")
        print(f"  logs in {root / 'logs'}; Ctrl-C (or `make down`) stops everything.")
        await stop.wait()
    finally:
        suite.stop()
        (root / STATE_FILE).unlink(missing_ok=True)
        print("Azotte stopped.")


def _down(root: Path) -> None:
    state_file = root / STATE_FILE
    if not state_file.exists():
        print("Azotte is not running.")
        return
    pid = int(json.loads(state_file.read_text())["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        state_file.unlink(missing_ok=True)
        return
    while state_file.exists():
        time.sleep(0.1)
    print("Azotte stopped.")


def main() -> None:
    parser = argparse.ArgumentParser(prog="azotte-stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "reset"])
    args = parser.parse_args()
    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    if args.command == "up":
        asyncio.run(_up(root))
    elif args.command == "down":
        _down(root)
    else:
        _down(root)
        shutil.rmtree(root)
        print(f"Removed {root}.")
