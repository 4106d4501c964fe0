"""Unit tests of the shared platform mechanics that need no server."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from azotte.common.v1 import money_pb2
from azotte_platform import errors
from azotte_platform.context import RequestContext, as_metadata
from azotte_platform.events.envelope import ReceivedEvent, binary_headers, subject_for, validate_tenant_id
from azotte_platform.grpc.status import status_code, to_rich_status
from azotte_platform.idempotency import fingerprint
from azotte_platform.paging import decode_page_token, encode_page_token, page_size, paginate
from azotte_platform.request_ids import MAX_REQUEST_ID_LENGTH, derive_request_id, require_request_id
from azotte_platform.settings import ServiceSettings


def test_page_size_defaults_caps_and_rejects_negative() -> None:
    assert page_size(0) == 50
    assert page_size(10_000) == 500
    with pytest.raises(errors.InvalidArgument) as raised:
        page_size(-1)
    assert raised.value.violations[0].field == "page_size"


def test_page_token_round_trips_and_is_bound_to_its_query() -> None:
    token = encode_page_token(["2026-01-01", "sub_9"], query=["cust_1"])
    assert decode_page_token(token, query=["cust_1"]) == ["2026-01-01", "sub_9"]
    with pytest.raises(errors.InvalidArgument, match="different query"):
        decode_page_token(token, query=["cust_2"])
    with pytest.raises(errors.InvalidArgument, match="page_token"):
        decode_page_token("garbage!!", query=["cust_1"])
    assert decode_page_token("", query=[]) is None


def test_paginate_issues_a_token_only_when_more_rows_exist() -> None:
    rows = [{"id": i} for i in range(4)]
    page = paginate(rows, 3, key_of=lambda r: [r["id"]])
    assert [r["id"] for r in page.items] == [0, 1, 2]
    assert decode_page_token(page.next_page_token) == [2]
    assert paginate(rows[:3], 3, key_of=lambda r: [r["id"]]).next_page_token == ""


class NegativeAmount(errors.InvalidArgument):
    """A test reason."""

    reason = "NEGATIVE_AMOUNT"


def test_invalid_argument_maps_to_status_with_reason_and_field_violations() -> None:
    error = NegativeAmount.field("amount_minor", "must not be negative")
    code, message, trailers = to_rich_status(error)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "amount_minor" in message
    status = status_pb2.Status.FromString(trailers[0][1])
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    status.details[0].Unpack(info)
    status.details[1].Unpack(bad)
    assert info.reason == "NEGATIVE_AMOUNT"
    assert bad.field_violations[0].field == "amount_minor"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.NotFound("x"), grpc.StatusCode.NOT_FOUND),
        (errors.FailedPrecondition("x"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.Aborted("x"), grpc.StatusCode.ABORTED),
        (errors.AlreadyExists("x"), grpc.StatusCode.ALREADY_EXISTS),
        (errors.ResourceExhausted("x"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.Unavailable("x"), grpc.StatusCode.UNAVAILABLE),
        (errors.PermissionDenied("x"), grpc.StatusCode.PERMISSION_DENIED),
    ],
)
def test_each_typed_error_has_its_grpc_code(error: errors.AzotteError, code: grpc.StatusCode) -> None:
    assert status_code(error) == code


def test_fingerprint_ignores_request_id_but_not_content() -> None:
    from azotte.common.v1 import sandbox_pb2

    a = sandbox_pb2.ClockAdvanced(offset_seconds=5)
    b = sandbox_pb2.ClockAdvanced(offset_seconds=6)
    assert fingerprint(a) == fingerprint(sandbox_pb2.ClockAdvanced(offset_seconds=5))
    assert fingerprint(a) != fingerprint(b)
    with pytest.raises(errors.InvalidArgument, match="request_id"):
        require_request_id("")


def test_derived_request_ids_are_stable_distinct_and_never_too_long() -> None:
    assert derive_request_id("cancel", "r1", "ch_1") == "cancel:r1:ch_1"
    long_id = "r" * MAX_REQUEST_ID_LENGTH
    first, second = derive_request_id("cancel", long_id, "ch_1"), derive_request_id("cancel", long_id, "ch_2")
    assert first != second and len(first) == len(second) == MAX_REQUEST_ID_LENGTH
    assert derive_request_id("cancel", long_id, "ch_1") == first
    require_request_id(first)


def test_cloudevent_headers_round_trip() -> None:
    from datetime import UTC, datetime

    when = datetime(2026, 3, 1, 12, tzinfo=UTC)
    headers = binary_headers(
        event_id="e1",
        event_type="subscription.renewed",
        source="azotte/lifecycle",
        tenant_id="acme",
        time=when,
        data_schema="azotte.common.v1.Money",
    )
    data = money_pb2.Money(currency_code="EUR", amount_minor=999).SerializeToString()
    subject = subject_for("lifecycle", "acme", "subscription.renewed")
    event = ReceivedEvent.from_headers(subject, headers, data)
    assert subject == "azotte.acme.lifecycle.subscription.renewed"
    assert headers["Nats-Msg-Id"] == "e1"
    assert (event.tenant_id, event.type, event.time) == ("acme", "subscription.renewed", when)
    assert event.payload(money_pb2.Money).amount_minor == 999


def test_tenant_ids_must_be_subject_safe() -> None:
    assert validate_tenant_id("acme-tv_1") == "acme-tv_1"
    for bad in ("", "Acme", "a.b", "a b", "x" * 64):
        with pytest.raises(errors.InvalidArgument):
            validate_tenant_id(bad)


def test_context_travels_as_metadata_without_empty_values() -> None:
    assert as_metadata(RequestContext(tenant_id="acme", request_id="r1")) == (
        ("x-azotte-tenant", "acme"),
        ("x-request-id", "r1"),
    )


def test_settings_come_from_azotte_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZOTTE_GRPC_PORT", "6000")
    monkeypatch.setenv("AZOTTE_CATALOG_ADDR", "catalog:50051")
    settings = ServiceSettings()
    assert (settings.grpc_port, settings.catalog_addr) == (6000, "catalog:50051")
