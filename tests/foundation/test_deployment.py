"""docker-compose.yml and the Dockerfile cannot run here; check they name things that exist."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from backend.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return set(action.choices)  # type: ignore[arg-type]


def test_compose_services_and_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker"} <= set(services)
    for name in ("migrate", "web", "worker"):
        command = services[name]["command"]
        words = command if isinstance(command, list) else command.split()
        assert words[0] == "switchboard" and words[1] in subcommands(), words
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["REDIS_URL"].startswith("redis://")
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name], name
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in services["web"] or all(":" in str(p) for p in services["web"]["ports"])


def test_dockerfile_is_multi_stage_and_builds_the_frontend() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+(?:\s+AS\s+(\w+))?", text, flags=re.M | re.I)
    assert len(stages) >= 2
    assert "npm ci" in text and "npm run build" in text
    assert "uv sync" in text
    assert re.search(r"^USER\s+\w+", text, flags=re.M), "the image should not run as root"
