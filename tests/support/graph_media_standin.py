"""A recording stand-in for the Graph API's media endpoints (and sends), on a loopback port.

It answers like the Cloud API — the media object, a Bearer-protected download URL, uploads and
sends — and lets a test make it misbehave the way Meta does: a URL that has expired, a download
that fails a few times, a file whose bytes do not match its sha256, an id Meta no longer knows.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import UploadFile

from tests.support.servers import serve_standin

TOKEN = "graph-media-standin-token"


@dataclass
class StandinFile:
    data: bytes
    mime_type: str
    sha256: str | None = None  # what the media object claims; the true hash when None
    expired_urls: int = 0  # how many of the next URLs it names have already expired
    failures: list[int] = field(default_factory=list)  # HTTP statuses of the next downloads
    stalls: list[float] = field(default_factory=list)  # seconds the next downloads hang


@dataclass
class GraphMediaStandin:
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    files: dict[str, StandinFile] = field(default_factory=dict)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)
    send_failures: list[int] = field(default_factory=list)  # Graph error codes of next sends
    downloads: list[str] = field(default_factory=list)
    media_lookups: list[str] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(900_000_001))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v23.0"

    def add(self, media_id: str, data: bytes, mime_type: str, **options: Any) -> StandinFile:
        self.files[media_id] = StandinFile(data, mime_type, **options)
        return self.files[media_id]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _unauthorized(request: Request[Any, Any, Any]) -> Response[Any] | None:
    if request.headers.get("authorization") == f"Bearer {TOKEN}":
        return None
    return Response({"error": {"message": "Invalid OAuth access token", "type": "OAuthException",
                               "code": 190}}, status_code=401)  # fmt: skip


def _app(state: dict[str, GraphMediaStandin]) -> Litestar:
    @get("/v23.0/{media_id:str}")
    async def media_object(request: Request[Any, Any, Any], media_id: str) -> Response[Any]:
        standin = state["standin"]
        standin.media_lookups.append(media_id)
        if (refused := _unauthorized(request)) is not None:
            return refused
        file = standin.files.get(media_id)
        if file is None:
            return Response({"error": {"message": "Unsupported get request.", "type": "GraphMethodException",
                                       "code": 100, "error_subcode": 33}}, status_code=400)  # fmt: skip
        expires = 0 if file.expired_urls > 0 else int(time.time()) + 300
        file.expired_urls = max(0, file.expired_urls - 1)
        digest = file.sha256 or base64.b64encode(hashlib.sha256(file.data).digest()).decode()
        url = f"http://127.0.0.1:{standin.port}/download/{media_id}?exp={expires}"
        return Response({"messaging_product": "whatsapp", "url": url, "mime_type": file.mime_type,
                         "sha256": digest, "file_size": str(len(file.data)), "id": media_id})  # fmt: skip

    @get("/download/{media_id:str}")
    async def download(request: Request[Any, Any, Any], media_id: str, exp: int) -> Response[Any]:
        standin = state["standin"]
        standin.downloads.append(media_id)
        if (refused := _unauthorized(request)) is not None:
            return refused
        file = standin.files.get(media_id)
        if file is None or exp < time.time():
            return Response(b"URL signature expired", status_code=404, media_type="text/plain")
        if file.failures:
            return Response(b"", status_code=file.failures.pop(0))
        if file.stalls:
            await asyncio.sleep(file.stalls.pop(0))  # a CDN that stops answering mid-download
        return Response(file.data, media_type=file.mime_type)

    @post("/v23.0/{phone_number_id:str}/media", status_code=200)
    async def upload(request: Request[Any, Any, Any], phone_number_id: str) -> Response[Any]:
        standin = state["standin"]
        if (refused := _unauthorized(request)) is not None:
            return refused
        form = await request.form()
        part = form.get("file")
        assert isinstance(part, UploadFile)
        data = await part.read()
        media_id = str(next(standin._ids))
        standin.uploads.append({"phone_number_id": phone_number_id, "id": media_id, "data": data,
                                "type": form.get("type"), "filename": part.filename,
                                "messaging_product": form.get("messaging_product")})  # fmt: skip
        standin.add(media_id, data, str(form.get("type")))
        return Response({"id": media_id})

    @post("/v23.0/{phone_number_id:str}/messages", status_code=200)
    async def send(request: Request[Any, Any, Any], phone_number_id: str) -> Response[Any]:
        standin = state["standin"]
        if (refused := _unauthorized(request)) is not None:
            return refused
        body = await request.json()
        standin.sends.append(body)
        if body.get("status") == "read":
            return Response({"success": True})
        if standin.send_failures:
            code = standin.send_failures.pop(0)
            return Response({"error": {"message": "(#131000) Something went wrong", "type": "OAuthException",
                                       "code": code, "fbtrace_id": "x"}}, status_code=500)  # fmt: skip
        return Response({"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                         "messages": [{"id": f"wamid.standin{len(standin.sends)}"}]})  # fmt: skip

    return Litestar([media_object, download, upload, send], debug=False, logging_config=None)


def start_graph_media_standin() -> GraphMediaStandin:
    state: dict[str, GraphMediaStandin] = {}
    standin = state["standin"] = GraphMediaStandin(*serve_standin(_app(state), "graph"))
    return standin
