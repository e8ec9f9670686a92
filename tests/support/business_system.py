"""A stand-in for a business system's webhook receiver, on a loopback port, that checks every
`Switchboard-Signature` the way an integrator would (HMAC-SHA256 of "<t>.<raw body>") and can
be made to fail, hang, or go down and come back on the same port."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from litestar import Litestar, Request, Response, post

from backend.core.embedded_redis import free_port


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes
    verified_with: list[str]  # which of the receiver's secrets matched a v1

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass
class BusinessSystem:
    port: int
    secrets: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)  # statuses for the next requests
    status: int = 200
    hang_seconds: float = 0.0
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def verified(self) -> list[Received]:
        return [r for r in self.received if r.verified_with]

    def by_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.headers.get("switchboard-event") == event_type]

    def check(self, header: str, raw: bytes) -> list[str]:
        parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
        stamp = next((v for k, v in parts if k == "t"), "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return []
        signatures = [v for k, v in parts if k == "v1"]
        matched = []
        for secret in self.secrets:
            expected = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256)
            if any(hmac.compare_digest(expected.hexdigest(), s) for s in signatures):
                matched.append(secret)
        return matched

    def start(self) -> None:
        config = uvicorn.Config(
            _app(self), host="127.0.0.1", port=self.port, log_config=None, access_log=False,
            lifespan="off",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, name=f"receiver-{self.port}", daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the business-system stand-in did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
        self.server = self.thread = None


def _app(system: BusinessSystem) -> Litestar:
    @post("/hooks", status_code=200)
    async def receive(request: Request[Any, Any, Any]) -> Response[Any]:
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        matched = system.check(headers.get("switchboard-signature", ""), raw)
        system.received.append(Received(headers, raw, matched))
        if system.hang_seconds:
            await asyncio.sleep(system.hang_seconds)
        if not matched:
            return Response({"error": "bad signature"}, status_code=401)
        if system.fail_with:
            return Response({"error": "stand-in failure"}, status_code=system.fail_with.pop(0))
        return Response({"ok": True}, status_code=system.status)

    @post("/redirect", status_code=302)
    async def redirect() -> Response[Any]:
        return Response(
            "", status_code=302, headers={"Location": f"http://127.0.0.1:{system.port}/hooks"}
        )

    return Litestar([receive, redirect], debug=False, logging_config=None)


def start_business_system() -> BusinessSystem:
    system = BusinessSystem(port=free_port())
    system.start()
    return system
