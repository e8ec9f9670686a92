"""Real servers for tests: uvicorn on a loopback port and an arq worker, each in its own thread.

They run the production code paths (the app factory, the worker settings) over real sockets; only
the process boundary is skipped, which keeps the suite fast. `switchboard run` itself is tested as a
real process tree elsewhere.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from arq.worker import Worker
from redis import Redis as SyncRedis

from backend.app import create_app
from backend.config import Settings
from backend.core.embedded_redis import free_port
from backend.core.secrets_box import keys_of
from worker.main import HEARTBEAT_KEY, worker_settings


@dataclass
class LiveServer:
    settings: Settings
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(settings: Settings, port: int | None = None) -> LiveServer:
    port = port or free_port()
    settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None,
        access_log=False, lifespan="on", ws_ping_interval=20,
        forwarded_allow_ips=",".join(settings.trusted_proxies),  # as `switchboard web` does
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.started:
            break
        if not thread.is_alive():
            raise RuntimeError("the test server failed to start")
        time.sleep(0.02)
    else:
        raise RuntimeError("the test server did not start in time")
    httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).raise_for_status()
    return LiveServer(settings, port, server, thread)


def serve_standin(app: Any, name: str) -> tuple[int, uvicorn.Server, threading.Thread]:
    """A stand-in for an outside service (Graph API, Ultramsg), served on a loopback port."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            access_log=False, lifespan="off")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"{name}-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {name} stand-in did not start")
        time.sleep(0.02)
    return port, server, thread


@dataclass
class LiveWorker:
    """The worker process's arq workers (sends, background), on one loop in a thread."""

    workers: list[Worker]
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    def stop(self) -> None:
        async def close() -> None:
            for worker in self.workers:
                await worker.close()

        future = asyncio.run_coroutine_threadsafe(close(), self.loop)
        try:
            future.result(timeout=10)
        except Exception:  # noqa: S110 - best effort at teardown
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def start_worker(settings: Settings, **overrides: Any) -> LiveWorker:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        workers = [
            Worker(**{**options, "handle_signals": False, **overrides})
            for options in worker_settings(settings)
        ]
        holder["workers"] = workers
        started.set()
        holder["tasks"] = [loop.create_task(worker.async_run()) for worker in workers]
        loop.run_forever()

    thread = threading.Thread(target=run, name="arq-worker", daemon=True)
    thread.start()
    started.wait(10)
    return LiveWorker(holder["workers"], loop, thread)


def worker_process(env: dict[str, str], within: float = 120.0) -> subprocess.Popen[bytes]:
    """`switchboard worker` as a real process (env names REDIS_URL), returned once it has started:
    its imports alone take many seconds on a busy machine, which must not eat a test's timeouts."""
    redis = SyncRedis.from_url(env["REDIS_URL"])
    try:
        redis.delete(HEARTBEAT_KEY)  # a previous worker's beat must not count
        process = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=env)
        deadline = time.monotonic() + within
        while not redis.exists(HEARTBEAT_KEY):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the worker process did not start")
            time.sleep(0.1)
        return process
    finally:
        redis.close()


def web_process(env: dict[str, str], port: int, within: float = 120.0) -> subprocess.Popen[bytes]:
    """`switchboard web` as a real process (to kill), returned once /health answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "web", "--port", str(port)], env=env
    )
    deadline = time.monotonic() + within  # imports alone take seconds on a busy machine
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the web process did not start")


def secrets_keys_of(settings: Settings) -> str:
    """SECRETS_KEYS for a process a test starts on the test's database: this process's secrets
    box encrypted with these keys (the session's first), so the other one must know them."""
    return ",".join(key.decode() for key in keys_of(settings))
