"""The `azotte-gateway` command: chooses where metrics live before anything measures, then runs the gateway.

Prometheus' client decides when it is first imported whether a process keeps its values in memory or in
files that processes share (`PROMETHEUS_MULTIPROC_DIR`). With several worker processes
(`AZOTTE_GATEWAY_WORKERS` > 1) and metrics on (`AZOTTE_METRICS_PORT`), every worker writes to one fresh
directory, so the metrics port — bound by one worker — serves what all of them measured
(`azotte_platform.telemetry.serve_metrics`). The directory is removed when the first process ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def _shares_metrics() -> bool:
    workers = int(os.environ.get("AZOTTE_GATEWAY_WORKERS", "1") or 1)
    port = int(os.environ.get("AZOTTE_METRICS_PORT", "0") or 0)
    return workers > 1 and port > 0 and MULTIPROCESS_DIR not in os.environ


def run() -> None:
    """Serve the gateway (`azotte-gateway migrate` only migrates)."""
    shared = tempfile.mkdtemp(prefix="azotte-gateway-metrics-") if _shares_metrics() else None
    if shared:
        os.environ[MULTIPROCESS_DIR] = shared
    try:
        from azotte_gateway.entrypoints import main  # imported after the metrics mode is set

        main.run()
    finally:
        if shared:
            shutil.rmtree(shared, ignore_errors=True)
