"""The OpenAPI schema lists the errors each operation really gives, derived once for all routes
instead of written on each: 401 where sign-in applies, 403 where guards can refuse (roles, API
key scopes, allowlists, two-factor, the sandbox's cross-site rule), 404 where a path names a
thing, 422 where a body is checked by the domain, 409 on the conversation actions that can
collide, 429 on sign-in. Litestar documents 400 (validation) itself.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

from backend.core.errors import ErrorBody

_CONFLICTS = re.compile(
    r"^/api/v1/conversations/\{[^}]+\}/(claim|release|transfer|resolve|reopen|messages|snooze)$"
)
_REASONS = {
    400: "malformed: not what this operation reads at all",
    401: "not signed in, a bad or expired token, or a bad webhook signature",
    403: "not allowed: role, API key scope, address allowlist or two-factor setup",
    404: "no such thing, or not visible to the caller",
    409: "in conflict with the conversation's state (held by someone else, a reused key)",
    422: "refused by a rule of the domain (the detail says which)",
    429: "too many attempts: try again after Retry-After",
    503: "storage is unavailable: try again (Retry-After)",
}


def _spec(status: int) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=_REASONS[status])


def document_errors(app: Litestar) -> None:
    exclude = [re.compile(p) for p in app.state.jwt_auth.exclude]
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not isinstance(handler, HTTPRouteHandler):
                continue
            path = route.path
            methods = set(handler.http_methods)
            codes: set[int] = set()
            public = handler.opt.get("exclude_from_auth") or any(p.search(path) for p in exclude)
            if not public:
                codes |= {401, 403}
            elif path.startswith(("/webhooks/", "/sandbox/")):
                codes |= {401, 403} if path.startswith("/webhooks/") else {403}
            if "{" in path:
                codes.add(404)
            if (
                methods & {"POST", "PUT", "PATCH"}
                and "data" in handler.parsed_fn_signature.parameters
            ):
                codes.add(422)
            if _CONFLICTS.match(path) and "POST" in methods:
                codes.add(409)
            if path.startswith("/webhooks/") and "POST" in methods:
                codes |= {400, 503}  # not a webhook at all; storage down, so that Meta retries
            if path == "/api/v1/auth/login":
                codes |= {401, 429}
            existing: dict[int, Any] = dict(handler.responses or {})
            handler.responses = {**{c: _spec(c) for c in sorted(codes)}, **existing}
