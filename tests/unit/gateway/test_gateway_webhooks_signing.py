"""Standard Webhooks signatures: the spec's test vector, secrets, rotation, stable message ids."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from azotte_gateway.domain.webhooks import (
    ROTATION_OVERLAP,
    WebhookEndpoint,
    message_id,
    new_secret,
    secret_key,
    sign,
    signature_header,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_specifications_test_vector_is_reproduced() -> None:
    # The vector published with the Standard Webhooks reference libraries.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_changed_byte_anywhere_changes_the_signature() -> None:
    secret = new_secret()
    base = sign(secret, "msg_a", 1700000000, '{"a":1}')
    assert sign(secret, "msg_b", 1700000000, '{"a":1}') != base
    assert sign(secret, "msg_a", 1700000001, '{"a":1}') != base
    assert sign(secret, "msg_a", 1700000000, '{"a":2}') != base
    assert sign(new_secret(), "msg_a", 1700000000, '{"a":1}') != base


def test_secrets_are_whsec_and_base64_of_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(secret_key(first)) == 32
    assert base64.b64encode(secret_key(first)).decode() == first.removeprefix("whsec_")


def _endpoint(secret: str) -> WebhookEndpoint:
    return WebhookEndpoint(
        tenant_id="acme",
        id="ep_1",
        url="https://hooks.example.com/x",
        description="",
        event_types=(),
        secret=secret,
        sandbox=False,
        create_time=NOW,
        update_time=NOW,
    )


def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends() -> None:
    old = new_secret()
    endpoint = _endpoint(old)
    new = new_secret()
    endpoint.rotate(NOW, new)

    during = endpoint.signing_secrets(NOW + ROTATION_OVERLAP - timedelta(seconds=1))
    assert during == [new, old]
    header = signature_header(during, "msg_1", 1700000000, "{}")
    assert header.split(" ") == [sign(new, "msg_1", 1700000000, "{}"), sign(old, "msg_1", 1700000000, "{}")]

    assert endpoint.signing_secrets(NOW + ROTATION_OVERLAP) == [new]


def test_a_message_id_is_stable_per_endpoint_and_event_and_holds_no_dot() -> None:
    first = message_id("ep_1", "event-1")
    assert first == message_id("ep_1", "event-1")
    assert first != message_id("ep_2", "event-1") != message_id("ep_1", "event-2")
    assert first.startswith("msg_") and "." not in first
