"""Security headers on every answer: pages, API JSON, files, errors, the sandbox and the docs.

Fixed strings, so no library is needed; what matters is that they are on every response, which
a `before_send` hook guarantees (404s and errors included).

- `Content-Security-Policy`: scripts only from this server (no inline script, no eval), nothing
  may frame us (`frame-ancestors 'none'`), no plugins, forms post only here. Styles allow inline
  `style` attributes (charts and the docs set them); a response that sets its own CSP (media:
  `sandbox`) keeps it.
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (URLs may carry ids),
  `X-Frame-Options: DENY` for old browsers, `Cross-Origin-Opener-Policy: same-origin`.
- `Cache-Control: no-store` on API JSON: conversations must not stay in a shared or disk cache.
- `Strict-Transport-Security` when the request came over https or `PUBLIC_BASE_URL` is https.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
_FIXED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_headers(*, https: bool = False) -> BeforeMessageSendHookHandler:
    """A `before_send` hook: Litestar runs it for every message of every answer, including
    the router's own 404 and 405 (route middleware would miss those)."""

    async def add(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        if "content-security-policy" not in headers:
            headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        for name, value in _FIXED.items():
            if name.lower() not in headers:
                headers[name] = value
        api = scope["path"].startswith("/api/")
        if api and "cache-control" not in headers and "json" in headers.get("content-type", ""):
            headers["Cache-Control"] = "no-store"
        if https or scope.get("scheme") == "https":
            headers["Strict-Transport-Security"] = HSTS

    return add
