"""Appointments on site and by phone at the clerk's desk (SQLite and Postgres): the agenda and the
clerk API show every channel with its own actions, the call token is refused for the two without
a call, and the desk page records the identity check and completes the request with the same
panels and services as the call page."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from booking.models import Appointment
from cases.models import IdentityCheck
from tests.cases.conftest import Desk
from tests.cases.desk.conftest import csrf
from tests.cases.desk.test_panels import VERIFIED, completion

PHONE = "0711 1234567"


async def appointment(desk: Desk, channel: str) -> str:
    reference, _ = await desk.appointment()
    async with desk.state.db.transaction(write=True) as session:
        await session.execute(update(Appointment).where(col(Appointment.reference) == reference)
                               .values(channel=channel, phone=PHONE))
    return reference


async def three(desk: Desk) -> dict[str, str]:
    return {channel: await appointment(desk, channel) for channel in ("video", "onsite", "phone")}


def row_of(html: str, reference: str) -> str:
    start = html.index(f'id="row-{reference}"')
    return html[start:html.index("</tr>", start)]


@pytest.mark.usefixtures("office_hours")  # today's agenda, whatever the hour of the run
async def test_the_agenda_shows_every_channel_with_its_own_actions(desk: Desk) -> None:
    refs = await three(desk)
    html = (await desk.client.get("/staff")).text
    video, onsite, phone = (row_of(html, refs[c]) for c in ("video", "onsite", "phone"))
    assert "Per Video" in video and "Vor Ort im Bürgerbüro" in onsite and "Per Telefon" in phone
    assert f'href="/staff/call/{refs["video"]}"' in video
    for row, reference in ((onsite, refs["onsite"]), (phone, refs["phone"])):
        assert f'href="/staff/desk/{reference}"' in row
        assert "/staff/call/" + reference + '"' not in row  # no way into a call
        assert "Zum Schalter" in row
    assert f'href="tel:{PHONE.replace(" ", "")}"' in phone
    # Each can be marked as missed (they started five minutes ago).
    for row, reference in zip((video, onsite, phone), refs.values(), strict=True):
        assert f'action="/staff/call/{reference}/no-show"' in row


@pytest.mark.usefixtures("office_hours")  # today's agenda, whatever the hour of the run
async def test_the_clerk_api_lists_the_channels_and_refuses_calls_without_video(
    desk: Desk,
) -> None:
    refs = await three(desk)
    r = await desk.client.get("/api/v1/clerk/appointments", headers=desk.clerk_a)
    assert r.status_code == 200
    assert {i["reference"]: i["channel"] for i in r.json()} == {v: k for k, v in refs.items()}
    for channel in ("onsite", "phone"):
        r = await desk.client.post(f"/api/v1/clerk/appointments/{refs[channel]}/call-token",
                                   headers={**desk.clerk_a, "Accept-Language": "en"})
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "not_a_call"
        assert "not a video call" in r.json()["error"]["message"]
        # The page's own token endpoint too.
        r = await desk.client.post(f"/staff/call/{refs[channel]}/token",
                                   data={"csrf_token": await csrf(desk.client)},
                                   headers={"Accept": "application/json"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_a_call"
    r = await desk.client.post(f"/api/v1/clerk/appointments/{refs['video']}/call-token",
                               headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    # No-show works for every channel, through the API as through the page.
    r = await desk.client.post(f"/api/v1/clerk/appointments/{refs['phone']}/no-show",
                               headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    assert (await desk.appointment_row(refs["phone"])).status == "no_show"


async def test_the_desk_page_has_the_panels_and_no_video(desk: Desk) -> None:
    refs = await three(desk)
    r = await desk.client.get(f"/staff/call/{refs['onsite']}")
    assert r.status_code == 303 and r.headers["location"] == f"/staff/desk/{refs['onsite']}"
    r = await desk.client.get(f"/staff/desk/{refs['video']}")
    assert r.status_code == 303 and r.headers["location"] == f"/staff/call/{refs['video']}"
    html = (await desk.client.get(f"/staff/desk/{refs['onsite']}")).text
    assert "Termin vor Ort " + refs["onsite"] in html
    assert 'id="identity-form"' in html and 'id="completion-form"' in html
    assert 'id="no-show-form"' in html and "desk-panels.js" in html
    for absent in ('id="remote-video"', "clerk-call.js", 'id="admit"'):
        assert absent not in html, absent
    html = (await desk.client.get(f"/staff/desk/{refs['phone']}")).text
    assert f'href="tel:{PHONE.replace(" ", "")}"' in html and "Telefontermin" in html


async def test_identity_and_completion_from_the_desk_page(desk: Desk) -> None:
    reference = await appointment(desk, "onsite")
    body = {"csrf_token": await csrf(desk.client), **VERIFIED}
    # A plain form post (no JavaScript) comes back to the desk page.
    r = await desk.client.post(f"/staff/call/{reference}/verification", data=body)
    assert r.status_code == 303
    page = await desk.client.get(r.headers["location"])
    assert page.status_code == 303 and page.headers["location"] == f"/staff/desk/{reference}"
    html = (await desk.client.get(f"/staff/desk/{reference}")).text
    assert 'id="desk-check-result"' in html and "Identität bestätigt" in html
    [check] = await desk.rows(IdentityCheck)
    assert check.outcome == "verified"
    # A refused post renders the desk page again, with the errors, not a call page.
    r = await desk.client.post(f"/staff/call/{reference}/verification",
                               data={**body, "outcome": ""})
    assert r.status_code == 422
    assert 'id="outcome-error"' in r.text and 'id="remote-video"' not in r.text
    assert "Termin vor Ort" in r.text
    # The completion, as from the script (fragment).
    r = await desk.client.post(f"/staff/call/{reference}/complete",
                               data={"csrf_token": await csrf(desk.client), **completion(desk)},
                               headers={"X-Requested-With": "desk"})
    assert r.status_code == 200, r.text
    [case] = await desk.decided()
    assert case.case_number in r.text
    assert (await desk.appointment_row(reference)).status == "completed"


async def test_the_desk_page_of_another_office_is_refused(desk: Desk) -> None:
    reference, _ = await desk.appointment(office="b")
    async with desk.state.db.transaction(write=True) as session:
        await session.execute(update(Appointment).where(col(Appointment.reference) == reference)
                              .values(channel="onsite"))
    assert (await desk.client.get(f"/staff/desk/{reference}")).status_code == 403


async def test_without_a_session_the_desk_page_asks_to_log_in(desk: Desk) -> None:
    reference = await appointment(desk, "onsite")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=desk.app),
                                 base_url="http://testserver") as stranger:
        r = await stranger.get(f"/staff/desk/{reference}")
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")
