"""The booking flow's channel step and the link page of an appointment on site or by phone:
the choice of channel, the phone number a phone appointment needs, the office's address and
what to bring, the number we call, and no video room or device check (SQLite and Postgres)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col
from starlette.applications import Starlette

from booking.models import Service
from tests.app.pages.helpers import csrf_of, details_form, load, radio_values, token_of
from tests.app.pages.seed import Seed, app_ctx, seed

PHONE = "0711 1234567"


@pytest.fixture
async def seeded(app: Starlette) -> Seed:
    """The registration certificate offered by video, on site and by phone."""
    found = await seed(app)
    async with app_ctx(app).db.transaction(write=True) as session:
        await session.execute(update(Service).where(col(Service.id) == found.service_id).values(
            onsite=True, phone=True, bring="Ihre alte Meldebescheinigung\nEinen Kugelschreiber"))
    return found


async def walk(client: httpx.AsyncClient, seeded: Seed, channel: str) -> tuple[str, str, str]:
    """Service → channel → day → time; (day, slot, details page)."""
    r = await client.get(f"/book?service={seeded.service_id}&channel={channel}")
    assert r.status_code == 200, r.text
    day = radio_values(r.text, "day")[0]
    r = await client.get(f"/book?service={seeded.service_id}&channel={channel}&day={day}")
    slot = radio_values(r.text, "slot")[0]
    r = await client.get("/book", params={"service": seeded.service_id, "channel": channel,
                                          "day": day, "slot": slot})
    assert r.status_code == 200, r.text
    return day, slot, r.text


async def book(client: httpx.AsyncClient, seeded: Seed, channel: str, **extra: str) -> str:
    day, slot, page = await walk(client, seeded, channel)
    r = await client.post("/book", data={
        **details_form(csrf_of(page), seeded.service_id, day, slot, **extra),
        "channel": channel})
    assert r.status_code == 303, r.text
    return await done_reference(client)


async def done_reference(client: httpx.AsyncClient) -> str:
    page = (await client.get("/book/done")).text
    match = re.search(r"<dd>(BB-[A-Z0-9]{4}-[A-Z0-9]{4})</dd>", page)
    assert match
    return match.group(1)


async def test_the_flow_asks_for_the_channel(client: httpx.AsyncClient, seeded: Seed) -> None:
    r = await client.get(f"/book?service={seeded.service_id}")
    assert r.status_code == 200
    assert radio_values(r.text, "channel") == ["video", "onsite", "phone"]
    assert "Wie möchten Sie mit uns sprechen?" in r.text
    assert "Sie kommen ins Bürgerbüro: Rathausplatz 1, 12345 Musterstadt" in r.text
    assert 'aria-current="step"><span class="step-name">Wie</span>' in r.text
    # Sent without a choice: the error beside the radio group.
    r = await client.get(f"/book?service={seeded.service_id}&step=channel&lang=en")
    assert r.status_code == 422
    assert "Choose how you would like to meet us." in r.text
    # A service offered by one channel only is not asked.
    r = await client.get(f"/book?service={seeded.free_service_id}")
    assert radio_values(r.text, "channel") == [] and radio_values(r.text, "day")


async def test_a_phone_appointment_needs_the_number(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    day, slot, page = await walk(client, seeded, "phone")
    assert "Unter dieser Nummer rufen wir Sie zur Terminzeit an." in page
    assert "Telefonnummer (optional)" not in page
    assert "<dd>Per Telefon</dd>" in page
    form = {**details_form(csrf_of(page), seeded.service_id, day, slot), "channel": "phone"}
    r = await client.post("/book", data=form)
    assert r.status_code == 422
    assert "Bitte geben Sie die Telefonnummer an, unter der wir Sie anrufen sollen." in r.text
    r = await client.post("/book?lang=en", data={**form, "phone": ""})
    assert "Please enter the phone number we should call you on." in r.text
    r = await client.post("/book", data={**form, "phone": PHONE})
    assert r.status_code == 303, r.text
    appointment = await load(app, await done_reference(client))
    assert (appointment.channel, appointment.phone) == ("phone", PHONE)


async def test_the_link_page_on_site(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    reference = await book(client, seeded, "onsite")
    assert (await load(app, reference)).channel == "onsite"
    link = f"/t/{await token_of(app, reference)}"
    html = (await client.get(link)).text
    assert 'id="channel-onsite"' in html
    assert "Rathausplatz 1" in html and "12345 Musterstadt" in html
    assert "<li>Ihre alte Meldebescheinigung</li>" in html
    assert "<li>Einen Kugelschreiber</li>" in html
    assert "<dd>Vor Ort im Bürgerbüro</dd>" in html
    # No way into a video room, no device check.
    for absent in ('id="connection-test"', 'id="go-to-call"', "connection-test.js",
                   "Kamera", 'id="join-window"'):
        assert absent not in html, absent
    # The call page refuses clearly and offers no call.
    r = await client.get(f"{link}/call")
    assert r.status_code == 409
    assert "Dieser Termin findet im Bürgerbüro statt, nicht per Video." in r.text
    assert "call.js" not in r.text and 'id="join"' not in r.text


async def test_the_link_page_by_phone(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    reference = await book(client, seeded, "phone", phone=PHONE)
    link = f"/t/{await token_of(app, reference)}"
    html = (await client.get(link)).text
    assert f"Wir rufen Sie unter {PHONE} an, am " in html
    for absent in ('id="connection-test"', 'id="go-to-call"', "connection-test.js"):
        assert absent not in html, absent
    html = (await client.get(f"{link}?lang=en")).text
    assert f"We call you on {PHONE} on " in html
    r = await client.get(f"{link}/call?lang=en")
    assert r.status_code == 409 and "takes place by phone" in r.text


async def test_a_video_appointment_keeps_its_video_room(
    app: Starlette, client: httpx.AsyncClient, seeded: Seed
) -> None:
    reference = await book(client, seeded, "video")
    html = (await client.get(f"/t/{await token_of(app, reference)}")).text
    assert 'id="connection-test"' in html and 'id="channel-onsite"' not in html
    assert "<dd>Per Video</dd>" in html
