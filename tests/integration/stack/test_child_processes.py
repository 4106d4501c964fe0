"""Servers the stack starts never outlive it, even when it is killed outright."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from azotte_stack.processes import spawn

LAUNCHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from azotte_stack.processes import spawn
    child = spawn([sys.executable, "-c", "import time; time.sleep(60)"], log_file=Path(sys.argv[1]))
    print(child.pid, flush=True)
    time.sleep(60)
    """
)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] not in ("Z", "X")


def test_a_child_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(tmp_path / "child.log")], stdout=subprocess.PIPE)
    assert launcher.stdout is not None
    child = int(launcher.stdout.readline())
    assert _alive(child)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_child_runs_the_program_it_was_given_with_its_environment(tmp_path: Path) -> None:
    log = tmp_path / "echo.log"
    program = [sys.executable, "-c", "import os; print(os.environ['GREETING'])"]
    child = spawn(program, log_file=log, env={"GREETING": "hi"})
    assert child.wait(10) == 0
    assert log.read_text().strip() == "hi"
