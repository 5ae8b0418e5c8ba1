"""The second accessibility engine: HTML_CodeSniffer (Squiz, BSD-3-Clause), from npm.

Installed once with ``npm ci`` from ``tests/accessibility/htmlcs/`` (package.json and its lock)
into a cache folder named by the lock's hash, under a file lock so parallel test processes
install it once, as the single sign-on tests install their OpenID Provider. The built
``HTMLCS.js`` is evaluated in the page through the DevTools protocol (as axe-core is by
axe-playwright-python), so the pages' Content-Security-Policy needs no exception. Without
Node or npm the tests skip, and fail under ``CI=true``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from tests.npm_support import npm_installed

SOURCE = Path(__file__).parent / "htmlcs"
STANDARD = "WCAG2AA"

RUN = """(standard) => new Promise((resolve, reject) => {
    HTMLCS.process(standard, document, () => {
        resolve(HTMLCS.getMessages()
            .filter((m) => m.type === HTMLCS.ERROR)
            .map((m) => ({code: m.code, msg: m.msg,
                          element: (m.element && m.element.outerHTML || "").slice(0, 200)})));
    }, () => reject(new Error("HTML_CodeSniffer failed")), "en");
})"""


@pytest.fixture(scope="session")
def htmlcs_source() -> str:
    """The text of HTML_CodeSniffer's browser build."""
    built = "node_modules/html_codesniffer/build/HTMLCS.js"
    return (npm_installed(SOURCE, "htmlcs", built) / built).read_text(encoding="utf-8")


async def htmlcs_errors(page: Page, source: str) -> list[dict[str, Any]]:
    """HTML_CodeSniffer's errors (not its warnings or notices) for WCAG 2 AA on the page."""
    if not await page.evaluate("() => typeof window.HTMLCS !== 'undefined'"):
        await page.evaluate(source)
    errors: list[dict[str, Any]] = await page.evaluate(RUN, STANDARD)
    return errors


def describe_htmlcs(errors: list[dict[str, Any]]) -> str:
    return "\n".join(f"{e['code']}: {e['msg'][:160]} -> {e['element'][:160]}" for e in errors)
