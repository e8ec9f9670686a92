"""A bad setting stops the program with one line naming the variable, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backend.config import ConfigError, Settings, load_settings


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env=full_env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL"),
        ("DATABASE_URL", "postgresql://u@h/db", "postgresql+asyncpg"),
        ("REDIS_URL", "http://localhost:6379", "REDIS_URL"),
        ("SEND_RATE_PER_SECOND", "fast", "SEND_RATE_PER_SECOND"),
        ("SEND_RATE_PER_SECOND", "5000", "SEND_RATE_PER_SECOND"),
        ("WHATSAPP_API_BASE_URL", "graph.facebook.com", "WHATSAPP_API_BASE_URL"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    variable: str, value: str, expected: str
) -> None:
    result = run_cli("migrate", env={variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "SECRET_KEY" in str(error.value)
    assert "short" not in str(error.value)


def test_defaults_point_at_the_built_in_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WHATSAPP_API_BASE_URL", "SANDBOX_ENABLED", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///./var/switchboard.db"
    assert settings.sandbox_is_enabled
    assert settings.graph_api_base_url == "http://127.0.0.1:8000/sandbox/graph/v23.0"


def test_a_real_graph_api_turns_the_sandbox_off() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        whatsapp_api_base_url="https://graph.facebook.com/v23.0/",
    )
    assert not settings.sandbox_is_enabled
    assert settings.graph_api_base_url == "https://graph.facebook.com/v23.0"


def test_secret_key_is_generated_once_and_kept(tmp_path: object) -> None:
    from pathlib import Path

    var = Path(str(tmp_path))
    first = Settings(_env_file=None, var_dir=var).signing_key()  # type: ignore[call-arg]
    second = Settings(_env_file=None, var_dir=var).signing_key()  # type: ignore[call-arg]
    assert first == second and len(first) >= 32
