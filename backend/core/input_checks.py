"""Input no route should ever see, refused once for every route instead of in each of them.

A NUL character in a path made the static files' lookup fail (`/index.html%00.js`).

Python integers have no limit, but every integer we keep is a 64-bit column (SQLite and
PostgreSQL alike), and a number beyond that used to surface as a driver error deep in a query: a
500, on about twenty operations. This app-wide guard runs after routing and before the handler,
so it knows which path and query parameters are declared `int`, and refuses an out-of-range one —
or any JSON body integer beyond 64 bits — with a 400 that names it. Routes that read their body
item by item (the Cloud API webhook: one odd message must not cost its neighbours) opt out with
`opt={"own_body_checks": True}` and cope on their own.
"""

from __future__ import annotations

import json
from typing import Any

from litestar.connection import ASGIConnection, Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.handlers.base import BaseRouteHandler
from litestar.typing import FieldDefinition

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
_NOT_JSON = ("multipart/", "application/x-www-form-urlencoded", "image/", "audio/", "video/")
_MAX_BODY_WALK = 2_000_000  # bytes; larger JSON bodies are refused by their routes' size limits


def out_of_range(value: int) -> bool:
    return not INT64_MIN <= value <= INT64_MAX


def _too_big(where: str) -> ClientException:
    return ClientException(
        f"{where} is out of range: integers here are 64-bit (at most {INT64_MAX})",
        status_code=400,
    )


def _declares_int(field: FieldDefinition) -> bool:
    candidates = [field, *(field.inner_types or ())]
    return any(
        c.is_subclass_of(int) and not c.is_subclass_of(bool) for c in candidates
    )  # fmt: skip


def _int_query_names(handler: BaseRouteHandler) -> list[str]:
    names: list[str] = []
    for name, field in handler.parsed_fn_signature.parameters.items():
        if not _declares_int(field):
            continue
        kwarg = field.kwarg_definition
        names.append(getattr(kwarg, "query", None) or name)
    return names


def _walk(document: Any) -> str | None:
    """The JSON path of the first integer beyond 64 bits, iteratively (bodies may be deep)."""
    stack: list[tuple[str, Any]] = [("body", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and out_of_range(value):
            return path
        if isinstance(value, dict):
            stack.extend((f"{path}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return None


async def integer_range_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Refuses a NUL in the path (file systems cannot name it) and integers beyond 64 bits in the
    path, in int query parameters and in JSON bodies."""
    if "\x00" in connection.scope["path"]:
        raise ClientException("the path contains a NUL character", status_code=400)
    for name, value in connection.path_params.items():
        if isinstance(value, int) and out_of_range(value):
            raise _too_big(f"path parameter {name}")
    for name in _int_query_names(handler):
        for raw in connection.query_params.getall(name, []):
            text = raw.strip().lstrip("+-")
            if text.isdigit() and len(text) > 18 and out_of_range(int(raw)):
                raise _too_big(f"query parameter {name}")
    if handler.opt.get("own_body_checks") or connection.scope["type"] != ScopeType.HTTP:
        return
    content_type = connection.headers.get("content-type", "").lower()
    if content_type.startswith(_NOT_JSON):
        return  # uploads and forms; a body sent as text/plain is still parsed as JSON by routes
    length = connection.headers.get("content-length", "")
    if length.isdigit() and int(length) > _MAX_BODY_WALK:
        return
    body = await Request[Any, Any, Any](connection.scope, connection.receive).body()
    if not body:
        return
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return  # not JSON at all: the route's own parsing answers that with its 400
    where = _walk(document)
    if where is not None:
        raise _too_big(where)
