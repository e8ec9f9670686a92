"""Browser fixtures: one headless Chromium per session, a fresh context per page, and screenshots
plus a Playwright trace under `test-artifacts/` when a test fails.

The tests use Playwright's async API: pytest-asyncio runs every test and fixture on one
session-scoped event loop, inside which the sync API cannot run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from playwright.async_api import Error as PlaywrightError

from tests.support.servers import LiveServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# Debian's chromium (or CHROMIUM_PATH); without it, Playwright's own browser if one is installed.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_EXECUTABLE = CHROMIUM if Path(CHROMIUM).exists() else None
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 800}

# Fail fast and clearly instead of waiting out Playwright's 30 s defaults.
expect.set_options(timeout=5_000)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(node: pytest.Item) -> bool:
    return any(
        getattr(getattr(node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    options: dict[str, Any] = {"headless": True, "args": CHROMIUM_ARGS}
    if CHROMIUM_EXECUTABLE:
        options["executable_path"] = CHROMIUM_EXECUTABLE
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(**options)
        yield chromium
        await chromium.close()


NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def new_page(
    browser: Browser, server: LiveServer, artifacts_dir: Path, request: pytest.FixtureRequest
) -> AsyncIterator[NewPage]:
    """`await new_page("a")`: a page in its own browser context (own cookies, own socket)."""
    opened: list[tuple[str, BrowserContext, Page]] = []

    async def make(label: str = "page", **context_options: Any) -> Page:
        context = await browser.new_context(
            base_url=server.base_url, viewport=VIEWPORT, **context_options
        )
        context.set_default_timeout(10_000)
        await context.tracing.start(screenshots=True, snapshots=True)
        page = await context.new_page()
        opened.append((label, context, page))
        return page

    yield make

    failed = _failed(request.node)
    target = artifacts_dir / re.sub(r"[^\w.-]+", "_", request.node.nodeid)
    shutil.rmtree(target, ignore_errors=True)  # artifacts of an earlier failure are stale now
    if failed:
        target.mkdir(parents=True)
    for label, context, page in opened:
        try:
            if failed and not page.is_closed():
                await page.screenshot(path=target / f"{label}.png", full_page=True)
            await context.tracing.stop(path=target / f"{label}-trace.zip" if failed else None)
        except PlaywrightError:
            pass  # the test closed it already; nothing left to save
        finally:
            await context.close()
