"""Who may reach what, by address: `WEBHOOK_ALLOWED_CIDRS` for `/webhooks/*` (Meta's and
Ultramsg's senders) and `ADMIN_ALLOWED_CIDRS` for admins (their sign-in and every request they
make). Empty lists allow every address.

The address is the client as uvicorn reports it: `X-Forwarded-For` counts only when the
connection comes from one of `TRUSTED_PROXIES` (uvicorn's `forwarded_allow_ips`), so a client
cannot claim an allowed address by sending the header itself.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backend.config import Settings


@lru_cache(maxsize=64)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(c, strict=False) for c in cidrs)


def allowed(cidrs: list[str], address: str | None) -> bool:
    if not cidrs:
        return True
    try:
        ip = ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(cidrs)))


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.client.host if connection.client else None


def admin_allowed(settings: Settings, address: str | None) -> bool:
    return allowed(settings.admin_allowed_cidrs, address)


async def allowlist_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    settings: Settings = connection.app.state.settings
    address = client_address(connection)
    if connection.url.path.startswith("/webhooks/") and not allowed(
        settings.webhook_allowed_cidrs, address
    ):
        raise PermissionDeniedException("webhooks are not accepted from this address")
    user = connection.scope.get("user")
    role = getattr(user, "role", None)
    if role == "admin" and not admin_allowed(settings, address):
        raise PermissionDeniedException("admins may work only from ADMIN_ALLOWED_CIDRS")
