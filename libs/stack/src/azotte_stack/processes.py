"""Child processes that die with their parent, free ports, and waiting for readiness."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

# Runs in a fresh interpreter between fork and the real program: drop to the service user if asked,
# ask the kernel to SIGTERM us when the parent exits (after the drop, which would clear it), then exec.
# Doing this in `preexec_fn` instead runs Python in a forked copy of a threaded parent, which can abort.
_ORPHAN_GUARD = """
import ctypes, os, signal, sys
parent, uid, gid, argv = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
if uid >= 0:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
if os.getppid() != parent:
    sys.exit(1)
os.execvp(argv[0], argv)
"""


_LOWEST_CHOSEN_PORT = 10_000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_ports() -> range:
    """The ports the kernel gives outgoing connections (and `bind(0)`): Linux's setting, else its default."""
    try:
        low, high = (int(part) for part in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now, below the kernel's ephemeral range when there is room.

    NOTE: a port from the ephemeral range (what `bind(0)` gives) can be taken by any outgoing connection, e.g. a
    service connecting to PostgreSQL, between this call and the server's own bind; ports below it are only ever
    taken by a bind.
    """
    below = range(_LOWEST_CHOSEN_PORT, ephemeral_ports().start)
    for _ in range(100 if len(below) >= 1000 else 0):
        port = random.choice(below)
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def spawn(
    argv: Sequence[str],
    *,
    log_file: Path,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child, as `user` if given, whose output goes to `log_file` and which dies with this process.

    NOTE: the child runs in its own process group, so a terminal's Ctrl-C reaches only this process,
    which then stops its children in order (services before NATS and PostgreSQL).
    """
    uid, gid = (-1, -1)
    if user is not None:
        entry = pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
    guarded = [sys.executable, "-I", "-S", "-c", _ORPHAN_GUARD, str(os.getpid()), str(uid), str(gid), *argv]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        return subprocess.Popen(
            guarded,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            process_group=0,
        )


def signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Send `signum` to the child's process group: the child and the processes it started (e.g. gateway workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def stop(process: subprocess.Popen[bytes], *, grace: float = 10.0, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; with `group`, to the child's whole process group."""
    if process.poll() is not None:
        return
    if group:
        signal_group(process, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        if group:
            signal_group(process, signal.SIGKILL)
        else:
            process.kill()
        process.wait()


async def wait_until(check: Callable[[], Awaitable[bool]], *, timeout: float, what: str) -> None:
    """Poll `check` until it is true; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f}s")
        await asyncio.sleep(0.05)
