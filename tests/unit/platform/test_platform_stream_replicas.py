"""How many JetStream servers keep each stream: `AZOTTE_STREAM_REPLICAS`."""

from __future__ import annotations

import pytest

from azotte_platform.events.nats_connection import stream_replicas


def test_streams_are_kept_by_one_server_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZOTTE_STREAM_REPLICAS", raising=False)
    assert stream_replicas() == 1


def test_a_three_node_cluster_keeps_three_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZOTTE_STREAM_REPLICAS", "3")
    assert stream_replicas() == 3


@pytest.mark.parametrize("raw", ["0", "6", "-1", "three", "", "1.5"])
def test_a_count_jetstream_cannot_keep_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("AZOTTE_STREAM_REPLICAS", raw)
    with pytest.raises(ValueError, match="AZOTTE_STREAM_REPLICAS"):
        stream_replicas()
