"""The embedded PostgreSQL's initdb: one more try from an empty directory when a signal killed it, none otherwise."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from azotte_stack.postgres import EmbeddedPostgres


def _initdb_failing(monkeypatch: pytest.MonkeyPatch, *returncodes: int) -> list[list[str]]:
    """initdb fails with `returncodes` in turn (leaving a file behind), then succeeds."""
    calls: list[list[str]] = []
    failures = list(returncodes)

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append(command)
        data_dir = Path(command[command.index("-D") + 1])
        assert not any(data_dir.iterdir()), "initdb must start from an empty directory"
        if failures:
            (data_dir / "half-written").write_text("")
            raise subprocess.CalledProcessError(failures.pop(0), command)
        (data_dir / "PG_VERSION").write_text("18")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(EmbeddedPostgres, "_user", lambda self: None)
    return calls


async def test_initdb_killed_by_a_signal_runs_once_more_from_an_empty_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _initdb_failing(monkeypatch, -11)
    server = EmbeddedPostgres(tmp_path / "pg")
    server.data_dir.mkdir()
    await server._initdb(None)
    assert len(calls) == 2
    assert sorted(p.name for p in server.data_dir.iterdir()) == ["PG_VERSION"]


@pytest.mark.parametrize("returncodes", [(1,), (-11, -11)])
async def test_initdb_failing_on_its_own_or_twice_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, returncodes: tuple[int, ...]
) -> None:
    calls = _initdb_failing(monkeypatch, *returncodes)
    server = EmbeddedPostgres(tmp_path / "pg")
    server.data_dir.mkdir()
    with pytest.raises(subprocess.CalledProcessError):
        await server._initdb(None)
    assert len(calls) == len(returncodes)
