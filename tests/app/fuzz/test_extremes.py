"""Input at the edges, over real HTTP against a real uvicorn, for every operation of the OpenAPI
document: JSON nested hundreds of levels deep, ids beyond any integer column, and dates at the
ends of the calendar. Each gets a clear answer in the error shape (400, 401, 403, 404 or 422),
never a server error, anonymous and as an admin."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import live_server
from tests.staff.helpers import (
    add_appointment,
    add_office,
    add_service,
    add_user,
    bearer,
    page_login,
    token_for,
)
from tests.staff.helpers import next_weekday_at as weekday

ADMIN = "extreme.admin@stadt.example"
DEEP = 400
HUGE_IDS = ["2147483648", "9223372036854775808", "1" * 40]
EXTREME_DAYS = ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"]
DATE_PARAMS = ("date", "from", "to", "day", "start", "end")
PAGES_WITH_DAYS = ["/staff", "/staff/agenda/print", "/staff/dispatch", "/admin/audit"]


def deep_json(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def assert_clear(r: httpx.Response, where: str) -> None:
    assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
    if r.status_code >= 400 and r.headers.get("content-type", "").startswith("application/json"):
        error = r.json()["error"]
        assert error["code"] and error["message"], where


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), path, op))
    return found


def concrete(path: str, **values: str) -> str:
    """``/x/{id}/y/{reference}`` with the given values (others: harmless placeholders)."""
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return values.get(name, {"reference": "BB-AAAA-AAAA", "resource": "offices",
                                 "case_number": "2026-000001"}.get(name, "1"))
    return re.sub(r"\{(\w+)\}", fill, path)


@pytest.fixture
async def site(app: Starlette) -> Any:
    office = await add_office(app)
    service = await add_service(app, [office])
    await add_appointment(app, office_id=office, service_id=service, start=weekday(10))
    await add_user(app, ADMIN, role="admin")
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        admin = bearer(await token_for(http, ADMIN))
        spec = (await http.get("/api/v1/openapi.json")).json()
        yield http, admin, spec


async def test_deeply_nested_json_is_refused_everywhere(site: Any) -> None:
    http, admin, spec = site
    body = deep_json(DEEP)
    sent = 0
    for method, path, op in operations(spec):
        if "requestBody" not in op:
            continue
        for headers in ({}, admin):
            r = await http.request(method, concrete(path), content=body,
                                   headers={**headers, "Content-Type": "application/json"})
            assert_clear(r, f"{method} {path}")
            sent += 1
    assert sent >= 20  # the spec has that many operations with a body
    # Where the body is read before anything else, the answer says what is wrong with it.
    r = await http.post("/api/v1/appointments", content=body,
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert "verschachtelt" in r.json()["error"]["message"]
    # Deeper than the JSON parser itself goes: a clear 400, not a server error.
    r = await http.post("/api/v1/appointments", content=deep_json(5000),
                        headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "malformed_json")


async def test_ids_beyond_the_integer_columns_are_404(site: Any) -> None:
    http, admin, spec = site
    probed = 0
    for method, path, _op in operations(spec):
        if "{id}" not in path:
            continue
        for huge in HUGE_IDS:
            r = await http.request(method, concrete(path, id=huge), headers=admin,
                                   json={} if method in ("POST", "PATCH", "PUT") else None)
            assert r.status_code == 404, f"{method} {path} {huge}: {r.status_code} {r.text}"
            probed += 1
    assert probed >= 9
    r = await http.get("/admin/offices/99999999999999999999", headers=admin)
    assert r.status_code == 404


async def test_dates_at_the_ends_of_the_calendar(site: Any) -> None:
    http, admin, spec = site
    probed = 0
    for method, path, op in operations(spec):
        if method != "GET":
            continue
        names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"
                 and p["name"] in DATE_PARAMS]
        for name in names:
            for day in EXTREME_DAYS:
                r = await http.get(concrete(path), params={name: day}, headers=admin)
                assert_clear(r, f"GET {path}?{name}={day}")
                probed += 1
    assert probed >= 12  # agenda, audit, dispatch, availability, ...
    r = await http.get("/api/v1/clerk/appointments", params={"date": "9999-12-31"},
                       headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


async def test_pages_with_dates_at_the_ends_of_the_calendar(site: Any) -> None:
    http, _admin, _spec = site
    r = await page_login(http, ADMIN)
    assert r.status_code in (200, 303), r.text
    for page in PAGES_WITH_DAYS:
        for name in ("date", "from", "to"):
            for day in EXTREME_DAYS:
                r = await http.get(page, params={name: day})
                assert r.status_code < 500, f"{page}?{name}={day}: {r.status_code}"
