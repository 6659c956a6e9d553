"""SSRF guard: schemes, hosts and resolved addresses, with an injected resolver."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from app.notify.netguard import UnresolvableTarget, UnsafeTarget, check_target


def resolver_for(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A getaddrinfo stand-in answering from `table`; records what it was asked."""
    asked: list[tuple[Any, ...]] = []

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        asked.append((host, port))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out = []
        for addr in table[host]:
            family = socket.AF_INET6 if ":" in addr else socket.AF_INET
            sockaddr = (addr, port, 0, 0) if family == socket.AF_INET6 else (addr, port)
            out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return out

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


PUBLIC = resolver_for(
    {
        "hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "mixed.example.com": ["93.184.216.34", "10.0.0.7"],
        "internal.example.com": ["192.168.1.10"],
        "v6local.example.com": ["fe80::1%eth0"],
        "mapped.example.com": ["::ffff:127.0.0.1"],
        "empty.example.com": [],
    }
)


def test_public_https_target_passes_and_uses_default_port() -> None:
    check_target("https://hooks.example.com/groundswell", allow_private=False, resolver=PUBLIC)
    assert PUBLIC.asked[-1] == ("hooks.example.com", 443)  # type: ignore[attr-defined]


def test_explicit_port_is_passed_to_resolver() -> None:
    check_target("http://hooks.example.com:8080/x", allow_private=False, resolver=PUBLIC)
    assert PUBLIC.asked[-1] == ("hooks.example.com", 8080)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/x", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://hooks.example.com/", "scheme"),
        ("hooks.example.com/x", "scheme"),
        ("http:///path-only", "no host"),
        ("http://hooks.example.com:99999/", "malformed"),
    ],
)
def test_bad_urls_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTarget, match=reason):
        check_target(url, allow_private=True, resolver=PUBLIC)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fd00::1]/", "private"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://240.0.0.1/", "private|reserved"),
        ("http://100.64.0.1/", "not globally routable"),
        ("http://[::ffff:127.0.0.1]/", "embeds 127.0.0.1 which is loopback"),
        ("http://[::ffff:10.0.0.1]/", "embeds 10.0.0.1 which is private"),
        ("http://[2002:a00:1::]/", "embeds 10.0.0.1"),
        ("http://[64:ff9b::a9fe:a9fe]/", "embeds 169.254.169.254"),
        ("http://internal.example.com/", "192.168.1.10"),
        ("http://mixed.example.com/", "10.0.0.7"),
        ("http://v6local.example.com/", "link-local"),
        ("http://mapped.example.com/", "loopback"),
    ],
)
def test_private_addresses_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTarget, match=reason):
        check_target(url, allow_private=False, resolver=PUBLIC)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/", "http://internal.example.com/", "http://[::1]:9/"]
)
def test_private_addresses_allowed_when_configured(url: str) -> None:
    check_target(url, allow_private=True, resolver=PUBLIC)


def test_public_ipv4_mapped_literal_passes() -> None:
    check_target("https://[::ffff:93.184.216.34]/", allow_private=False, resolver=PUBLIC)


@pytest.mark.parametrize("host", ["nowhere.example.com", "empty.example.com"])
@pytest.mark.parametrize("allow_private", [True, False])
def test_unresolvable_host_refused(host: str, allow_private: bool) -> None:
    with pytest.raises(UnresolvableTarget, match=host):
        check_target(f"https://{host}/", allow_private=allow_private, resolver=PUBLIC)


def test_unsafe_target_is_a_value_error() -> None:
    assert issubclass(UnsafeTarget, ValueError)
    assert issubclass(UnresolvableTarget, UnsafeTarget)
