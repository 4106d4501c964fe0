"""Two metering processes share the NATS ingest log, each consuming its own partitions of the customers.

Real `azotte-metering` processes (replicas 0/2 and 1/2 of 4 partitions) on the real PostgreSQL and NATS.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import nats
import pytest

from azotte.metering.v1 import metering_pb2 as pb
from azotte.metering.v1 import metering_pb2_grpc
from azotte_metering.domain.ingest_partitions import partition_of
from azotte_metering.entrypoints.ingest_consumer import INGEST_STREAM, INGEST_SUBJECTS, durable_name, ingest_messages
from azotte_platform.convert import timestamp
from azotte_platform.events.nats_connection import ensure_stream
from azotte_stack.processes import free_port, spawn, stop
from azotte_stack.readiness import wait_serving
from tests.conftest import Servers
from tests.helpers import eventually
from tests.integration.metering.metering_support import cloud_event, rid

PARTITIONS = 4
CUSTOMERS = [f"cus-{i}" for i in range(24)]


class Replicas:
    """Starts `azotte-metering` processes on one database and NATS, and stops them all at the end."""

    def __init__(self, servers: Servers, nats_url: str, logs: Path):
        self._env = {
            "AZOTTE_DATABASE_URL": servers.new_database_url("metering"),
            "AZOTTE_NATS_URL": nats_url,
            "AZOTTE_INGEST_PARTITIONS": str(PARTITIONS),
        }
        self._logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    async def start(self, replica: str) -> str:
        """Start replica `i/n`; its gRPC address once it serves."""
        port = free_port()
        log_file = self._logs / f"metering-{replica.replace('/', '-of-')}.log"
        process = spawn(
            [str(Path(sys.executable).parent / "azotte-metering")],
            log_file=log_file,
            env={**self._env, "AZOTTE_GRPC_PORT": str(port), "AZOTTE_METERING_REPLICA": replica},
        )
        self.processes.append(process)
        address = f"127.0.0.1:{port}"
        await wait_serving(address, timeout=60, what=f"metering {replica}", process=process, log_file=log_file)
        return address

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


@pytest.fixture
def replicas(servers: Servers, quiet_nats_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    started = Replicas(servers, quiet_nats_url, Path(tmp_path_factory.mktemp("metering-replicas")))
    try:
        yield started
    finally:
        started.stop()


async def test_two_replicas_each_take_their_partitions_and_totals_are_exact(
    replicas: Replicas, quiet_nats_url: str
) -> None:
    tenant = f"acme-{uuid.uuid4().hex[:8]}"
    metadata = (("x-azotte-tenant", tenant),)
    first = await replicas.start("0/2")
    channel = grpc.aio.insecure_channel(first)
    stub = metering_pb2_grpc.MeteringServiceStub(channel)
    connection = await nats.connect(quiet_nats_url)
    js = connection.jetstream()
    try:
        meter = pb.Meter(
            key="tokens",
            display_name="Tokens",
            event_type="ai.tokens",
            value_path="tokens",
            aggregation=pb.AGGREGATION_SUM,
        )
        await stub.CreateMeter(pb.CreateMeterRequest(request_id=rid(), meter=meter), metadata=metadata)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        start, end = now - timedelta(days=1), now + timedelta(days=1)
        # NOTE: customer i sends i + 1 events of 10 tokens; every message is published twice (a producer's retry).
        events = [
            cloud_event(f"{customer}-{n}", customer, now, {"tokens": 10})
            for number, customer in enumerate(CUSTOMERS)
            for n in range(number + 1)
        ]
        await ensure_stream(js, INGEST_STREAM, [INGEST_SUBJECTS])
        for subject, message in ingest_messages(tenant, events, PARTITIONS) * 2:
            await js.publish(subject, message)

        async def totals() -> dict[str, str]:
            found = {}
            for customer in CUSTOMERS:
                answer = await stub.GetUsage(
                    pb.GetUsageRequest(
                        customer_id=customer, meter_key="tokens", start_time=timestamp(start), end_time=timestamp(end)
                    ),
                    metadata=metadata,
                )
                found[customer] = answer.values[0].value if answer.values else "0"
            return found

        def expected(owned: set[int]) -> dict[str, str]:
            return {
                customer: str(10 * (number + 1)) if partition_of(customer, PARTITIONS) in owned else "0"
                for number, customer in enumerate(CUSTOMERS)
            }

        async def counted(owned: set[int]) -> bool:
            assert await totals() == expected(owned)
            return True

        await eventually(lambda: counted({0, 2}), within=30)
        drained = await js.consumer_info(INGEST_STREAM, durable_name(0))
        assert drained.num_pending == 0

        await replicas.start("1/2")
        await eventually(lambda: counted({0, 1, 2, 3}), within=30)

        for partition in range(PARTITIONS):
            info = await js.consumer_info(INGEST_STREAM, durable_name(partition))
            assert (info.num_pending, info.num_ack_pending) == (0, 0)
            assert info.delivered.stream_seq > 0
        assert {partition_of(customer, PARTITIONS) for customer in CUSTOMERS} == {0, 1, 2, 3}
    finally:
        await connection.close()
        await channel.close(None)
