"""Every incoming gRPC request is decodable, in bounds and clean text before a service sees it."""

from __future__ import annotations

import time

import pytest

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_platform.errors import InvalidArgument
from azotte_platform.grpc.requests import MAX_ID_CHARS, MAX_REQUEST_BYTES, Undecodable, check_strings, decoding

decode_check = decoding(gw.CheckAccessRequest.FromString)


def violation(request: object) -> tuple[str, str]:
    with pytest.raises(InvalidArgument) as raised:
        check_strings(request)  # type: ignore[arg-type]
    [only] = raised.value.violations
    return only.field, only.description


def test_a_valid_body_decodes_to_its_message() -> None:
    body = gw.CheckAccessRequest(customer_id="cus_1", feature_key="hd", quantity=2).SerializeToString()
    assert decode_check(body) == gw.CheckAccessRequest(customer_id="cus_1", feature_key="hd", quantity=2)


def test_a_corrupt_body_or_invalid_utf8_is_a_plain_invalid_argument_not_an_exception() -> None:
    bad_utf8 = gw.CheckAccessRequest(customer_id="ab").SerializeToString().replace(b"ab", b"\xff\xfe")
    for body in (b"\x0a\x50abc", bad_utf8, b"\xff\xff\xff\xff"):
        answer = decode_check(body)
        assert isinstance(answer, Undecodable)
        assert "not a valid protobuf message" in answer.error().message
        assert "Error parsing" not in answer.error().message


def test_an_oversized_body_is_refused_before_decoding_with_a_plain_message() -> None:
    answer = decode_check(b"\x00" * (MAX_REQUEST_BYTES + 1))
    assert isinstance(answer, Undecodable)
    assert (
        answer.error().message
        == f"the request is {MAX_REQUEST_BYTES + 1} bytes; the limit is {MAX_REQUEST_BYTES} bytes"
    )


def test_a_nul_character_names_its_field_at_any_depth() -> None:
    assert violation(gw.CheckAccessRequest(customer_id="cus_\x00abc")) == (
        "customer_id",
        "must not contain a NUL character",
    )
    assert violation(gw.BatchCheckAccessRequest(customer_id="c", feature_keys=["hd", "4\x00k"]))[0] == "feature_keys[1]"
    refund = gw.RefundChargeRequest(request_id="r", charge_id="ch")
    refund.amount.currency_code = "US\x00"
    assert violation(refund)[0] == "amount.currency_code"


def test_a_nul_in_a_map_key_is_refused() -> None:
    policy = lc.LifecyclePolicy()
    policy.plan_overrides["plan\x00x"].SetInParent()
    assert violation(policy) == ("plan_overrides key", "must not contain a NUL character")


def test_an_id_past_its_limit_is_refused_and_ordinary_text_passes() -> None:
    assert violation(gw.CreateCustomerRequest(request_id="r", external_id="x" * 1_000_000)) == (
        "external_id",
        f"must be at most {MAX_ID_CHARS} characters",
    )
    check_strings(gw.CreateCustomerRequest(request_id="r", external_id="ext-1", email="zoë@example.com"))
    check_strings(gw.ApplyCatalogRequest(request_id="r", document="plans: []\n" * 100_000))


def test_checking_an_access_request_costs_microseconds() -> None:
    request = gw.CheckAccessRequest(customer_id="cus_0123456789", feature_key="hd_streaming", quantity=1)
    body = request.SerializeToString()
    rounds = 20_000
    started = time.perf_counter()
    for _ in range(rounds):
        check_strings(decode_check(body))
    per_call = (time.perf_counter() - started) / rounds
    assert per_call < 20e-6, f"{per_call * 1e6:.1f} µs per request"
