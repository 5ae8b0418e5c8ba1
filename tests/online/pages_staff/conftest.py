"""The clerk's pages of online requests: the portal of ``tests/online/conftest.py`` (two
offices, a clerk of each, an admin, the dog-tax service) with a page session for clerk A on
its client, and a browser's way of sending the pages' forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette

from tests.cases.conftest import CLERK_A
from tests.online.conftest import Portal
from tests.staff.helpers import page_login


@pytest.fixture
async def clerk(portal: Portal) -> Portal:
    """The portal, its client signed in to the pages as clerk A."""
    r = await page_login(portal.client, CLERK_A)
    assert r.status_code == 303, r.text
    return portal


@asynccontextmanager
async def browser_of(app: Starlette, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser (its own cookies), signed in to the pages as ``email``."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        r = await page_login(client, email)
        assert r.status_code == 303, r.text
        yield client


class _Forms(HTMLParser):
    """The forms of a page as a browser would send them: each form's successful controls."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, dict[str, Any]] = {}
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": []}
            self.forms[a.get("id") or f"form-{len(self.forms)}"] = self._form
        if self._form is None:
            return
        fields = self._form["fields"]
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button"):
                fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = name
            fields.append((name, None))  # the first option, unless one is selected
        elif tag == "option" and self._select is not None:
            last = max(i for i, (n, _) in enumerate(fields) if n == self._select)
            if fields[last][1] is None or "selected" in a:
                fields[last] = (self._select, a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            fields.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            fields = self._form["fields"]
            fields[-1] = (fields[-1][0], fields[-1][1] + data.removeprefix("\n"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def page_forms(html: str) -> dict[str, dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


async def submit(client: httpx.AsyncClient, page: str, form_id: str,
                 changes: dict[str, str | list[str]] | None = None,
                 button: tuple[str, str] | None = None) -> httpx.Response:
    """Load ``page`` and send its form ``form_id`` as a browser would: the shown values, with
    ``changes`` (a list for several values, [] to untick), and the ``button`` pressed."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    form = page_forms(shown.text)[form_id]
    changes = changes or {}
    pairs = [(n, v or "") for n, v in form["fields"] if n not in changes]
    for name, value in changes.items():
        pairs.extend((name, v) for v in ([value] if isinstance(value, str) else value))
    if button is not None:
        pairs.append(button)
    return await client.post(form["action"], content=urlencode(pairs).encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})


def text_of(html: str) -> str:
    """The page's words without tags, spaces squeezed (for "is this sentence shown")."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
