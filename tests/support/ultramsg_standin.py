"""A local stand-in for Ultramsg's HTTP API, answering the way Ultramsg does (errors in a 200 body,
form-encoded requests), so the provider is tested over a real socket without an account."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from litestar import Litestar, Request, Response, post

from tests.support.servers import serve_standin

INSTANCE = "instance1150"
TOKEN = "standin-token"


@dataclass
class UltramsgStandin:
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses for the next requests
    read_chats: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _app(state: dict[str, UltramsgStandin]) -> Litestar:
    @post("/{instance:str}/messages/{kind:str}", status_code=200)
    async def send(request: Request[Any, Any, Any], instance: str, kind: str) -> Response[Any]:
        standin = state["standin"]
        if standin.fail_next:
            status = standin.fail_next.pop(0)
            return Response({"error": f"stand-in failure {status}"}, status_code=status)
        form = dict(await request.form())
        if instance != INSTANCE:
            return Response({"error": "instance not found"}, status_code=404)
        if form.get("token") != TOKEN:
            return Response({"error": "Wrong token. Please provide token as a GET parameter."})
        if not str(form.get("to", "")).lstrip("+").isdigit():
            return Response({"error": [{"to": "invalid phone number"}]})
        if kind not in ("chat", "image", "document"):
            return Response({"error": f"unknown endpoint {kind}"}, status_code=404)
        standin.received.append({"kind": kind, **form})
        return Response({"sent": "true", "message": "ok", "id": len(standin.received)})

    @post("/{instance:str}/chats/read", status_code=200)
    async def read(request: Request[Any, Any, Any], instance: str) -> Response[Any]:
        form = dict(await request.form())
        if instance != INSTANCE or form.get("token") != TOKEN:
            return Response({"error": "Wrong token. Please provide token as a GET parameter."})
        state["standin"].read_chats.append(str(form.get("chatId")))
        return Response({"sent": "true", "message": "ok"})

    return Litestar([send, read], debug=False, logging_config=None)


def start_ultramsg_standin() -> UltramsgStandin:
    state: dict[str, UltramsgStandin] = {}
    standin = state["standin"] = UltramsgStandin(*serve_standin(_app(state), "Ultramsg"))
    httpx.post(f"{standin.base_url}/{INSTANCE}/messages/none", timeout=5)
    return standin
