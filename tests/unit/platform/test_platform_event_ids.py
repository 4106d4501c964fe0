"""Event ids: random version-4 UUIDs, never repeated, not even by a forked process (the gateway's workers)."""

from __future__ import annotations

import os
import uuid

from azotte.common.v1 import money_pb2
from azotte_platform.events.envelope import Event, new_event_id


def test_event_ids_are_distinct_version_4_uuids() -> None:
    ids = [new_event_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[::997]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    assert uuid.UUID(Event("acme", "amount.added", money_pb2.Money()).id).version == 4


def test_a_forked_process_does_not_repeat_its_parent_s_ids() -> None:
    new_event_id()  # the parent holds random bytes it has not handed out yet
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's code runs in the child
        os.close(reader)
        os.write(writer, " ".join(new_event_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        from_child = set(pipe.read().split())
    os.waitpid(child, 0)
    from_parent = {new_event_id() for _ in range(100)}
    assert len(from_child) == 100
    assert not from_child & from_parent
