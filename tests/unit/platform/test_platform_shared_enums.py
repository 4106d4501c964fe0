"""The shared vocabulary has one source: the common protos, mirrored once in azotte_platform.enums."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte_platform import convert, enums

SERVICES = Path(__file__).resolve().parents[3] / "services"


@pytest.mark.parametrize(
    ("domain", "prefix", "pb_enum"),
    [
        (enums.Channel, "CHANNEL", channel_pb2.Channel),
        (enums.SubscriptionState, "SUBSCRIPTION_STATE", subscription_state_pb2.SubscriptionState),
    ],
)
def test_each_shared_enum_has_one_member_per_proto_value(domain, prefix, pb_enum) -> None:
    proto_names = {name.removeprefix(f"{prefix}_") for name in pb_enum.keys() if not name.endswith("_UNSPECIFIED")}  # noqa: SIM118
    assert {member.name for member in domain} == proto_names
    for member in domain:
        assert convert.enum_from_pb(domain, prefix, convert.enum_to_pb(prefix, member, pb_enum), pb_enum, "f") is member


def test_no_service_declares_its_own_copy_of_a_shared_enum() -> None:
    shared = {"Channel", "SubscriptionState"}
    copies = [
        f"{path.relative_to(SERVICES)}:{node.lineno} {node.name}"
        for path in SERVICES.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name in shared
    ]
    assert copies == []
