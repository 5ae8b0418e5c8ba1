"""Release times over HTTP, with the product's clock put at 06:59 and 07:00 office time: the
availability does not list the day three weeks ahead before its release, a booking for it is
409 ``not_released`` saying when it opens, a kept answer does not outlive the release moment,
and the booking page says when more appointments come."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from app.api.availability import cache_of
from app.db import Database
from app.main import create_app
from app.settings import Settings
from booking.models import Schedule
from core.types import Clock
from tests.app.api.conftest import app_ctx
from tests.booking.factories import BERLIN, World, local
from tests.conftest import running

# Tomorrow: the product's clock is put ahead of the wall clock at any hour the suite runs, so a
# part that read the wall clock instead (as the availability cache once did) fails every time.
TODAY = datetime.now(BERLIN).date() + timedelta(days=1)
OPENING = TODAY + timedelta(days=21)


@pytest.fixture
def set_clock() -> Iterator[Callable[[datetime], None]]:
    """Put the product's clock (``core.types.utcnow``) at an instant; it runs on from there."""

    def put(instant: datetime) -> None:
        Clock.shift(instant - datetime.now(UTC))

    yield put
    Clock.shift(timedelta(0))


async def release_at_seven(db: Database, w: World) -> None:
    async with db.transaction(write=True) as session:
        await session.execute(update(Schedule).where(
            Schedule.id == w.schedule.id).values(  # type: ignore[arg-type]
            release_time=time(7), release_days_ahead=21))


def window(w: World, first: date, last: date) -> dict[str, object]:
    return {"service_id": w.service_id, "office_id": w.office_id, "from": first.isoformat(),
            "to": last.isoformat()}


async def days(client: httpx.AsyncClient, w: World) -> set[str]:
    r = await client.get("/api/v1/availability", params=window(w, OPENING - timedelta(days=1),
                                                               OPENING + timedelta(days=1)))
    assert r.status_code == 200, r.text
    return {s["start"][:10] for s in r.json()["slots"]}


async def book(client: httpx.AsyncClient, w: World, day: date) -> httpx.Response:
    return await client.post("/api/v1/appointments", json={
        "service_id": w.service_id, "office_id": w.office_id,
        "start": datetime.combine(day, time(9), tzinfo=BERLIN).isoformat(),
        "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                    "email": "erika@example.com"}})


async def test_before_seven_the_day_is_neither_listed_nor_bookable(
    client: httpx.AsyncClient, db: Database, seeded: World,
    set_clock: Callable[[datetime], None],
) -> None:
    await release_at_seven(db, seeded)
    set_clock(local(TODAY, 6, 59))
    assert await days(client, seeded) == {(OPENING - timedelta(days=1)).isoformat()}
    r = await book(client, seeded, OPENING)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == {
        "code": "not_released",
        "message": "Die Termine dieses Tages sind noch nicht freigegeben. Sie werden am "
                   f"{TODAY.isoformat()} um 07:00 Uhr (Ortszeit des Bürgerbüros) freigegeben."}
    r = await client.post("/api/v1/appointments?lang=en", json={
        **(await book_body(seeded)), "locale": "en"})
    assert r.status_code == 409 and "They open on" in r.json()["error"]["message"]

    set_clock(local(TODAY, 7))
    assert await days(client, seeded) == {
        (OPENING - timedelta(days=1)).isoformat(), OPENING.isoformat()}
    r = await book(client, seeded, OPENING)
    assert r.status_code == 201, r.text


async def book_body(w: World) -> dict[str, object]:
    return {"service_id": w.service_id, "office_id": w.office_id,
            "start": datetime.combine(OPENING, time(9), tzinfo=BERLIN).isoformat(),
            "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                        "email": "erika@example.com"}}


async def test_a_kept_answer_goes_at_the_release_moment(
    settings_factory: Callable[..., Settings], db: Database, seeded: World,
    set_clock: Callable[[datetime], None],
) -> None:
    """Kept for up to an hour otherwise, an answer read at 06:59 is not served at 07:00."""
    await release_at_seven(db, seeded)
    app: Starlette = create_app(settings_factory(availability_cache_seconds=3600))
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        cache = cache_of(app_ctx(app))
        set_clock(local(TODAY, 6, 59))
        assert OPENING.isoformat() not in await days(client, seeded)
        hits = cache.hits
        assert OPENING.isoformat() not in await days(client, seeded)
        assert cache.hits == hits + 1  # kept while nothing changes
        set_clock(local(TODAY, 7))
        assert OPENING.isoformat() in await days(client, seeded)


async def test_the_booking_page_says_when_more_appointments_come(
    client: httpx.AsyncClient, db: Database, seeded: World,
) -> None:
    page = await client.get("/book", params={"service": seeded.service_id})
    assert page.status_code == 200 and "freigegeben" not in page.text
    await release_at_seven(db, seeded)
    page = await client.get("/book", params={"service": seeded.service_id})
    assert "Weitere Termine werden täglich um 07:00 Uhr freigegeben." in page.text
    page = await client.get("/book", params={"service": seeded.service_id, "lang": "en"})
    assert "More appointments are released every day at 07:00." in page.text
