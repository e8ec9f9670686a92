"""A recording stand-in for the Graph API's template and message endpoints, answering in Meta's
shapes (`data` + `paging.cursors`, `next` while pages remain; Graph error bodies; a read receipt,
with or without a typing indicator, is `{"success": true}`), so sync, authoring and receipts are
tested over a real socket against what Meta would say."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from litestar import Litestar, Request, Response, get, post

from backend.core.embedded_redis import free_port

TOKEN = "graph-standin-token"


@dataclass
class GraphStandin:
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    templates: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    requests: list[dict[str, Any]] = field(default_factory=list)
    refuse_create: dict[str, Any] | None = None  # a Graph error to answer the next create with
    messages: list[dict[str, Any]] = field(default_factory=list)  # sends and read receipts
    # Phone numbers `GET /{phone_number_id}` knows (Meta's WhatsAppAccountNumber fields).
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v23.0"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _app(state: dict[str, GraphStandin]) -> Litestar:
    def authorized(request: Request[Any, Any, Any]) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    @get("/v23.0/{waba_id:str}/message_templates")
    async def listing(request: Request[Any, Any, Any], waba_id: str) -> Response[Any]:
        standin = state["standin"]
        standin.requests.append(
            {"method": "GET", "waba_id": waba_id, **dict(request.query_params.items())}
        )
        if not authorized(request):
            return Response({"error": {"message": "Invalid OAuth access token", "code": 190,
                                       "type": "OAuthException"}}, status_code=401)  # fmt: skip
        start = int(request.query_params.get("after", "0").removeprefix("cursor-") or 0)
        chunk = standin.templates[start : start + standin.page_size]
        end = start + len(chunk)
        paging: dict[str, Any] = {
            "cursors": {"before": f"cursor-{start}", "after": f"cursor-{end}"}
        }
        if end < len(standin.templates):
            paging["next"] = f"{standin.base_url}/{waba_id}/message_templates?after=cursor-{end}"
        return Response({"data": chunk, "paging": paging})

    @post("/v23.0/{waba_id:str}/message_templates", status_code=200)
    async def create(request: Request[Any, Any, Any], waba_id: str) -> Response[Any]:
        standin = state["standin"]
        body = await request.json()
        standin.requests.append({"method": "POST", "waba_id": waba_id, "body": body})
        if standin.refuse_create is not None:
            error, standin.refuse_create = standin.refuse_create, None
            return Response({"error": error}, status_code=400)
        new_id = str(1689556908129800 + len(standin.requests))
        standin.templates.append({**body, "id": new_id, "status": "PENDING"})
        return Response({"id": new_id, "status": "PENDING", "category": body["category"]})

    @post("/v23.0/{phone_number_id:str}/messages", status_code=200)
    async def messages(request: Request[Any, Any, Any], phone_number_id: str) -> Response[Any]:
        """Records every send and receipt; checks a typing indicator as Meta does."""
        standin = state["standin"]
        body = await request.json()
        standin.messages.append({"phone_number_id": phone_number_id, "body": body})
        if not authorized(request):
            return Response({"error": {"message": "Invalid OAuth access token", "code": 190,
                                       "type": "OAuthException"}}, status_code=401)  # fmt: skip
        if body.get("status") == "read":
            typing = body.get("typing_indicator")
            if not isinstance(body.get("message_id"), str) or (
                typing is not None and typing != {"type": "text"}
            ):
                return Response({"error": {"message": "(#100) Invalid parameter", "code": 100,
                                           "type": "OAuthException"}}, status_code=400)  # fmt: skip
            return Response({"success": True})
        wamid = f"wamid.standin{len(standin.messages)}"
        return Response({"messaging_product": "whatsapp",
                         "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                         "messages": [{"id": wamid}]})  # fmt: skip

    @get("/v23.0/{number_id:str}")
    async def number(request: Request[Any, Any, Any], number_id: str) -> Response[Any]:
        """`GET /{phone_number_id}?fields=…`: the number as Meta describes it, or Graph errors."""
        standin = state["standin"]
        standin.requests.append({"method": "GET", "number_id": number_id,
                                 "authorization": request.headers.get("authorization"),
                                 **dict(request.query_params.items())})  # fmt: skip
        if not authorized(request):
            return Response({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                       "code": 190, "error_subcode": 463,
                                       "fbtrace_id": "AXsgnV2Cm3ZMGF3dF_cfYIn"}}, status_code=401)  # fmt: skip
        known = standin.numbers.get(number_id)
        if known is None:
            return Response({"error": {"message": f"Unsupported get request. Object with ID '{number_id}' does not exist",
                                       "type": "GraphMethodException", "code": 100, "error_subcode": 33}},
                            status_code=400)  # fmt: skip
        wanted = request.query_params.get("fields")
        fields = wanted.split(",") if wanted else ["id", "display_phone_number", "status"]
        return Response({key: known[key] for key in fields if key in known})

    return Litestar([listing, create, messages, number], debug=False, logging_config=None)


def start_graph_standin() -> GraphStandin:
    state: dict[str, GraphStandin] = {}
    port = free_port()
    config = uvicorn.Config(_app(state), host="127.0.0.1", port=port, log_config=None,
                            access_log=False, lifespan="off")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"graph-{port}", daemon=True)
    standin = state["standin"] = GraphStandin(port, server, thread)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the Graph stand-in did not start")
        time.sleep(0.02)
    return standin
