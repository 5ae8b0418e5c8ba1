"""axe-core (WCAG 2.1 AA and its best practices) on a page in the worker's Chromium.

axe-core comes from axe-playwright-python, as it is. Its ``Axe.run`` sends the whole script
(570 KB) to the page and has it compiled before every run, which took as long as the run
itself. Here the script is given once to the page's browser context as an init script: every
later page of that context has it from its first moment (outside the page's
Content-Security-Policy, like ``page.evaluate``), and a page opened before gets it once.
Then ``axe.run`` runs with the library's own default options (violations only)."""

from __future__ import annotations

import weakref
from typing import Any

from axe_playwright_python.async_playwright import DEFAULT_OPTIONS
from axe_playwright_python.base import AXE_SCRIPT
from playwright.async_api import BrowserContext, Page

_PREPARED: weakref.WeakSet[BrowserContext] = weakref.WeakSet()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now."""
    if page.context not in _PREPARED:
        await page.context.add_init_script(AXE_SCRIPT)
        _PREPARED.add(page.context)
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE_SCRIPT)
    results: dict[str, Any] = await page.evaluate(
        "(options) => axe.run(document, options)", DEFAULT_OPTIONS)
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """The violations for a failure message: rule, impact, help, the first three nodes."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(str(n["target"]) + " " + n.get("failureSummary", "")[:200]
                    for n in v["nodes"][:3])
        for v in violations
    )
