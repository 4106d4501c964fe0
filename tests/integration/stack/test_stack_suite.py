"""`make up` in miniature: the whole suite starts as separate processes and every service is SERVING."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from azotte_stack.processes import free_port
from azotte_stack.suite import SERVICES, ExternalServers, Suite
from tests.stack import running


@pytest.fixture(scope="module")
async def suite(servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    root = Path(tmp_path_factory.mktemp("suite"))
    suite = Suite(
        root=root,
        gateway_grpc_port=free_port(),
        gateway_rest_port=free_port(),
        external=ExternalServers(servers.postgres_url, servers.nats_url),
    )
    async with running(suite):
        yield suite


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_serves_health_and_reflection(suite: Suite, service: str) -> None:
    async with grpc.aio.insecure_channel(suite.address(service)) as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for answer in reflection.ServerReflectionInfo(iter([request])):
            names = {s.name for s in answer.list_services_response.service}
            break
    assert f"azotte.{service}.v1.{service.capitalize()}Service" in names
    assert "grpc.health.v1.Health" in names


async def test_each_service_runs_as_its_own_process_and_stops_cleanly(suite: Suite) -> None:
    pids = {service: suite.processes[service].pid for service in SERVICES}
    assert len(set(pids.values())) == len(SERVICES)
    assert all(process.poll() is None for process in suite.processes.values())
