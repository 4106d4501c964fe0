"""Worker processes: `AZOTTE_GATEWAY_WORKERS=N` serves the gateway's gRPC and REST ports from N processes.

The first process starts N-1 copies of itself; every one binds the same ports with SO_REUSEPORT (gRPC's
servers do so by default on Linux, `grpc.so_reuseport`), so the kernel spreads incoming connections over
them. Each is a whole gateway: its background work is safe side by side, as with several replicas (durable
consumers share their messages, webhook delivery claims rows with SKIP LOCKED, the revenue stream locks
per tenant and skips events it has). A copy dies with the first process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

WORKER_OF = "AZOTTE_GATEWAY_WORKER_OF"
"""Set in a copy's environment: the id of the process that started it."""
_PR_SET_PDEATHSIG = 1
_COPY = "from azotte_gateway.entrypoints.main import run; run()"


def start_workers(count: int) -> list[subprocess.Popen[bytes]]:
    """In the first process, start `count - 1` copies; in a copy, arrange to die with the first process."""
    parent = os.environ.get(WORKER_OF)
    if parent is not None:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != int(parent):  # the first process ended before the line above
            sys.exit(1)
        return []
    env = {**os.environ, WORKER_OF: str(os.getpid())}
    return [subprocess.Popen([sys.executable, "-c", _COPY], env=env) for _ in range(count - 1)]


def stop_workers(workers: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM every copy and wait for it (SIGKILL after `grace` seconds)."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(grace)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
