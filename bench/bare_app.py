"""The floor for bench/ingest.py: a Litestar endpoint that only checks the webhook's HMAC.

Same framework, server and settings as `switchboard web` (uvicorn + uvloop + httptools, one
process), no database and no Redis, so `switchboard ÷ bare` is the cost of storing the batch.
Run: `python -m uvicorn bench.bare_app:app --port P --no-access-log`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import NotAuthorizedException

SECRET = os.environ.get("WHATSAPP_APP_SECRET", "sandbox-secret").encode()


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@post("/webhooks/whatsapp", status_code=200, request_max_body_size=4 * 1024 * 1024)
async def webhook(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    header = (request.headers.get("x-hub-signature-256") or "").strip().lower()
    raw = await request.body()
    expected = "sha256=" + hmac.new(SECRET, raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), header.encode()):
        raise NotAuthorizedException("X-Hub-Signature-256 does not match")
    return Response({"status": "ok", "messages": raw.count(b'"timestamp"'), "duplicates": 0})


app = Litestar(route_handlers=[health, webhook], debug=False, logging_config=None)
