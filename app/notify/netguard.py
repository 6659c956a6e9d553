"""SSRF guard for outbound webhook targets.

`check_target` refuses non-http(s) URLs, URLs without a host, hosts that do not
resolve, and hosts resolving to any loopback / private / link-local / multicast /
reserved / unspecified / otherwise non-global address (IPv4 and IPv6, looking
inside IPv4-mapped, 6to4 and NAT64 addresses), unless `allow_private`.

Limitation: the HTTP client resolves the name again when it connects, so a
DNS-rebinding host can still slip through between check and connect. Re-check
on every send (WebhookSender does) to keep the window small.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

Resolver = Callable[..., list[tuple[Any, ...]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeTarget(ValueError):
    """A webhook URL we refuse to send to; str() says why."""


class UnresolvableTarget(UnsafeTarget):
    """The host did not resolve (may be transient DNS trouble)."""


def _embedded_v4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def unsafe_reason(addr: IPAddress) -> str | None:
    """Why this address is not a public unicast one, or None if it is."""
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_v4(addr)
        if inner is not None:
            reason = unsafe_reason(inner)
            return f"embeds {inner} which is {reason}" if reason else None
    checks = (
        ("unspecified", addr.is_unspecified),
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("private", addr.is_private),
        ("reserved", addr.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return name
    if not addr.is_global:
        return "not globally routable"
    return None


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    literal = _parse_ip(host)
    if literal is not None:
        return [literal]
    try:
        infos = resolver(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnresolvableTarget(f"host {host!r} does not resolve: {exc}") from exc
    addrs: list[IPAddress] = []
    for info in infos:
        sockaddr = info[4]
        addr = _parse_ip(str(sockaddr[0]))
        if addr is None:
            raise UnsafeTarget(f"host {host!r} resolved to an unparseable address")
        addrs.append(addr)
    if not addrs:
        raise UnresolvableTarget(f"host {host!r} resolved to no addresses")
    return addrs


def check_target(url: str, *, allow_private: bool, resolver: Resolver = socket.getaddrinfo) -> None:
    """Raise UnsafeTarget unless `url` is an http(s) URL whose host is safe to call."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeTarget(f"scheme {scheme or '(none)'!r} is not http or https")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("URL has no host")
    addrs = _resolve(host, port or (443 if scheme == "https" else 80), resolver)
    if allow_private:
        return
    for addr in addrs:
        reason = unsafe_reason(addr)
        if reason is not None:
            raise UnsafeTarget(f"host {host!r} resolves to {addr}, which is {reason}")
