"""The inbox's live stream /staff/requests/events read from a real uvicorn: an event at once,
one when a request comes in, when the citizen answers and when a clerk changes its status,
keep-alive comments in between, the end on logout, and 401 without a session."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.pages import inbox as inbox_pages
from app.settings import Settings
from tests.cases.conftest import CLERK_A, build_desk
from tests.cases.desk.test_agenda import EventReader
from tests.conftest import live_server
from tests.online.conftest import DOG_TAX, Portal
from tests.online.pages_staff.conftest import page_forms
from tests.staff.helpers import page_login


def rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["reference"]: row for row in data["rows"]}


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[Portal]:
    application = create_app(settings)
    async with live_server(application) as base, httpx.AsyncClient(base_url=base) as http:
        desk = await build_desk(application, http)
        r = await http.post("/api/v1/admin/online-services", headers=desk.admin,
                            json={**DOG_TAX, "office_ids": [desk.office_a, desk.office_b]})
        assert r.status_code == 201, r.text
        assert (await page_login(http, CLERK_A)).status_code == 303
        yield Portal(desk=desk, service_id=r.json()["id"])


async def test_the_inbox_follows_new_requests_and_answers(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox_pages, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(inbox_pages, "HEARTBEAT_SECONDS", 0.2)
    async with served(settings) as portal:
        http = portal.client
        first_ref, _ = await portal.sent()
        async with http.stream("GET", "/staff/requests/events?view=open") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            stream = EventReader(response)
            first = await stream.next()
            assert first is not None and first.name == "inbox" and stream.retry == "3000"
            data = json.loads(first.data)
            assert rows(data)[first_ref]["status"] == "received"
            assert data["counts"]["new"] == "1" and data["counts"]["open"] == "1"
            assert f'id="row-{first_ref}"' in data["html"]
            # Nothing happens: only keep-alive comments.
            await stream.keep_alives(2)

            # A new request comes in (and one for office B, which clerk A never sees).
            second_ref, link = await portal.sent(citizen={
                "given_name": "Max", "family_name": "Muster", "email": "max@example.org"})
            await portal.sent(office="b", citizen={
                "given_name": "Nora", "family_name": "Nord", "email": "nora@example.org"})
            event = await stream.next()
            assert event is not None
            data = json.loads(event.data)
            assert set(rows(data)) == {first_ref, second_ref}
            assert data["counts"]["new"] == "2"

            # The office asks (a status change), then the citizen answers: highlighted, first.
            r = await http.post(f"/api/v1/clerk/requests/{second_ref}/messages",
                                json={"text": "Welche Rasse genau?"},
                                headers=portal.desk.clerk_a)
            assert r.status_code == 200
            event = await stream.next()
            assert event is not None
            assert rows(json.loads(event.data))[second_ref]["status"] == "waiting_for_citizen"
            r = await http.post("/api/v1/me/messages", json={"text": "Ein Dackel."},
                                headers=link)
            assert r.status_code == 201
            event = await stream.next()
            assert event is not None
            data = json.loads(event.data)
            assert data["rows"][0]["reference"] == second_ref
            assert data["rows"][0]["attention"] is True
            assert data["rows"][0]["status"] == "in_progress"
            assert "Neue Antwort" in data["html"]
            assert set(stream.comments) == {": keep-alive"}

            # Logging out ends the stream; reconnecting is refused.
            page = await http.get("/staff/requests")
            logout = next(f for f in page_forms(page.text).values()
                          if f["action"] == "/staff/logout")
            await http.post("/staff/logout", data=dict(logout["fields"]))
            assert await stream.next() is None
        r = await http.get("/staff/requests/events")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


async def test_the_stream_keeps_the_filters_and_refuses_another_office(
        clerk: Portal, app: Starlette) -> None:
    r = await clerk.client.get(f"/staff/requests/events?office_id={clerk.desk.office_b}")
    assert r.status_code == 403
    page = await clerk.client.get("/staff/requests", params={
        "view": "waiting", "service_id": str(clerk.service_id)})
    assert (f'data-events="/staff/requests/events?view=waiting&amp;service_id='
            f'{clerk.service_id}&amp;lang=de"') in page.text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as stranger:
        r = await stranger.get("/staff/requests/events")
    assert r.status_code == 401
