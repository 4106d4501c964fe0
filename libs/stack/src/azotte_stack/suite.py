"""The whole suite: PostgreSQL, NATS and every service as its own processes, started and stopped together.

A service may run as several replicas, each its own process on its own port; its peers reach all of them
through one target listing every port (`ipv4:127.0.0.1:a,127.0.0.1:b`), over which their channels spread
calls (round robin). The gateway may also serve its ports from several worker processes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres
from azotte_stack.processes import free_port, signal_group, spawn, stop
from azotte_stack.readiness import wait_listening, wait_serving

AUXILIARY_URLS_FILE = "sandbox-urls.json"
SERVICES = ("catalog", "lifecycle", "payments", "entitlement", "promotions", "metering", "gateway")


@dataclass(frozen=True)
class AuxiliaryProcess:
    """A helper server started before the services (`--port` is appended); its URL goes to them in `url_env`."""

    name: str
    argv: tuple[str, ...]
    url_env: str


AUXILIARY = (
    AuxiliaryProcess(
        "psp-stripe-like", ("-m", "azotte_payments.sandbox_psp", "--kind", "stripe_like"), "AZOTTE_PSP_STRIPE_LIKE_URL"
    ),
    AuxiliaryProcess(
        "psp-adyen-like", ("-m", "azotte_payments.sandbox_psp", "--kind", "adyen_like"), "AZOTTE_PSP_ADYEN_LIKE_URL"
    ),
    AuxiliaryProcess(
        "stripe-emulator", ("-m", "azotte_payments.sandbox_psp", "--kind", "stripe"), "AZOTTE_STRIPE_API_BASE"
    ),
    AuxiliaryProcess(
        "adyen-emulator", ("-m", "azotte_payments.sandbox_psp", "--kind", "adyen"), "AZOTTE_ADYEN_CHECKOUT_URL"
    ),
    AuxiliaryProcess(
        "carrier-sandbox", ("-m", "azotte_payments.sandbox_psp.carrier_api"), "AZOTTE_CARRIER_SANDBOX_URL"
    ),
    AuxiliaryProcess(
        "google-play-api", ("-m", "azotte_gateway.sandbox_channels.google_play_api"), "AZOTTE_GOOGLE_APIS_URL"
    ),
    AuxiliaryProcess(
        "app-store-api", ("-m", "azotte_gateway.sandbox_channels.app_store_api"), "AZOTTE_APP_STORE_API_URL"
    ),
)


# The services that seal secrets at rest, and the setting of their key-encryption keys.
KEKS_SETTINGS = {
    "payments": "AZOTTE_PAYMENTS_KEKS",
    "promotions": "AZOTTE_PROMOTIONS_KEKS",
    "gateway": "AZOTTE_GATEWAY_KEKS",
}


def stack_keks(root: Path, service: str) -> str:
    """The key-encryption key a service of this stack seals secrets with, made once under `root` (mode 0600)."""
    path = root / f"{service}-keks"
    if not path.exists():
        path.write_text(f"stack:{base64.b64encode(os.urandom(32)).decode()}")
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class ExternalServers:
    """URLs of PostgreSQL and NATS run elsewhere (AZOTTE_POSTGRES_URL / AZOTTE_NATS_URL)."""

    postgres_url: str
    nats_url: str


@dataclass
class Suite:
    """Starts the suite under `root`; `stop()` ends every process it started."""

    root: Path
    gateway_grpc_port: int = 50051
    gateway_rest_port: int = 8080
    fast_storage: bool = False
    external: ExternalServers | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # Processes per service (1 when absent); the gateway's replicas beyond the first get ports of their own.
    replicas: dict[str, int] = field(default_factory=dict)
    gateway_workers: int = 1
    # The first gateway's Prometheus port (0: none), serving every worker's metrics.
    gateway_metrics_port: int = 0
    # How long a service may take to report SERVING, or a helper server to listen (more processes start slower).
    start_timeout: float = 120.0
    # The gRPC port of each service's first replica, and of every replica.
    ports: dict[str, int] = field(default_factory=dict)
    replica_ports: dict[str, list[int]] = field(default_factory=dict)
    gateway_rest_ports: list[int] = field(default_factory=list)
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    auxiliary_urls: dict[str, str] = field(default_factory=dict)

    @property
    def postgres_url(self) -> str:
        if self.external:
            return self.external.postgres_url
        assert self.postgres is not None
        return self.postgres.url

    @property
    def nats_url(self) -> str:
        if self.external:
            return self.external.nats_url
        assert self.nats is not None
        return self.nats.url

    def address(self, service: str) -> str:
        """The first replica of `service`."""
        return f"127.0.0.1:{self.ports[service]}"

    def target(self, service: str) -> str:
        """Every replica of `service`, as a gRPC target."""
        ports = self.replica_ports[service]
        if len(ports) == 1:
            return self.address(service)
        return "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)

    def replicas_of(self, service: str) -> int:
        return max(1, self.replicas.get(service, 1))

    async def start_servers(self) -> None:
        """PostgreSQL and NATS, unless external ones are configured."""
        if self.external:
            return
        self.postgres = EmbeddedPostgres(self.root / "pg", fast=self.fast_storage)
        self.nats = EmbeddedNats(self.root / "nats")
        await asyncio.gather(self.postgres.start(), self.nats.start())

    def service_env(self, service: str, replica: int = 0) -> dict[str, str]:
        """The environment one service process (its `replica`-th, from 0) gets."""
        env = {
            "AZOTTE_DATABASE_URL": f"{self.postgres_url}/azotte_{service}",
            "AZOTTE_NATS_URL": self.nats_url,
            "AZOTTE_GRPC_PORT": str(self.replica_ports[service][replica]),
            **{f"AZOTTE_{peer.upper()}_ADDR": self.target(peer) for peer in SERVICES},
            **self.auxiliary_urls,
            **self.extra_env,
        }
        keks = KEKS_SETTINGS.get(service)
        if keks and keks not in os.environ:
            env[keks] = stack_keks(self.root, service)
        if service == "gateway":
            env["AZOTTE_REST_PORT"] = str(self.gateway_rest_ports[replica])
            env["AZOTTE_STATE_DIR"] = str(self.root)
            env["AZOTTE_GATEWAY_WORKERS"] = str(self.gateway_workers)
            if self.gateway_metrics_port and replica == 0:
                env["AZOTTE_METRICS_PORT"] = str(self.gateway_metrics_port)
        return env

    async def start(self) -> None:
        """Start everything and wait until every service reports SERVING."""
        await self.start_servers()
        await self.start_auxiliary()
        for service in SERVICES:
            first = self.gateway_grpc_port if service == "gateway" else free_port()
            self.replica_ports[service] = [first, *(free_port() for _ in range(self.replicas_of(service) - 1))]
            self.ports[service] = first
        extra_gateways = self.replicas_of("gateway") - 1
        self.gateway_rest_ports = [self.gateway_rest_port, *(free_port() for _ in range(extra_gateways))]
        for name in self.service_processes():
            self._spawn_service(name)
        await asyncio.gather(*(self._wait_serving(name) for name in self.service_processes()))

    def service_processes(self) -> list[str]:
        """The process names of every service replica: `entitlement`, `entitlement-2`, ..."""
        return [replica_name(s, r) for s in SERVICES for r in range(len(self.replica_ports.get(s, [0])))]

    def _spawn_service(self, name: str) -> None:
        service, replica = _replica_of(name)
        self.processes[name] = spawn(
            [str(Path(sys.executable).parent / f"azotte-{service}")],
            env=self.service_env(service, replica),
            log_file=self.root / "logs" / f"{name}.log",
        )

    def kill_service(self, service: str) -> None:
        """SIGKILL one service replica (`entitlement`, `entitlement-2`) or helper server: no shutdown, no cleanup,
        as a crash would."""
        process = self.processes[service]
        if process.poll() is None:
            process.kill()
        process.wait()

    async def start_service(self, service: str) -> None:
        """Start one service replica again on its own port, and wait until it reports SERVING."""
        if (process := self.processes.get(service)) is not None and process.poll() is None:
            raise RuntimeError(f"{service} is still running")
        self._spawn_service(service)
        await self._wait_serving(service)

    async def restart_postgres(self) -> None:
        """Stop the embedded PostgreSQL at once (every session cut off), then start it again on its port."""
        assert self.postgres is not None, "an external PostgreSQL is not restarted"
        await asyncio.to_thread(self.postgres.stop, fast=True)
        await self.postgres.start()

    async def stop_nats(self) -> None:
        """Stop the embedded NATS; `start_nats` brings it back on the same port and store."""
        assert self.nats is not None, "an external NATS is not stopped"
        await asyncio.to_thread(self.nats.stop)

    async def start_nats(self) -> None:
        assert self.nats is not None, "an external NATS is not started"
        await self.nats.start()

    async def start_auxiliary(self) -> None:
        """Start the helper servers, wait until each accepts connections, and write their URLs under `root`."""
        for aux in AUXILIARY:
            port = free_port()
            log_file = self.root / "logs" / f"{aux.name}.log"
            self.processes[aux.name] = spawn([sys.executable, *aux.argv, "--port", str(port)], log_file=log_file)
            self.auxiliary_urls[aux.url_env] = f"http://127.0.0.1:{port}"
            process = self.processes[aux.name]
            await wait_listening(port, timeout=self.start_timeout, what=aux.name, process=process, log_file=log_file)
        # NOTE: `azotte demo` finds the helper servers here, as the services find them in their environment.
        (self.root / AUXILIARY_URLS_FILE).write_text(json.dumps(self.auxiliary_urls))

    async def _wait_serving(self, name: str) -> None:
        service, replica = _replica_of(name)
        await wait_serving(
            f"127.0.0.1:{self.replica_ports[service][replica]}",
            timeout=self.start_timeout,
            what=name,
            process=self.processes[name],
            log_file=self.root / "logs" / f"{name}.log",
        )

    def stop(self) -> None:
        """Stop services first, then NATS and PostgreSQL."""
        # NOTE: a service's whole process group, so the gateway's worker processes stop with the first one.
        for process in self.processes.values():
            if process.poll() is None:
                signal_group(process, signal.SIGTERM)
        for process in self.processes.values():
            stop(process, group=True)
        self.processes.clear()
        if self.nats:
            self.nats.stop()
        if self.postgres:
            self.postgres.stop()


def replica_name(service: str, replica: int) -> str:
    """The process name of a service's `replica`-th process (from 0): `entitlement`, `entitlement-2`, ..."""
    return service if replica == 0 else f"{service}-{replica + 1}"


def _replica_of(name: str) -> tuple[str, int]:
    service, _, number = name.partition("-")
    return service, int(number) - 1 if number else 0
