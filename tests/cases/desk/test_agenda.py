"""The agenda /staff: join and no-show buttons, search, another day, the printable day list, and
the live status stream /staff/agenda/events read from a real uvicorn (SQLite and Postgres)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col
from starlette.applications import Starlette

from app.main import create_app
from app.pages import desk as desk_pages
from app.settings import Settings
from booking.models import Appointment
from tests.calls.peers import Signal
from tests.cases.conftest import CLERK_A, Desk, build_desk
from tests.cases.desk.conftest import csrf
from tests.conftest import live_server
from tests.staff.helpers import CHANGEOVER_DAYS, add_appointment, berlin, page_login

BERLIN = ZoneInfo("Europe/Berlin")


# They read "today's" agenda: run at 11:00 Berlin time, whenever they run (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("office_hours")


def row_of(html: str, reference: str) -> str:
    marker = f'id="row-{reference}"'
    assert marker in html, f"{reference} is not in the agenda"
    return html.split(marker, 1)[1].split("</tr>", 1)[0]


def shown(row: str, hook: str) -> bool:
    """Whether the element with the data hook ``hook`` is rendered visible."""
    tag = row.split(hook, 1)[1].split(">", 1)[0]
    return " hidden" not in tag


async def set_status(desk: Desk, reference: str, status: str) -> None:
    [found] = await desk.rows(Appointment, reference=reference)
    async with desk.state.db.transaction(write=True) as session:
        row = await session.get(Appointment, found.id)
        assert row is not None
        row.status = status


async def test_agenda_rows_with_join_and_no_show(desk: Desk) -> None:
    started, _ = await desk.appointment()  # five minutes ago
    later, _ = await desk.appointment(start_in=dt.timedelta(minutes=30))
    done, _ = await desk.appointment(start_in=dt.timedelta(minutes=-3))
    await set_status(desk, done, "completed")
    other_office, _ = await desk.appointment(office="b")
    r = await desk.client.get("/staff")
    assert r.status_code == 200
    html = r.text
    assert other_office not in html
    assert '<script type="module" src="/static/js/agenda-live.js"></script>' in html
    assert 'data-events="/staff/agenda/events?date=' in html
    row = row_of(html, started)
    assert 'data-status="confirmed"' in html and 'data-waiting="no"' in row
    assert shown(row, "data-join") and shown(row, "data-no-show")
    assert f'action="/staff/call/{started}/no-show"' in row
    assert f'<a href="/staff/call/{started}" class="btn btn-small btn-secondary join-link"' in row
    assert not shown(row, "data-waiting-badge")
    row = row_of(html, later)
    assert shown(row, "data-join") and not shown(row, "data-no-show")
    row = row_of(html, done)
    assert not shown(row, "data-join") and not shown(row, "data-no-show")
    assert "Erledigt" in row
    assert 'aria-live="polite"' in html  # the live region for announcements
    r = await desk.client.get("/staff?lang=en")
    assert "Waiting now" in r.text and "Join" in r.text and "Printable day list" in r.text


async def test_search_by_reference_or_name(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    squeezed = reference.replace("-", "").lower()
    for query in (reference, squeezed, "mustermann", "Erika Muster", "MUSTERMANN erika"):
        r = await desk.client.get("/staff", params={"q": query})
        assert r.status_code == 200
        assert f'id="row-{reference}"' in r.text, query
        assert f'value="{query}"' in r.text
    r = await desk.client.get("/staff", params={"q": "Niemand"})
    assert 'id="row-' not in r.text
    assert "An diesem Tag passt kein Termin zu Ihrer Suche." in r.text
    # The search stays with the live stream and the day list.
    assert "q=Niemand" in r.text.split('id="print-link"', 1)[0].rsplit("href=", 1)[1]


async def test_another_day_by_the_picker(desk: Desk) -> None:
    tomorrow, _ = await desk.appointment(start_in=dt.timedelta(days=1))
    today, _ = await desk.appointment()
    day = dt.datetime.now(BERLIN).date() + dt.timedelta(days=1)
    # Late in the evening "tomorrow + 5 min" may fall on the day after; look it up.
    [found] = await desk.rows(Appointment, reference=tomorrow)
    day = found.start_at.astimezone(BERLIN).date()
    r = await desk.client.get("/staff", params={"date": day.isoformat()})
    assert f'id="row-{tomorrow}"' in r.text and f'id="row-{today}"' not in r.text
    assert f'data-events="/staff/agenda/events?date={day.isoformat()}' in r.text
    r = await desk.client.get("/staff", params={"date": "gestern"})
    assert 'id="date-error"' in r.text


@pytest.mark.parametrize("season", list(CHANGEOVER_DAYS))
async def test_agenda_page_on_a_dst_changeover_day(desk: Desk, season: str) -> None:
    """The page shows the same day as the API: Berlin's midnight to midnight, 23 or 25 hours,
    each time with its own offset."""
    day, times = CHANGEOVER_DAYS[season]
    inside = []
    for hour, minute, fold, _ in times:
        appointment_id, _ = await add_appointment(
            desk.app, office_id=desk.office_a, service_id=desk.certificate,
            start=berlin(day, hour, minute, fold))
        [found] = await desk.rows(Appointment, id=appointment_id)
        inside.append(found.reference)
    outside = []
    for start in (berlin(day - dt.timedelta(days=1), 23, 45),
                  berlin(day + dt.timedelta(days=1), 0, 15)):
        appointment_id, _ = await add_appointment(
            desk.app, office_id=desk.office_a, service_id=desk.certificate, start=start)
        [found] = await desk.rows(Appointment, id=appointment_id)
        outside.append(found.reference)
    r = await desk.client.get("/staff", params={"date": day.isoformat()})
    assert r.status_code == 200
    shown_in_order = re.findall(r'id="row-([^"]+)"', r.text)
    assert shown_in_order == inside
    ends = [berlin(day, h, m, fold) + dt.timedelta(minutes=15) for h, m, fold, _ in times]
    for reference, (hour, minute, _, _), end in zip(inside, times, ends, strict=True):
        local_end = end.astimezone(BERLIN)
        assert f"{hour:02d}:{minute:02d}–{local_end:%H:%M}" in row_of(r.text, reference)
    assert not set(outside) & set(shown_in_order)


async def test_printable_day_list(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    async with desk.state.db.transaction(write=True) as session:
        await session.execute(update(Appointment).where(col(Appointment.reference) == reference)
                              .values(phone="0711 123456"))
    r = await desk.client.get("/staff/agenda/print")
    assert r.status_code == 200
    assert "Tagesliste für" in r.text and reference in r.text and "Erika Mustermann" in r.text
    assert 'id="day-list"' in r.text and "Notizen" in r.text
    # The list names its office and the citizens' phone numbers (to call when they are late).
    assert '<p class="print-offices" id="day-list-offices">Bürgerbüro Mitte</p>' in r.text
    assert ">Telefon<" in r.text
    assert '<a href="tel:0711123456">0711 123456</a>' in r.text
    assert "no-show" not in r.text and "data-join" not in r.text
    assert 'href="/static/css/desk.css"' in r.text
    r = await desk.client.get("/staff/agenda/print", params={"q": "Niemand"})
    assert reference not in r.text
    r = await desk.client.get("/staff")
    assert 'href="/staff/agenda/print?date=' in r.text


async def test_no_show_notice_on_the_agenda(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    token = await csrf(desk.client)
    r = await desk.client.post(f"/staff/call/{reference}/no-show",
                               data={"csrf_token": token, "next": "/staff"})
    assert r.status_code == 303
    r = await desk.client.get(r.headers["location"])
    assert "Der Termin ist als „nicht erschienen“ markiert." in r.text
    assert "Nicht erschienen" in row_of(r.text, reference)


async def test_the_stream_needs_a_session(desk: Desk, app: Starlette) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as stranger:
        r = await stranger.get("/staff/agenda/events")
    assert r.status_code == 401  # EventSource gives up instead of retrying a login page
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["cache-control"] == "no-store"


# --- the live stream, from a real server ---------------------------------------------------------


@dataclass
class Event:
    name: str
    data: str

    def rows(self) -> dict[str, dict[str, Any]]:
        return {row["reference"]: row for row in json.loads(self.data)}


class EventReader:
    """Reads a text/event-stream: events, comments and the end of the stream."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()
        self.comments: list[str] = []
        self.retry: str | None = None

    async def next(self, timeout: float = 10.0) -> Event | None:
        """The next event, or None when the server ends the stream."""
        name, data = "message", list[str]()
        async with asyncio.timeout(timeout):
            async for line in self.lines:
                if line == "":
                    if data:
                        return Event(name, "\n".join(data))
                    continue
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("retry:"):
                    self.retry = line.split(":", 1)[1].strip()
                elif line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    data.append(line.split(":", 1)[1].strip())
        return None

    async def keep_alives(self, count: int, timeout: float = 10.0) -> None:
        """Read until ``count`` more keep-alive comments came; an event on the way fails."""
        wanted = len(self.comments) + count
        async with asyncio.timeout(timeout):
            async for line in self.lines:
                assert not line.startswith(("event:", "data:")), f"not quiet: {line}"
                if line.startswith(":"):
                    self.comments.append(line)
                    if len(self.comments) >= wanted:
                        return
        raise AssertionError("the stream ended")


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[Desk, str]]:
    application = create_app(settings)
    async with live_server(application) as base, httpx.AsyncClient(base_url=base) as http:
        found = await build_desk(application, http)
        assert (await page_login(http, CLERK_A)).status_code == 303
        yield found, base


