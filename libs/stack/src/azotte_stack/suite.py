"""The whole suite: PostgreSQL, NATS and every service as its own process, started and stopped together."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres
from azotte_stack.processes import free_port, spawn, stop
from azotte_stack.readiness import wait_listening, wait_serving

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
)


def stack_keks(root: Path) -> str:
    """The key-encryption key of this stack's PSP credentials, made once under `root` (mode 0600)."""
    path = root / "payments-keks"
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
    ports: dict[str, int] = field(default_factory=dict)
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
        return f"127.0.0.1:{self.ports[service]}"

    async def start_servers(self) -> None:
        """PostgreSQL and NATS, unless external ones are configured."""
        if self.external:
            return
        self.postgres = EmbeddedPostgres(self.root / "pg", fast=self.fast_storage)
        self.nats = EmbeddedNats(self.root / "nats")
        await asyncio.gather(self.postgres.start(), self.nats.start())

    def service_env(self, service: str) -> dict[str, str]:
        """The environment one service process gets."""
        env = {
            "AZOTTE_DATABASE_URL": f"{self.postgres_url}/azotte_{service}",
            "AZOTTE_NATS_URL": self.nats_url,
            "AZOTTE_GRPC_PORT": str(self.ports[service]),
            **{f"AZOTTE_{peer.upper()}_ADDR": self.address(peer) for peer in SERVICES},
            **self.auxiliary_urls,
            **self.extra_env,
        }
        if service == "payments" and "AZOTTE_PAYMENTS_KEKS" not in os.environ:
            env["AZOTTE_PAYMENTS_KEKS"] = stack_keks(self.root)
        if service == "gateway":
            env["AZOTTE_REST_PORT"] = str(self.gateway_rest_port)
            env["AZOTTE_STATE_DIR"] = str(self.root)
        return env

    async def start(self) -> None:
        """Start everything and wait until every service reports SERVING."""
        await self.start_servers()
        await self.start_auxiliary()
        for service in SERVICES:
            self.ports[service] = self.gateway_grpc_port if service == "gateway" else free_port()
        for service in SERVICES:
            self._spawn_service(service)
        await asyncio.gather(*(self._wait_serving(service) for service in SERVICES))

    def _spawn_service(self, service: str) -> None:
        self.processes[service] = spawn(
            [str(Path(sys.executable).parent / f"azotte-{service}")],
            env=self.service_env(service),
            log_file=self.root / "logs" / f"{service}.log",
        )

    def kill_service(self, service: str) -> None:
        """SIGKILL one service (or helper server): no shutdown, no cleanup, as a crash would."""
        process = self.processes[service]
        if process.poll() is None:
            process.kill()
        process.wait()

    async def start_service(self, service: str) -> None:
        """Start one service again on its own port, and wait until it reports SERVING."""
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
        """Start the helper servers and wait until each accepts connections."""
        for aux in AUXILIARY:
            port = free_port()
            log_file = self.root / "logs" / f"{aux.name}.log"
            self.processes[aux.name] = spawn([sys.executable, *aux.argv, "--port", str(port)], log_file=log_file)
            self.auxiliary_urls[aux.url_env] = f"http://127.0.0.1:{port}"
            await wait_listening(port, timeout=30, what=aux.name, process=self.processes[aux.name], log_file=log_file)

    async def _wait_serving(self, service: str) -> None:
        await wait_serving(
            self.address(service),
            timeout=120,
            what=service,
            process=self.processes[service],
            log_file=self.root / "logs" / f"{service}.log",
        )

    def stop(self) -> None:
        """Stop services first, then NATS and PostgreSQL."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            stop(process)
        self.processes.clear()
        if self.nats:
            self.nats.stop()
        if self.postgres:
            self.postgres.stop()
