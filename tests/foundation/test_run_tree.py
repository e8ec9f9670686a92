"""`switchboard run` starts web, worker and Redis as one tree and stops them as one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from backend.core.embedded_redis import free_port


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (
                (task / "children").read_text().split() if (task / "children").exists() else []
            )
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def start_tree(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_", "TEST_"))
    }
    env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}", "VAR_DIR": str(tmp_path / "var"),
                "SECRET_KEY": "a-test-secret-key-for-run"})  # fmt: skip
    me = [sys.executable, "-m", "backend.cli"]
    subprocess.run([*me, "migrate"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [*me, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90  # the whole tree starts: slow on a loaded machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError("switchboard run did not become ready")


def wait_gone(pids: set[int], timeout: float = 15) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    return {pid for pid in pids if alive(pid)}


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_stops_its_whole_tree(tmp_path: Path, stop_signal: signal.Signals) -> None:
    process, _ = start_tree(tmp_path)
    tree = descendants(process.pid)
    names = {
        Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in tree
    }
    assert any("redis-server" in name for name in names), names
    assert any(" web " in f"{name} " for name in names), names
    assert any(name.rstrip().endswith("worker") for name in names), names
    process.send_signal(stop_signal)
    process.wait(timeout=20)
    assert wait_gone(tree) == set()


def test_a_killed_parent_leaves_no_orphans(tmp_path: Path) -> None:
    process, _ = start_tree(tmp_path)
    tree = descendants(process.pid)
    process.kill()
    process.wait()
    assert wait_gone(tree) == set()
