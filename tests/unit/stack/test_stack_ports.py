"""Ports chosen for the suite's servers stay out of the range outgoing connections draw from."""

from __future__ import annotations

import random
import socket

import pytest

from azotte_stack.processes import ephemeral_ports, free_port


def test_a_free_port_lies_below_the_ephemeral_range_and_a_server_can_listen_on_it() -> None:
    ephemeral = ephemeral_ports()
    ports = [free_port() for _ in range(50)]
    assert all(port < ephemeral.start for port in ports)  # an outgoing connection never takes these
    with socket.socket() as server:
        server.bind(("127.0.0.1", ports[0]))
        server.listen()


def test_a_port_a_server_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", free_port()))
        server.listen()
        taken = server.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))  # NOTE: a port to offer after the taken one, surely bindable once closed
            other = probe.getsockname()[1]
        offered = iter([taken, other])
        monkeypatch.setattr(random, "choice", lambda _: next(offered))
        assert free_port() == other
