"""Security headers on every answer, and the API docs page built from our own files."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import login


def assert_secure(response: httpx.Response) -> None:
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, (response.url, csp)
    script = re.search(r"script-src ([^;]+)", csp)
    assert script and script.group(1).split() == ["'self'"], csp  # no inline, no eval, no CDN
    assert "'unsafe-inline'" not in (re.search(r"default-src ([^;]+)", csp) or [""])[0]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


async def test_pages_api_sandbox_and_docs_carry_the_headers(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await login(client, await make_agent("agent"))
    for path, extra in (
        ("/", {}), ("/index.html", {}), ("/sandbox", {}), ("/sandbox/phone.js", {}),
        ("/schema", {}), ("/schema/openapi.json", {}), ("/api/v1/conversations", headers),
        ("/api/v1/conversations", {}), ("/no/such/page", {}), ("/api/v1/nothing-here", {}),
        ("/health", {}),
    ):  # fmt: skip
        response = await client.get(path, headers=extra)
        assert_secure(response)
    api = await client.get("/api/v1/conversations", headers=headers)
    assert api.status_code == 200 and api.headers["cache-control"] == "no-store"
    async with httpx.AsyncClient(base_url=client.base_url) as stranger:  # no session cookie
        refused = await stranger.get("/api/v1/conversations")
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in api.headers  # plain http here


async def test_hsts_only_behind_https(client: httpx.AsyncClient) -> None:
    """uvicorn takes the scheme from X-Forwarded-Proto of a trusted (loopback) proxy."""
    response = await client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "strict-transport-security" not in (await client.get("/health")).headers


async def test_the_docs_page_loads_only_our_own_files(client: httpx.AsyncClient) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    assert "<script>" not in html and "http://" not in html and "https://" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [s for s in sources if s.startswith("/api-docs/")]
    assert len(assets) == 3, sources
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200 and len(response.content) > 50, asset
    bundle = await client.get("/api-docs/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text


async def test_media_keeps_its_own_sandbox_policy(client: httpx.AsyncClient) -> None:
    """A response that sets its own CSP (served files: `sandbox`) is not overwritten; checked on
    the sandbox's phone page, whose script is a file (the page has no inline script at all)."""
    phone = await client.get("/sandbox")
    assert "<script>" not in phone.text and "<style>" not in phone.text
    assert 'src="/sandbox/phone.js"' in phone.text
