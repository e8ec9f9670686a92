"""Where a webhook may go: https to a public address, checked when saved and again at every send.

A name that resolved to a public address when the endpoint was saved can resolve to 127.0.0.1 or
169.254.169.254 tomorrow (DNS rebinding). So each delivery resolves the host itself, checks every
address it got, and connects to the address it checked — the name travels only in the `Host`
header and TLS's SNI — so nothing resolves the name a second time between the check and the
connection. `OUTGOING_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true` (development) lifts the check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(Exception):
    """The URL may not be called; the message says why, for the admin and the attempt record."""


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to `address`, name `host` in Host and SNI."""

    url: str  # the URL with the checked address in place of the name
    host: str
    host_header: str
    address: str


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# DNS is the outside world: tests stand in for it here (a name that changes its answer).
resolver: Callable[[str, int], Awaitable[list[str]]] = _system_resolve


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url(url: str, allow_private: bool) -> None:
    """The URL's own form: https (http only when private networks are allowed), a host, no
    credentials; a literal private address is refused here already."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeTarget("the URL must be an absolute https:// URL")
    if parts.scheme == "http" and not allow_private:
        raise UnsafeTarget(
            "the URL must use https (http is allowed only with "
            "OUTGOING_WEBHOOKS_ALLOW_PRIVATE_NETWORKS)"
        )
    if parts.username or parts.password:
        raise UnsafeTarget("the URL must not carry credentials; verify the signature instead")
    try:
        literal: IPAddress | None = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and not allow_private and not is_public(literal):
        raise UnsafeTarget(f"{literal} is a private, loopback or link-local address")


async def resolve_target(url: str, allow_private: bool) -> Target:
    """Resolves and checks every address of the URL's host; raises UnsafeTarget with the reason."""
    check_url(url, allow_private)
    parts = urlsplit(url)
    host = parts.hostname
    assert host is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in await resolver(host, port)]
    except (OSError, ValueError) as error:
        raise UnsafeTarget(f"the host {host} does not resolve ({error})") from None
    if not addresses:
        raise UnsafeTarget(f"the host {host} does not resolve")
    if not allow_private:
        private = [str(a) for a in addresses if not is_public(a)]
        if private:
            raise UnsafeTarget(
                f"the host {host} resolves to {', '.join(private)}: a private, loopback or "
                "link-local address"
            )
    chosen = addresses[0]
    shown = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    return Target(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host=host, host_header=parts.netloc.rsplit("@", 1)[-1], address=str(chosen),
    )  # fmt: skip
