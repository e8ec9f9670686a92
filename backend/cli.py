"""The `switchboard` command: run, web, worker, migrate, create-agent, seed-demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from backend.config import ConfigError, Settings, load_settings


def _fail(message: str, code: int = 2) -> None:
    print(f"switchboard: {message}", file=sys.stderr)
    raise SystemExit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        _fail(f"configuration error: {error}")
        raise  # unreachable


def cmd_migrate(_: argparse.Namespace) -> None:
    from backend.db.migrate import head_revision, upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print(f"database migrated to {head_revision(settings.database_url)}")
    rewritten = asyncio.run(_reencrypt(settings))  # rows from before encryption, a new key
    if rewritten:
        print(f"{rewritten} secrets encrypted under the first key of SECRETS_KEYS")


async def _reencrypt(settings: Settings) -> int:
    from backend.core import secrets_box
    from backend.db.engine import create_engine
    from backend.db.secrets_rotation import reencrypt_all

    try:
        secrets_box.configure(settings)
    except secrets_box.SecretsKeyError as error:
        _fail(str(error))
    engine = create_engine(settings.database_url)
    try:
        return await reencrypt_all(engine)
    except secrets_box.SecretsKeyError as error:
        _fail(str(error))
        raise  # unreachable
    finally:
        await engine.dispose()


def cmd_rotate_keys(_: argparse.Namespace) -> None:
    """Re-encrypts every stored secret under the first key of SECRETS_KEYS; then the keys after
    it can be removed."""
    settings = _settings()
    asyncio.run(_check_schema(settings))
    rewritten = asyncio.run(_reencrypt(settings))
    print(f"{rewritten} secrets re-encrypted under the first key of SECRETS_KEYS")


def cmd_new_secrets_key(_: argparse.Namespace) -> None:
    from backend.core.secrets_box import new_key

    print(new_key())


async def _check_schema(settings: Settings) -> None:
    from backend.db.engine import create_engine
    from backend.db.migrate import SchemaBehind, ensure_current

    engine = create_engine(settings.database_url)
    try:
        await ensure_current(engine, settings.database_url)
    except SchemaBehind as error:
        _fail(str(error))
    finally:
        await engine.dispose()


def cmd_web(args: argparse.Namespace) -> None:
    import uvicorn

    settings = _settings()
    if not settings.redis_url:
        _fail("REDIS_URL is not set: use `switchboard run`, which starts an embedded Redis")
    asyncio.run(_check_schema(settings))
    uvicorn.run(
        "backend.cli:serving_app", factory=True, host=args.host, port=args.port,
        log_config=None, access_log=False, proxy_headers=True, ws_ping_interval=20,
        forwarded_allow_ips=",".join(settings.trusted_proxies),  # X-Forwarded-For from these only
        # permessage-deflate keeps ~50 KB of zlib state per socket; frames are small JSON.
        ws_per_message_deflate=settings.websocket_compression,
        timeout_graceful_shutdown=5,
    )  # fmt: skip


def serving_app() -> Any:
    """`switchboard web`'s app, with Python's cycle collector tuned for a server.

    At the default thresholds a web process under webhook load runs a young-generation collection
    every 700 allocations and a full one every 70,000 or so, each full one walking every object
    the process holds (the app, SQLAlchemy's and Litestar's own structures): seen in profiles as
    time on allocating lines. Everything made at start-up lives as long as the process, so it is
    frozen out of the collector's view (`gc.freeze`), and the thresholds go up: 0.24 -> 0.21 ms
    of web CPU per status in the status-storm bench on PostgreSQL (docs/benchmarks.md). Cycles
    are still collected, less often; reference counting frees everything else at once."""
    import gc

    from backend.app import create_app

    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    return app


def cmd_worker(_: argparse.Namespace) -> None:
    settings = _settings()
    if not settings.redis_url:
        _fail("REDIS_URL is not set: use `switchboard run`, which starts an embedded Redis")
    asyncio.run(_check_schema(settings))
    from worker.main import run_worker

    run_worker(settings)


def cmd_create_agent(args: argparse.Namespace) -> None:
    from backend.agents.services import AgentError, create_agent
    from backend.db.engine import create_engine, create_session_factory

    settings = _settings()

    async def create() -> int:
        engine = create_engine(settings.database_url)
        try:
            async with create_session_factory(engine)() as session:
                agent = await create_agent(
                    session, email=args.email, password=args.password, name=args.name,
                    # Without --team: the default channel's queue, where new chats wait.
                    role=args.role, teams=args.team or [settings.whatsapp_default_team],
                )  # fmt: skip
                await session.commit()
                assert agent.id is not None
                return agent.id
        finally:
            await engine.dispose()

    try:
        agent_id = asyncio.run(create())
    except AgentError as error:
        _fail(str(error))
    teams = ", ".join(args.team or [settings.whatsapp_default_team])
    print(f"agent {agent_id} created: {args.email} ({args.role}), team {teams}")


def cmd_seed_demo(_: argparse.Namespace) -> None:
    from backend.db.engine import create_engine, create_session_factory
    from backend.seed import seed_demo

    settings = _settings()

    async def seed() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with create_session_factory(engine)() as session:
                logins = await seed_demo(session, settings)
        finally:
            await engine.dispose()
        if not logins:
            print("the database has agents already: demo not seeded")
            return
        print("Demo seeded. Sign in at the inbox with one of:")
        for login in logins:
            print(f"  {login.role:<6} {login.email:<28} password: {login.password}")
        print("Chat as a customer at /sandbox.")

    asyncio.run(seed())


def cmd_bot_load(args: argparse.Namespace) -> None:
    from backend.bots.loading import load_flow_file
    from backend.core.errors import ServiceError

    settings = _settings()
    try:
        flow = asyncio.run(load_flow_file(settings, args.file, args.channel))
    except (OSError, ServiceError) as error:
        _fail(f"{args.file}: {getattr(error, 'detail', None) or error}")
        return
    print(f"bot flow version {flow.version} is active on channel {flow.channel_id}")


class _Tree:
    """web + worker (+ Redis) as one process tree that starts and stops as one."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[bytes]] = []
        self.redis: object | None = None
        self.stopping = False

    def spawn(self, args: Sequence[str], env: dict[str, str]) -> None:
        from backend.core.process import die_with_parent

        child = subprocess.Popen(args, env=env, preexec_fn=die_with_parent)
        self.children.append(child)

    def stop(self, *_: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        stop_redis = getattr(self.redis, "stop", None)
        if stop_redis:
            stop_redis()


def cmd_run(args: argparse.Namespace) -> None:
    from backend.core.embedded_redis import EmbeddedRedis

    settings = _settings()
    env = dict(os.environ)
    env.setdefault("PUBLIC_BASE_URL", f"http://{_loopback(args.host)}:{args.port}")
    tree = _Tree()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        tree.stop()
        raise SystemExit(128 + signum if signum != signal.SIGINT else 0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if not settings.redis_url:
            redis = EmbeddedRedis(settings.var_dir / "redis")
            env["REDIS_URL"] = redis.start()
            tree.redis = redis
            print(f"embedded Redis on {env['REDIS_URL']}", flush=True)
        me = [sys.executable, "-m", "backend.cli"]
        tree.spawn([*me, "web", "--host", args.host, "--port", str(args.port)], env)
        tree.spawn([*me, "worker"], env)
        print(f"Switchboard on http://{_loopback(args.host)}:{args.port}", flush=True)
        while True:
            for child in tree.children:
                if child.poll() is not None:
                    print(f"switchboard: a child exited with {child.returncode}; stopping",
                          file=sys.stderr)  # fmt: skip
                    tree.stop()
                    raise SystemExit(1)
            time.sleep(0.5)
    finally:
        tree.stop()


def _loopback(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("run", "web + worker (+ embedded Redis)"), ("web", "the web server")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        p.set_defaults(func=cmd_run if name == "run" else cmd_web)
    sub.add_parser("worker", help="the background worker").set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser(
        "rotate-keys", help="re-encrypt every stored secret under the first SECRETS_KEYS key"
    ).set_defaults(func=cmd_rotate_keys)
    sub.add_parser("new-secrets-key", help="print a new key for SECRETS_KEYS").set_defaults(
        func=cmd_new_secrets_key
    )
    sub.add_parser("seed-demo", help="seed the demo into an empty database").set_defaults(
        func=cmd_seed_demo
    )
    agent = sub.add_parser("create-agent", help="create an agent, lead or admin")
    agent.add_argument("--email", required=True)
    agent.add_argument("--password", required=True)
    agent.add_argument("--name", required=True)
    agent.add_argument("--role", choices=["agent", "lead", "admin"], default="agent")
    agent.add_argument(
        "--team", action="append",
        help="a team name; repeat for several (default: WHATSAPP_DEFAULT_TEAM, General)",
    )  # fmt: skip
    agent.set_defaults(func=cmd_create_agent)
    bot = sub.add_parser("bot", help="bot flows").add_subparsers(dest="bot_command", required=True)
    load = bot.add_parser("load", help="load a YAML flow as the channel's new active version")
    load.add_argument("file")
    load.add_argument("--channel", type=int, help="channel id (default: the default channel)")
    load.set_defaults(func=cmd_bot_load)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
