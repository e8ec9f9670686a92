"""The API docs page at /schema: Swagger UI from this server's own files, not from a CDN.

Litestar's render plugins link a CDN and start the UI with an inline script; an offline desk
showed an empty page, and our Content-Security-Policy allows no inline script. This plugin
serves a page that only links files built into `frontend/dist/api-docs/` (from the
swagger-ui-dist package, see frontend/vite.config.ts).
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

ASSETS = "/api-docs"


class LocalSwaggerUI(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path="/swagger", favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<script src="{ASSETS}/swagger-ui-bundle.js" defer></script>
<script src="{ASSETS}/init.js" defer></script>
</head>
<body>
<main id="swagger-ui"><noscript>The API docs need JavaScript; the schema itself is at
<a href="/schema/openapi.json">/schema/openapi.json</a>.</noscript></main>
</body>
</html>
""".encode()