async def test_live_status_stream(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desk_pages, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(desk_pages, "HEARTBEAT_SECONDS", 0.2)
    async with served(settings) as (desk, base):
        reference, token = await desk.appointment(start_in=dt.timedelta(minutes=5))
        http = desk.client
        async with http.stream("GET", "/staff/agenda/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            stream = EventReader(response)
            first = await stream.next()
            assert first is not None and first.name == "agenda"
            assert stream.retry == "3000"
            row = first.rows()[reference]
            assert row == {"reference": reference, "status": "confirmed", "label": "Bestätigt",
                           "kind": "info", "waiting": False, "can_join": True,
                           "can_no_show": False, "waited": ""}

            # The citizen enters the waiting room: the next event says so.
            citizen = await Signal.open(base)
            try:
                await citizen.hello(token)
                await citizen.expect("waiting")
                waiting = await stream.next()
                assert waiting is not None and waiting.rows()[reference]["waiting"] is True
                assert waiting.rows()[reference]["waited"] == "wartet seit weniger als 1 Min."
                # Nothing changes for a while: only keep-alive comments, no events.
                await stream.keep_alives(2)
            finally:
                await citizen.close()
            left = await stream.next()
            assert left is not None and left.rows()[reference]["waiting"] is False
            assert stream.comments and set(stream.comments) == {": keep-alive"}

            # A status change in the database shows up too.
            await set_status(desk, reference, "completed")
            done = await stream.next()
            assert done is not None
            assert done.rows()[reference] == {
                "reference": reference, "status": "completed", "label": "Erledigt",
                "kind": "success", "waiting": False, "can_join": False, "can_no_show": False,
                "waited": ""}

            # Logging out ends the stream; reconnecting is refused.
            token_ = await csrf(http)
            await http.post("/staff/logout", data={"csrf_token": token_})
            assert await stream.next() is None
        r = await http.get("/staff/agenda/events")
        assert r.status_code == 401


async def test_the_stream_ends_after_a_while(settings: Settings,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desk_pages, "POLL_SECONDS", 0.1)
    monkeypatch.setattr(desk_pages, "STREAM_SECONDS", 0.5)
    async with served(settings) as (desk, _base):
        await desk.appointment()
        async with desk.client.stream("GET", "/staff/agenda/events?lang=en") as response:
            stream = EventReader(response)
            first = await stream.next()
            assert first is not None and "Confirmed" in first.data
            assert await stream.next(timeout=5) is None  # closed by the server
