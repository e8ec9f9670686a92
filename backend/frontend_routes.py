"""The built inbox (frontend/dist), served by the backend so one port serves everything."""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.response import Response
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"

_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Switchboard</title></head>
<body><main><h1>Switchboard</h1><p>The inbox has not been built yet: run <code>make run</code>,
or <code>npm --prefix frontend run build</code>.</p></main></body></html>"""


@get("/", include_in_schema=False, exclude_from_auth=True)
async def _not_built() -> Response[str]:
    return Response(_NOT_BUILT, media_type="text/html")


def frontend_handlers(dist: Path = DIST) -> list[ControllerRouterHandler]:
    if not (dist / "index.html").exists():
        return [_not_built]
    router: Router = create_static_files_router(
        path="/", directories=[dist], html_mode=True, include_in_schema=False,
        opt={"exclude_from_auth": True}, name="frontend",
    )  # fmt: skip
    return [router]
