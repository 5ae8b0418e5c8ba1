"""The clerk's message to those waiting (``POST /staff/waiting-message``) against a real uvicorn:
it reaches the waiting citizen over the real signalling server, a citizen who comes later gets
the last one, "to everyone" reaches exactly the open rooms of the clerk's offices, bad input gets
a clear error, and the audit keeps who wrote to whom but never the text. SQLite and Postgres;
once more with Redis holding the room state and carrying the message."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from redis.asyncio import Redis

from app.main import create_app
from app.settings import Settings
from core.audit import AuditEvent
from signaling.protocol import WaitingInfo, decode_server
from tests.calls.peers import Signal
from tests.cases.conftest import CLERK_A, Desk, build_desk
from tests.cases.desk.conftest import csrf
from tests.conftest import REDIS_URL, live_server, require
from tests.staff.helpers import page_login

pytestmark = pytest.mark.usefixtures("office_hours")

TEXT = "Wir sind etwa 5 Minuten im Verzug."
JSON = {"Accept": "application/json"}


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[Desk, str]]:
    application = create_app(settings)
    async with live_server(application) as base, httpx.AsyncClient(base_url=base) as http:
        found = await build_desk(application, http)
        assert (await page_login(http, CLERK_A)).status_code == 303
        yield found, base


async def post(desk: Desk, **fields: str) -> httpx.Response:
    data = {"csrf_token": await csrf(desk.client), **fields}
    return await desk.client.post("/staff/waiting-message", data=data, headers=JSON)


async def waiting_citizen(base: str, token: str) -> Signal:
    citizen = await Signal.open(base)
    await citizen.hello(token)
    await citizen.expect("waiting")
    return citizen


async def next_info(citizen: Signal) -> WaitingInfo:
    message = decode_server(json.dumps(await citizen.recv()))
    assert isinstance(message, WaitingInfo), message
    return message


async def test_the_message_reaches_the_waiting_citizen_and_later_arrivals(
        settings: Settings) -> None:
    async with served(settings) as (desk, base):
        reference, token = await desk.appointment(start_in=dt.timedelta(minutes=5))
        citizen = await waiting_citizen(base, token)
        try:
            r = await post(desk, reference=reference, text=f"  {TEXT}\n")
            assert r.status_code == 200, r.text
            assert r.json()["sent"] == 1 and r.json()["references"] == [reference]
            got = await next_info(citizen)
            assert got.text == TEXT  # spaces squeezed
            assert dt.datetime.fromisoformat(got.sent_at).tzinfo is not None
        finally:
            await citizen.close()
        # Someone who arrives (or comes back) later sees the last message at once.
        again = await waiting_citizen(base, token)
        try:
            assert (await next_info(again)).text == TEXT
            await again.nothing()
        finally:
            await again.close()
        [event] = await desk.rows(AuditEvent, action="call.waiting_message")
        assert event.actor_label == CLERK_A and event.object_type == "appointment"
        assert json.loads(event.detail) == {"characters": len(TEXT), "to_all": False}
        assert "Verzug" not in event.detail  # the text is not kept in the database


async def test_to_everyone_reaches_the_open_rooms_of_my_offices(settings: Settings) -> None:
    async with served(settings) as (desk, base):
        waiting, token = await desk.appointment(start_in=dt.timedelta(minutes=5))
        coming, coming_token = await desk.appointment(start_in=dt.timedelta(minutes=10))
        later, _ = await desk.appointment(start_in=dt.timedelta(hours=3))  # room not open yet
        elsewhere, _ = await desk.appointment(office="b", start_in=dt.timedelta(minutes=5))
        citizen = await waiting_citizen(base, token)
        try:
            r = await post(desk, text=TEXT)
            assert r.status_code == 200, r.text
            assert sorted(r.json()["references"]) == sorted([waiting, coming])
            assert (await next_info(citizen)).text == TEXT
        finally:
            await citizen.close()
        arriving = await waiting_citizen(base, coming_token)
        try:
            assert (await next_info(arriving)).text == TEXT
        finally:
            await arriving.close()
        events = await desk.rows(AuditEvent, action="call.waiting_message")
        assert len(events) == 2
        assert all(json.loads(e.detail)["to_all"] is True for e in events)
        assert later not in r.text and elsewhere not in r.text


async def test_bad_messages_get_clear_errors(settings: Settings) -> None:
    async with served(settings) as (desk, _):
        reference, _ = await desk.appointment(start_in=dt.timedelta(minutes=5))
        later, _ = await desk.appointment(start_in=dt.timedelta(hours=3))
        elsewhere, _ = await desk.appointment(office="b", start_in=dt.timedelta(minutes=5))
        http = desk.client
        r = await http.post("/staff/waiting-message", data={"text": TEXT}, headers=JSON)
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
        r = await post(desk, reference=reference, text="   ")
        assert r.status_code == 422
        assert r.json()["error"] == {"code": "waiting_message_empty", "message":
                                     "Bitte schreiben Sie eine Nachricht für die Wartenden."}
        r = await post(desk, reference=reference, text="x" * 501)
        assert r.status_code == 422 and r.json()["error"]["code"] == "waiting_message_too_long"
        r = await post(desk, reference=later, text=TEXT)
        assert r.status_code == 409 and r.json()["error"]["code"] == "waiting_room_closed"
        r = await post(desk, reference=elsewhere, text=TEXT)
        assert r.status_code == 403
        r = await post(desk, reference="NOPE-0000", text=TEXT)
        assert r.status_code == 404
        assert await desk.rows(AuditEvent, action="call.waiting_message") == []
        # Without JavaScript: a plain form post comes back to the agenda with a notice.
        token = await csrf(http)
        r = await http.post("/staff/waiting-message", data={
            "csrf_token": token, "reference": reference, "text": TEXT, "next": "/staff"})
        assert r.status_code == 303 and r.headers["location"] == "/staff?done=waiting_message"
        page = await http.get(r.headers["location"])
        assert "Ihre Nachricht wurde an die Wartenden gesendet." in page.text
        # Without a session: 401 in JSON (the page's script says so), no redirect.
        async with httpx.AsyncClient(base_url=str(http.base_url)) as stranger:
            r = await stranger.post("/staff/waiting-message", data={"text": TEXT},
                                    headers=JSON)
            assert r.status_code == 401


@pytest.mark.redis
async def test_with_redis_the_room_state_keeps_the_message(
        settings_factory: Callable[..., Settings]) -> None:
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    assert REDIS_URL is not None
    settings = settings_factory(redis_url=REDIS_URL)
    async with served(settings) as (desk, base):
        reference, token = await desk.appointment(start_in=dt.timedelta(minutes=5))
        citizen = await waiting_citizen(base, token)
        try:
            assert (await post(desk, reference=reference, text=TEXT)).status_code == 200
            assert (await next_info(citizen)).text == TEXT
        finally:
            await citizen.close()
        client: Redis = Redis.from_url(REDIS_URL)
        try:
            key = f"{settings.redis_prefix}wait:{reference}"
            assert (await client.hget(key, "note")) == TEXT.encode()
            assert await client.hget(key, "since") is not None
            assert await client.pttl(key) > 0  # gone with the room
        finally:
            await client.aclose()
