"""`make up` with replicas and gateway workers: the gateway's one gRPC port and one REST port are answered by two
worker processes, and a service run as two replicas is reached on both by its peers and keeps answering when one
of them is killed.

Who answers is read from the kernel (`/proc`): the process owning the server side of each connection.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from azotte_stack.processes import free_port
from azotte_stack.suite import ExternalServers, Suite
from tests.helpers import eventually
from tests.stack import running

CONNECTIONS = 12  # all on one worker by chance: 2 ** -11
ESTABLISHED, LISTEN = "01", "0A"


@pytest.fixture(scope="module")
async def suite(servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    root = Path(tmp_path_factory.mktemp("replicas"))
    suite = Suite(
        root=root,
        gateway_grpc_port=free_port(),
        gateway_rest_port=free_port(),
        external=ExternalServers(servers.postgres_url, servers.nats_url),
        replicas={"entitlement": 2, "lifecycle": 2},
        gateway_workers=2,
        gateway_metrics_port=free_port(),
        start_timeout=300,
    )
    async with running(suite):
        yield suite


def _tcp_sockets() -> Iterator[tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every TCP socket of this machine."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                yield int(local, 16), int(remote, 16), fields[3], fields[9]


def _owners(inodes: set[str]) -> dict[str, int]:
    """The process holding each socket inode."""
    owners: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = fd.readlink().name
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        owners[target[8:-1]] = int(proc.name)
    return owners


def _gateway_pids(suite: Suite) -> set[int]:
    """The gateway's first process and the worker processes it started."""
    first = suite.processes["gateway"].pid
    children = set()
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == first:
                children.add(int(proc.name))
    return {first, *children}


def _answering(port: int) -> set[int]:
    """The processes holding the server side of the connections open to `port` now."""
    inodes = {inode for local, _, state, inode in _tcp_sockets() if local == port and state == ESTABLISHED}
    return set(_owners(inodes).values())


async def _rest_answerers(suite: Suite) -> set[int]:
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{suite.gateway_rest_port}") for _ in range(CONNECTIONS)]
    try:
        for client in clients:
            assert (await client.get("/healthz")).status_code == 200
        return _answering(suite.gateway_rest_port)
    finally:
        for client in clients:
            await client.aclose()


async def _grpc_answerers(suite: Suite) -> set[int]:
    # NOTE: a local subchannel pool per channel, so each channel is a connection of its own.
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(suite.address("gateway"), options=options) for _ in range(CONNECTIONS)]
    try:
        for channel in channels:
            answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        return _answering(suite.gateway_grpc_port)
    finally:
        for channel in channels:
            await channel.close(None)


async def test_the_gateway_answers_rest_and_grpc_on_one_port_from_two_worker_processes(suite: Suite) -> None:
    async def two_workers_answer_rest() -> set[int]:
        answering = await _rest_answerers(suite)
        return answering if len(answering) == 2 else set()

    rest = await eventually(two_workers_answer_rest, within=90, interval=0.5)
    grpc_ = await eventually(lambda: _grpc_answerers(suite), within=30, interval=0.5)
    gateway = _gateway_pids(suite)
    assert rest <= gateway and len(gateway) == 2
    assert grpc_ == gateway
    listening = {
        inode for local, _, state, inode in _tcp_sockets() if local == suite.gateway_grpc_port and state == LISTEN
    }
    assert set(_owners(listening).values()) == gateway  # one listening socket per worker, on the same port


CHECK_ACCESS = "/azotte.gateway.v1.GatewayService/CheckAccess"


async def _access_checks_counted(suite: Suite) -> float:
    """The gateway's CheckAccess calls, whatever their outcome, as its metrics port reports them."""
    async with httpx.AsyncClient() as http:
        scraped = (await http.get(f"http://127.0.0.1:{suite.gateway_metrics_port}/metrics", timeout=5)).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in scraped.splitlines()
        if line.startswith("azotte_rpc_duration_seconds_count{") and 'method="CheckAccess"' in line
    )


async def _unauthenticated_access_checks(suite: Suite) -> set[int]:
    """One CheckAccess without a key on each of CONNECTIONS connections; the processes that answered them."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(suite.address("gateway"), options=options) for _ in range(CONNECTIONS)]
    try:
        for channel in channels:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await channel.unary_unary(CHECK_ACCESS, None, None)(b"", timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        return _answering(suite.gateway_grpc_port)
    finally:
        for channel in channels:
            await channel.close(None)


async def test_the_metrics_port_counts_the_calls_every_worker_answered(suite: Suite) -> None:
    async def counted_over_both_workers() -> float | None:
        before = await _access_checks_counted(suite)
        answering = await _unauthenticated_access_checks(suite)
        counted = await _access_checks_counted(suite) - before
        return counted if answering == _gateway_pids(suite) else None

    assert await eventually(counted_over_both_workers, within=60, interval=0.5) == CONNECTIONS


async def test_peers_reach_every_replica_and_calls_go_on_when_one_is_killed(suite: Suite) -> None:
    key = (suite.root / "sandbox-admin.key").read_text().strip()
    base_url = f"http://127.0.0.1:{suite.gateway_rest_port}"
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as http:

        async def check_a_new_customer() -> None:
            external = uuid.uuid4().hex[:10]
            body = {"request_id": uuid.uuid4().hex, "external_id": external, "country_code": "US"}
            created = await http.post("/v1/customers", json=body)
            assert created.status_code == 200, created.text
            customer = created.json()["customer"]["id"]
            checked = await http.get(f"/v1/customers/{customer}/access/hd_streaming")
            assert checked.status_code == 200, checked.text
            assert not checked.json()["decision"].get("allowed")

        for _ in range(4):
            await check_a_new_customer()
        gateway = _gateway_pids(suite)
        for service in ("entitlement", "lifecycle"):
            ports = set(suite.replica_ports[service])
            assert len(ports) == 2
            # round robin: a gateway process that called the service holds a connection to each replica
            outbound = {
                inode: remote for _, remote, state, inode in _tcp_sockets() if remote in ports and state == ESTABLISHED
            }
            reached = {outbound[inode] for inode, pid in _owners(set(outbound)).items() if pid in gateway}
            assert reached == ports, service

        suite.kill_service("entitlement-2")
        suite.kill_service("lifecycle")
        try:
            for _ in range(10):  # every call answered, by the replicas left
                await check_a_new_customer()
        finally:
            await suite.start_service("entitlement-2")
            await suite.start_service("lifecycle")
        await check_a_new_customer()
