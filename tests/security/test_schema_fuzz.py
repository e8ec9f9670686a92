"""A bounded schemathesis run over the whole OpenAPI schema: no generated request is a 5xx.

It runs against its own server, database and Redis database, because generated requests change
whatever they reach (a channel's secrets, bots, SLA policies) and must not break other tests.
Positive and negative cases (schemathesis' defaults), a few dozen per operation: about two
thousand requests, a minute or two on a small machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from backend.config import Settings
from backend.db.migrate import upgrade
from tests.conftest import PASSWORD
from tests.support.servers import LiveServer, start_server

EXAMPLES_PER_OPERATION = 15
KEY_ROUTES = re.compile(r"^/api/v1/messages(/batch)?$")
SKIPPED = {  # would end the session every later case signs in with
    "/api/v1/auth/logout",
    "/api/v1/me/sessions/end-all",
}


@pytest.fixture(scope="module")
def fuzz_server(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzzdb') / 'fuzz.db'}"
    upgrade(database)
    own = settings.model_copy(
        update={"database_url": database, "redis_url": settings.redis_url.rsplit("/", 1)[0] + "/7",
                "var_dir": tmp_path_factory.mktemp("fuzzvar")}
    )  # fmt: skip
    live = start_server(own)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def fuzz_credentials(fuzz_server: LiveServer) -> dict[str, dict[str, str]]:
    import asyncio

    from backend.agents.services import create_agent
    from backend.core.context import AppContext

    async def make_admin() -> None:
        ctx = AppContext.build(fuzz_server.settings)
        async with ctx.sessions() as session:
            await create_agent(session, email="fuzz-admin@example.test", password=PASSWORD,
                               name="Fuzz Admin", role="admin", teams=["General"])  # fmt: skip
            await session.commit()
        await ctx.close()

    asyncio.run(make_admin())
    with httpx.Client(base_url=fuzz_server.base_url, timeout=15) as http:
        login = http.post(
            "/api/v1/auth/login", json={"email": "fuzz-admin@example.test", "password": PASSWORD}
        )
        session = {"Authorization": f"Bearer {login.json()['token']}"}
        key = http.post(
            "/api/v1/api-keys", headers=session,
            json={"name": "fuzz", "scopes": ["messages:send", "conversations:read", "contacts:read",
                                             "contacts:write", "webhooks:manage"]},
        ).json()["key"]  # fmt: skip
    return {"session": session, "key": {"Authorization": f"Bearer {key}"}}


def _exercise(operation: Any, mode: GenerationMode, auth: dict[str, str], base_url: str,
              failures: list[str]) -> None:  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck), phases=[Phase.generate],
    )  # fmt: skip
    def call(case: Any) -> None:
        response = case.call(base_url=base_url, headers=auth, timeout=30)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:200]}\n  {case.as_curl_command()}"
            )

    call()


@pytest.mark.timeout(900)  # thousands of requests: a few minutes, more on a busy machine
def test_no_generated_request_is_a_server_error(
    fuzz_server: LiveServer, fuzz_credentials: dict[str, dict[str, str]]
) -> None:
    """Every operation, positive and negative cases; every 5xx is collected with its curl line."""
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base_url}/schema/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED:
            continue
        operations += 1
        auth = fuzz_credentials["key" if KEY_ROUTES.match(operation.path) else "session"]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _exercise(operation, mode, auth, fuzz_server.base_url, failures)
    assert operations > 60
    assert not failures, "\n".join(failures[:40])
