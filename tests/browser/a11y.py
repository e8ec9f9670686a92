"""Accessibility checks for browser tests: axe-core run inside the page, and the 390 px phone width.

axe-core is Deque's rule engine, the one most accessibility tooling uses; it comes from npm as a
devDependency of the frontend (`frontend/node_modules/axe-core`), never from a CDN. It is put
into the page through Playwright's evaluate (the DevTools protocol), which a Content-Security-
Policy without inline scripts does not block, so pages are checked with their real headers.

    await assert_accessible(page)               # no serious or critical violation
    await assert_accessible(page, at_390=True)  # and the same at a phone's width, no sideways scroll
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_JS = (
    Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
)
BLOCKING = ("serious", "critical")
PHONE = {"width": 390, "height": 844}


@lru_cache(maxsize=1)
def _axe_source() -> str:
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run `make install` (npm ci in frontend/)")
    return AXE_JS.read_text(encoding="utf-8")


async def _inject(page: Page) -> None:
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(_axe_source() + "\n;0")


async def axe_violations(page: Page, include: str | None = None) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (or only within the `include` selector)."""
    await _inject(page)
    result: dict[str, Any] = await page.evaluate(
        """async (include) => {
            const context = include ? { include: [include] } : document;
            return await window.axe.run(context, { resultTypes: ["violations"] });
        }""",
        include,
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per rule and the elements that break it: what a failing test should say."""
    lines = []
    for violation in violations:
        targets = [json.dumps(node["target"]) for node in violation["nodes"][:5]]
        summary = violation["nodes"][0].get("failureSummary", "").replace("\n", " ")
        lines.append(
            f"{violation['impact']}: {violation['id']} ({violation['help']}) on "
            f"{', '.join(targets)}: {summary}"
        )
    return "\n".join(lines)


async def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when nothing scrolls sideways)."""
    overflow: int = await page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )
    return overflow


async def assert_accessible(
    page: Page, *, at_390: bool = False, include: str | None = None
) -> None:
    """No serious or critical axe-core violation; with `at_390`, also none at 390 px wide, where
    nothing may scroll sideways. The viewport is put back afterwards."""
    found = [v for v in await axe_violations(page, include) if v["impact"] in BLOCKING]
    assert not found, "accessibility violations:\n" + describe(found)
    if not at_390:
        return
    before = page.viewport_size
    await page.set_viewport_size(PHONE)
    try:
        overflow = await horizontal_overflow(page)
        assert overflow == 0, f"at 390 px the page scrolls sideways by {overflow} px"
        found = [v for v in await axe_violations(page, include) if v["impact"] in BLOCKING]
        assert not found, "accessibility violations at 390 px:\n" + describe(found)
    finally:
        if before is not None:
            await page.set_viewport_size(before)
