"""Service process bootstrap: grpc.aio server with health, reflection and interceptors; graceful stop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
import uvloop
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from azotte_platform import logs, telemetry
from azotte_platform.db.migrations import migrate
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.grpc.requests import SERVER_OPTIONS
from azotte_platform.runtime import Runtime, start_runtime
from azotte_platform.settings import ServiceSettings

log = logging.getLogger(__name__)
Build = Callable[[Runtime, grpc.aio.Server], Awaitable[list[str]]]


@dataclass(frozen=True)
class ServiceSpec:
    """How to build one service: its name, migrations and the composition root."""

    name: str
    migrations_dir: Path
    settings_type: type[ServiceSettings]
    build: Build
    grace_seconds: float = 10.0


def run_service(spec: ServiceSpec) -> None:
    """Entry point of a service: `azotte-<name>` serves; `azotte-<name> migrate` only migrates."""
    settings = spec.settings_type()
    logs.configure(spec.name, settings.log_level)
    if sys.argv[1:] == ["migrate"]:
        uvloop.run(migrate(spec.migrations_dir, settings.database_url))
        return
    telemetry.configure_tracing(spec.name)
    telemetry.serve_metrics(settings.grpc_host, settings.metrics_port)
    uvloop.run(serve(spec, settings))


def reflection_pool(service_names: Iterable[str]) -> descriptor_pool.DescriptorPool:
    """The descriptors server reflection may show for a server serving exactly `service_names`.

    The process's default pool holds every proto it imported (a gateway imports the stubs of the
    services it calls), and a served file may import another service's file for its messages. So the
    pool holds only the served services' files and what they import, each without the services this
    server does not serve: the messages a client needs, and no internal service.
    """
    served = set(service_names)
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file: FileDescriptor) -> None:
        if file.name in added:
            return
        added.add(file.name)
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        prefix = f"{proto.package}." if proto.package else ""
        kept = [service for service in proto.service if prefix + service.name in served]
        del proto.service[:]
        proto.service.extend(kept)
        pool.Add(proto)

    default = descriptor_pool.Default()
    for name in served:
        add(default.FindServiceByName(name).file)
    return pool


def enable_reflection(service_names: list[str], server: grpc.aio.Server) -> None:
    """Server reflection that lists and describes exactly the services `server` serves (and itself)."""
    names = [*service_names, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server, pool=reflection_pool(names))


def tune_garbage_collector() -> None:
    """Keep the collector off what start-up allocated, and run it less often for request garbage.

    Start-up objects live as long as the process, so they are frozen. Requests allocate many
    short-lived objects and few cycles, so the youngest generation is collected after 20,000
    allocations rather than 700.
    """
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


async def serve(spec: ServiceSpec, settings: ServiceSettings) -> None:
    """Serve until SIGTERM/SIGINT; report SERVING only once everything is connected."""
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    serving: list[str] = [""]

    async def set_health(status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        for name in serving:
            await health_servicer.set(name, status)

    async def nats_down() -> None:
        await set_health(health_pb2.HealthCheckResponse.NOT_SERVING)

    async def nats_up() -> None:
        await set_health(health_pb2.HealthCheckResponse.SERVING)

    runtime = await start_runtime(
        spec.name, settings, spec.migrations_dir, on_disconnect=nats_down, on_reconnect=nats_up
    )
    interceptors: list[grpc.aio.ServerInterceptor] = [ServiceInterceptor(spec.name)]  # type: ignore[type-arg]
    if telemetry.trace_sample_ratio() > 0:
        # NOTE: only when tracing is on: the interceptor costs a span per call even when nothing is recorded.
        interceptors.insert(0, aio_server_interceptor())  # type: ignore[no-untyped-call]
    # NOTE: gRPC's own limit sits above the interceptor's MAX_REQUEST_BYTES, so an oversized request is
    # answered INVALID_ARGUMENT with a plain message; only one past RECEIVE_LIMIT_BYTES meets gRPC's text.
    server = grpc.aio.server(interceptors=interceptors, options=SERVER_OPTIONS)
    service_names = await spec.build(runtime, server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection([*service_names, health.SERVICE_NAME], server)
    port = server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
    await server.start()
    tune_garbage_collector()
    serving.extend(service_names)
    await set_health(health_pb2.HealthCheckResponse.SERVING)
    log.info("%s serving gRPC on %s:%d", spec.name, settings.grpc_host, port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("%s stopping", spec.name)
    await set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.stop(spec.grace_seconds)
    await runtime.close()
