"""The online request pages walked as a browser without JavaScript does: GET a page, read its
CSRF token, POST its multipart form (httpx sends every field as a part, files with a name)."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.online.conftest import Portal

Files = dict[str, tuple[str, bytes, str]]


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "page has no CSRF field"
    return match.group(1)


def parts(data: dict[str, str], files: Files | None = None) -> dict[str, Any]:
    """A multipart body as a browser sends it (also when no file is chosen)."""
    return {**{name: (None, value) for name, value in data.items()}, **(files or {})}


def field_error(page: str, element_id: str) -> str:
    """The message beside the input ``element_id`` (empty when there is none)."""
    match = re.search(rf'<span class="field-error" id="{re.escape(element_id)}-error">'
                      r'<span class="visually-hidden">[^<]*</span>([^<]*)</span>', page)
    return html.unescape(match.group(1)) if match else ""


def dog_tax_form(**overrides: str) -> dict[str, str]:
    values = {"breed": "Dackel", "acquired_on": "2026-11-01", "chip": "276098106543210",
              "size": "small", "consent": "yes", "citizen.given_name": "Erika",
              "citizen.family_name": "Mustermann", "citizen.email": "erika@example.org",
              "citizen.phone": ""}
    values.update(overrides)
    return values


async def send_form(portal: Portal, data: dict[str, str], files: Files | None = None, *,
                    service_id: int | None = None, office: str = "a") -> httpx.Response:
    """GET the service's form, then POST it with its CSRF token (office A unless told)."""
    path = f"/apply/{service_id or portal.service_id}"
    page = await portal.client.get(path)
    assert page.status_code == 200, page.text
    office_id = portal.desk.office_a if office == "a" else portal.desk.office_b
    body = {"csrf_token": csrf_of(page.text), "request.office": str(office_id), **data}
    return await portal.client.post(path, files=parts(body, files))


async def link_of(portal: Portal, reference: str) -> str:
    return f"/t/{await portal.token(reference)}"


async def post_on(portal: Portal, page_path: str, action: str, data: dict[str, str] | None = None,
                  files: Files | None = None, *, multipart: bool = False) -> httpx.Response:
    """POST a form of the page ``page_path`` (its CSRF token read from it)."""
    page = await portal.client.get(page_path)
    body = {"csrf_token": csrf_of(page.text), **(data or {})}
    if multipart or files:
        return await portal.client.post(action, files=parts(body, files))
    return await portal.client.post(action, data=body)
