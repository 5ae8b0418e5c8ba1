"""What the appointment page and the clerk's call page say about the video room's opening time:
"open now" with the way in while the join window is open; days ahead the date and no way in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_date
from starlette.applications import Starlette

from core.types import utcnow
from tests.app.pages.call_helpers import (
    CallSeed,
    add_appointment,
    add_clerk,
    login,
    quick_hashes,
    seed_offices,
)

__all__ = ["quick_hashes"]
pytestmark = pytest.mark.usefixtures("quick_hashes")


def local_day_of(moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo("Europe/Berlin")).date()


@pytest.fixture
async def seeded(app: Starlette) -> CallSeed:
    return await seed_offices(app)


async def test_open_room_says_open_now_and_offers_the_way_in(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    _, token = await add_appointment(app, seeded)  # starts in 5 minutes: the room is open
    page = (await client.get(f"/t/{token}")).text
    assert "Der Videoraum ist jetzt offen. Er bleibt bis" in page
    assert "Der Videoraum öffnet 15 Minuten" not in page
    assert f'href="/t/{token}/call"' in page and 'id="go-to-call"' in page
    english = (await client.get(f"/t/{token}?lang=en")).text
    assert "The video room is open now. It stays open until" in english


async def test_days_ahead_the_page_names_the_date_and_offers_no_way_in(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    start = utcnow() + dt.timedelta(days=3)
    _, token = await add_appointment(app, seeded, start=start)
    page = (await client.get(f"/t/{token}")).text
    opens = (start - dt.timedelta(minutes=15)).astimezone(ZoneInfo("Europe/Berlin"))
    day = format_date(opens.date(), format="full", locale="de")  # "Donnerstag, 10. Dezember 2026"
    assert f"Der Videoraum öffnet 15 Minuten vor Ihrem Termin, am {day} um " in page
    assert "jetzt offen" not in page
    assert 'id="go-to-call"' not in page
    # The connection test is offered all the same: a citizen checks the camera ahead.
    assert 'id="connection-test-start"' in page


async def test_clerk_page_names_the_day_when_the_room_opens_on_another_day(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    await add_clerk(app, [seeded.office_id])
    await login(client)
    later, _ = await add_appointment(app, seeded, start=utcnow() + dt.timedelta(days=3))
    soon, _ = await add_appointment(app, seeded)
    page = (await client.get(f"/staff/call/{later}")).text
    opens = page.split('data-opens="', 1)[1].split('"', 1)[0]
    day = format_date(local_day_of(utcnow() + dt.timedelta(days=3, minutes=-15)), format="full",
                      locale="de")
    assert opens.startswith(f"am {day} um ") and opens.endswith(" Uhr"), opens
    page = (await client.get(f"/staff/call/{soon}")).text
    opens = page.split('data-opens="', 1)[1].split('"', 1)[0]
    assert opens.startswith("um ") and opens.endswith(" Uhr"), opens
