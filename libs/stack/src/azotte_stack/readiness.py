"""Waiting for a started server: a port that accepts connections, a gRPC server reporting SERVING."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from azotte_stack.processes import wait_until


def _check_alive(what: str, process: subprocess.Popen[bytes] | None, log_file: Path | None) -> None:
    if process is not None and process.poll() is not None:
        tail = log_file.read_text()[-3000:] if log_file is not None and log_file.exists() else ""
        raise RuntimeError(f"{what} exited with {process.returncode}:\n{tail}")


async def wait_listening(
    port: int,
    *,
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log_file: Path | None = None,
) -> None:
    """Until something accepts TCP connections on 127.0.0.1:`port` (fails early if `process` exits)."""

    async def listening() -> bool:
        _check_alive(what, process, log_file)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await wait_until(listening, timeout=timeout, what=what)


async def wait_serving(
    address: str,
    *,
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log_file: Path | None = None,
) -> None:
    """Until the gRPC server at `address` reports SERVING on the standard health service."""
    # NOTE: a server that starts slowly must be seen soon after it listens, not after gRPC's growing reconnect backoff.
    options = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 1000)]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)

        async def serving() -> bool:
            _check_alive(what, process, log_file)
            try:
                answer = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.aio.AioRpcError:
                return False
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

        await wait_until(serving, timeout=timeout, what=what)
