"""`make up` options: replicas per service from the environment, and what each replica's process is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from azotte_stack import cli
from azotte_stack.suite import SERVICES, ExternalServers, Suite, replica_name


def test_replicas_come_from_azotte_replicas_and_per_service_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for service in SERVICES:
        monkeypatch.delenv(f"AZOTTE_REPLICAS_{service.upper()}", raising=False)
    monkeypatch.delenv("AZOTTE_REPLICAS", raising=False)
    assert set(cli._replicas().values()) == {1}
    monkeypatch.setenv("AZOTTE_REPLICAS", "2")
    monkeypatch.setenv("AZOTTE_REPLICAS_ENTITLEMENT", "3")
    assert cli._replicas() == {**dict.fromkeys(SERVICES, 2), "entitlement": 3}
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv("AZOTTE_REPLICAS_GATEWAY", bad)
        with pytest.raises(SystemExit, match="AZOTTE_REPLICAS_GATEWAY"):
            cli._replicas()


def test_each_replica_gets_its_own_port_and_peers_get_every_replica(tmp_path: Path) -> None:
    suite = Suite(
        root=tmp_path,
        gateway_grpc_port=5000,
        gateway_rest_port=8000,
        external=ExternalServers("postgresql+asyncpg://pg", "nats://nats"),
        replicas={"entitlement": 2, "gateway": 2},
        gateway_workers=3,
    )
    suite.replica_ports = {service: [6000 + i * 10, 6001 + i * 10] for i, service in enumerate(SERVICES)}
    suite.replica_ports["catalog"] = [7000]
    suite.replica_ports["gateway"] = [5000, 5001]
    suite.ports = {service: ports[0] for service, ports in suite.replica_ports.items()}
    suite.gateway_rest_ports = [8000, 8001]

    second = suite.service_env("entitlement", 1)
    assert second["AZOTTE_GRPC_PORT"] == str(suite.replica_ports["entitlement"][1])
    assert second["AZOTTE_CATALOG_ADDR"] == "127.0.0.1:7000"  # one replica: a plain address
    lifecycle = suite.replica_ports["lifecycle"]
    assert second["AZOTTE_LIFECYCLE_ADDR"] == f"ipv4:127.0.0.1:{lifecycle[0]},127.0.0.1:{lifecycle[1]}"
    gateway = suite.service_env("gateway", 1)
    assert (gateway["AZOTTE_GRPC_PORT"], gateway["AZOTTE_REST_PORT"], gateway["AZOTTE_GATEWAY_WORKERS"]) == (
        "5001",
        "8001",
        "3",
    )
    assert suite.address("gateway") == "127.0.0.1:5000"  # the first replica, as before
    assert [replica_name("entitlement", i) for i in range(2)] == ["entitlement", "entitlement-2"]
    assert "entitlement-2" in suite.service_processes() and "catalog-2" not in suite.service_processes()
