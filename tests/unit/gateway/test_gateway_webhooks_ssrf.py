"""Where webhooks may go: public addresses only (loopback for sandbox tenants), https for live tenants."""

from __future__ import annotations

import pytest

from azotte_gateway.adapters.webhook_sender import DnsResolver, HttpWebhookSender
from azotte_gateway.domain.webhooks import address_problem, parse_target, target_problem
from azotte_gateway.errors import WebhookUrlRefused

REFUSED_EVERYWHERE = [
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "0.0.0.0",
    "100.64.0.1",  # carrier-grade NAT
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
]
LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"]


@pytest.mark.parametrize("address", REFUSED_EVERYWHERE)
def test_private_link_local_multicast_reserved_and_unspecified_addresses_are_refused(address: str) -> None:
    assert address_problem(address, sandbox=False) is not None
    assert address_problem(address, sandbox=True) is not None


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_is_only_for_sandbox_tenants(address: str) -> None:
    assert address_problem(address, sandbox=True) is None
    problem = address_problem(address, sandbox=False)
    assert problem is not None and "loopback" in problem


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_problem(address, sandbox=False) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("017700000001", "127.0.0.1"), ("127.1", "127.0.0.1")],
)
async def test_decimal_hex_and_short_forms_of_an_address_resolve_to_what_they_name(host: str, expected: str) -> None:
    resolved = await DnsResolver().resolve(host, 80)
    assert resolved == [expected]
    target = parse_target(f"https://{host}/hook", sandbox=False, field_name="url")
    problem = target_problem(target, resolved, sandbox=False)
    assert problem is not None and "loopback" in problem


async def test_a_bracketed_ipv6_loopback_url_is_refused_for_a_live_tenant() -> None:
    target = parse_target("https://[::1]:8443/hook", sandbox=False, field_name="url")
    assert (target.host, target.port) == ("::1", 8443)
    problem = target_problem(target, await DnsResolver().resolve(target.host, target.port), sandbox=False)
    assert problem is not None and "loopback" in problem


def test_a_name_with_any_refused_address_is_refused() -> None:
    target = parse_target("https://mixed.example/hook", sandbox=False, field_name="url")
    assert target_problem(target, ["93.184.215.14", "10.0.0.1"], sandbox=False) is not None
    assert target_problem(target, [], sandbox=False) == "mixed.example does not resolve"


@pytest.mark.parametrize(
    ("url", "sandbox", "why"),
    [
        ("http://hooks.example.com/x", False, "https"),
        ("ftp://hooks.example.com/x", True, "http or https"),
        ("https:///x", False, "host"),
        ("https://user:pw@hooks.example.com/x", False, "credentials"),
        ("https://hooks.example.com/x#frag", False, "fragment"),
        ("https://hooks.example.com:99999/x", False, "valid URL"),
        ("https://hooks.example.com/" + "a" * 2100, False, "2048"),
    ],
)
def test_malformed_or_plain_http_live_urls_are_refused_naming_the_field(url: str, sandbox: bool, why: str) -> None:
    with pytest.raises(WebhookUrlRefused) as refused:
        parse_target(url, sandbox=sandbox, field_name="endpoint.url")
    assert refused.value.violations[0].field == "endpoint.url"
    assert why in refused.value.violations[0].description


def test_sandbox_tenants_may_use_http() -> None:
    target = parse_target("http://localhost:8080/hook", sandbox=True, field_name="url")
    assert (target.scheme, target.host, target.port) == ("http", "localhost", 8080)


async def test_the_sender_refuses_a_private_target_without_connecting() -> None:
    sender = HttpWebhookSender()
    try:
        result = await sender.send("http://169.254.169.254/latest/meta-data", sandbox=True, headers={}, body=b"{}")
    finally:
        await sender.close()
    assert result.status_code == 0
    assert "link-local" in result.error
