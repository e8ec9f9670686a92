"""Shared bench harness: a fresh database, an embedded Redis, `switchboard web`/`worker` processes.

Everything runs on loopback, every process started here is stopped here (SIGTERM, then SIGKILL),
and every wait is bounded. Benches import this module; it is not a benchmark itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
APP_SECRET = "sandbox-secret"  # the default channel's WHATSAPP_APP_SECRET
PHONE_NUMBER_ID = "sandbox"
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_fd_limit(wanted: int = 16384) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{cpus} cores{', ' + model if model else ''}, Python {sys.version.split()[0]}"


def http_json(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
              timeout: float = 30.0) -> tuple[int, Any]:  # fmt: skip
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


class Database:
    """A throw-away database: a SQLite file in the bench's temp dir, or a new PostgreSQL database."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.name = f"bench_{os.getpid()}_{int(time.time())}"
        if kind == "sqlite":
            self.path = workdir / "bench.db"
            self.url = f"sqlite+aiosqlite:///{self.path}"
        elif kind == "postgres":
            self.url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:5432/{self.name}"
        else:
            raise SystemExit(f"unknown database {kind!r}")

    def create(self) -> None:
        if self.kind == "postgres":
            subprocess.run(["createdb", "-h", PG_HOST, "-U", PG_USER, self.name], check=True)

    def drop(self) -> None:
        if self.kind == "postgres":
            subprocess.run(["dropdb", "--force", "-h", PG_HOST, "-U", PG_USER, self.name],
                           check=False, stderr=subprocess.DEVNULL)  # fmt: skip

    def scalar(self, sql: str) -> Any:
        if self.kind == "sqlite":
            with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as connection:
                return connection.execute(sql).fetchone()[0]
        out = subprocess.run(
            ["psql", "-h", PG_HOST, "-U", PG_USER, "-d", self.name, "-tAc", sql],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        return out


class Stack:
    """Starts what a bench needs and stops all of it on exit (also on Ctrl-C or an error)."""

    def __init__(self, database: str = "sqlite", *, log_level: str = "INFO",
                 extra_env: dict[str, str] | None = None, keep: bool = False) -> None:  # fmt: skip
        self.workdir = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
        self.db = Database(database, self.workdir)
        self.log_level = log_level
        self.extra_env = extra_env or {}
        self.keep = keep
        self.redis: Any = None
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.env: dict[str, str] = {}
        self.web_ports: list[int] = []

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        from backend.core.embedded_redis import EmbeddedRedis

        raise_fd_limit()  # children inherit it
        self.db.create()
        self.redis = EmbeddedRedis(self.workdir / "redis", persist=False)
        redis_url = self.redis.start()
        self.public_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_", "SANDBOX"))},
            "DATABASE_URL": self.db.url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.public_port}",
            "VAR_DIR": str(self.workdir / "var"),
            "ENVIRONMENT": "production",
            # Production settings, but the built-in sandbox stays the Graph API the benches drive
            # (it is off in production unless asked for).
            "SANDBOX_ENABLED": "true",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": self.log_level,
            "PYTHONPATH": str(ROOT),
            **self.extra_env,
        }
        subprocess.run([PYTHON, "-m", "backend.cli", "migrate"], env=self.env, cwd=self.workdir,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        signal.signal(signal.SIGTERM, _interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
        if self.redis is not None:
            self.redis.stop()
        self.db.drop()
        if not self.keep:
            import shutil

            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            log(f"kept {self.workdir}")

    def spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        out = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(args, env=env or self.env, cwd=self.workdir, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.processes.append((name, process))
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def stop_all(self) -> None:
        for _, process in reversed(self.processes):
            with contextlib.suppress(Exception):
                self.stop(process)
        self.processes.clear()

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.workdir / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    # -- processes -------------------------------------------------------------------------
    def start_web(
        self, port: int | None = None, name: str | None = None
    ) -> tuple[int, subprocess.Popen[bytes]]:
        """`switchboard web` (the first one listens on the port PUBLIC_BASE_URL names)."""
        if port is None:
            port = self.public_port if not self.web_ports else free_port()
        name = name or f"web{len(self.web_ports) + 1}"
        process = self.spawn(name, [PYTHON, "-m", "backend.cli", "web", "--port", str(port)])
        self.web_ports.append(port)
        wait_http(f"http://127.0.0.1:{port}/health", process, lambda: self.tail(name))
        return port, process

    def start_worker(self, name: str | None = None) -> subprocess.Popen[bytes]:
        name = name or f"worker{sum(1 for n, _ in self.processes if n.startswith('worker')) + 1}"
        return self.spawn(name, [PYTHON, "-m", "backend.cli", "worker"])

    def start_bare(self) -> tuple[int, subprocess.Popen[bytes]]:
        """The bare Litestar app (bench/bare_app.py) under uvicorn, configured like `switchboard web`."""
        port = free_port()
        process = self.spawn("bare", [
            PYTHON, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--log-level", "warning",
        ], env={**self.env, "PYTHONPATH": str(ROOT)})  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/health", process, lambda: self.tail("bare"))
        return port, process

    def cli(self, *args: str) -> str:
        return subprocess.run([PYTHON, "-m", "backend.cli", *args], env=self.env, cwd=self.workdir,
                              check=True, capture_output=True, text=True).stdout  # fmt: skip


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def wait_http(
    url: str, process: subprocess.Popen[bytes], tail: Any, timeout: float = 120.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited with {process.returncode}\n{tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout:.0f}s\n{tail()}")


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (/proc/PID/stat), 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": field 3 is fields[0]
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime: fields 14 and 15


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # user … steal (guest time is already in user)
    return (total - idle) / _TICK, total / _TICK


class CpuMeter:
    """CPU used during one phase: by each named process, by the database's backends (PostgreSQL:
    those connected to the bench's database), and by the whole machine — so a figure can say
    whether a process, the database or the machine's cores bound it."""

    def __init__(self, db: Database, processes: dict[str, int]) -> None:
        self.db, self.processes = db, processes

    def _backends(self) -> dict[int, float]:
        if self.db.kind != "postgres":
            return {}
        pids = str(self.db.scalar(
            "SELECT string_agg(pid::text, ',') FROM pg_stat_activity "  # noqa: S608
            f"WHERE datname = '{self.db.name}' AND pid <> pg_backend_pid()"
        ) or "")  # fmt: skip
        return {int(p): cpu_seconds(int(p)) for p in pids.split(",") if p}

    def __enter__(self) -> CpuMeter:
        self.before = {name: cpu_seconds(pid) for name, pid in self.processes.items()}
        self.backends_before = self._backends()
        self.machine_before = machine_busy_seconds()
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.monotonic() - self.t0
        busy, total = machine_busy_seconds()
        self.machine = (busy - self.machine_before[0]) / self.elapsed
        self.cores = (total - self.machine_before[1]) / self.elapsed
        self.used = {n: cpu_seconds(p) - self.before[n] for n, p in self.processes.items()}
        after = self._backends()
        # A backend that ended during the phase is not counted; one that started counts whole.
        self.database = sum(c - self.backends_before.get(p, 0.0) for p, c in after.items())

    def line(self, extra: dict[str, float] | None = None) -> str:
        """CPU as cores busy over the phase (1.00 = one core all the time)."""
        parts = {**self.used, **(extra or {})}
        text = ", ".join(f"{name} {seconds / self.elapsed:.2f}" for name, seconds in parts.items())
        if self.db.kind == "postgres":
            text += f", postgres backends {self.database / self.elapsed:.2f}"
        return (f"CPU cores busy: {text}; machine {self.machine:.2f} of {self.cores:.0f}; "
                f"load avg {os.getloadavg()[0]:.1f}")  # fmt: skip


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20
