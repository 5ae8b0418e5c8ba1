"""A lost link: known and unknown addresses get the very same answer; the address gets one
mail (real SMTP) with the links of exactly its open appointments and requests; the audit trail
records the request without the address."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import select

from booking.models import Appointment
from cases.models import Case
from core.audit import AuditEvent
from online.lost_links import LINKS_MAIL_JOB
from online.models import OnlineRequest
from tests.app.pages.helpers import csrf_of
from tests.idstatus.conftest import World
from tests.online.conftest import ANSWERS, CITIZEN, DOG_TAX
from tests.smtp_support import SmtpSink

RESEND = "/api/v1/links/resend"


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def links_mails(sink: SmtpSink) -> list[EmailMessage]:
    """The lost-link mails among those sent (cancellations and others go out too)."""
    return [m for m in sink.snapshot() if m["Subject"] in (
        "Ihre Links zu Ihren Terminen und Anträgen",
        "Your links to your appointments and requests")]


async def online_request(world: World, *, confirm: bool = True, **citizen: Any) -> str:
    """An online request of Erika's (her address as in the appointments); its reference."""
    desk = world.desk
    r = await world.client.get("/api/v1/online-services")
    found = [s["id"] for s in r.json() if s["name"] == DOG_TAX["name"]]
    if not found:
        r = await world.client.post("/api/v1/admin/online-services", json={
            **DOG_TAX, "office_ids": [desk.office_a]}, headers=desk.admin)
        found = [r.json()["id"]]
    service_id = found[0]
    r = await world.client.post("/api/v1/requests", json={
        "service_id": service_id, "office_id": desk.office_a,
        "citizen": {**CITIZEN, **citizen}, "answers": ANSWERS})
    assert r.status_code == 201, r.text
    reference: str = r.json()["reference"]
    if confirm:
        headers = {"Authorization": f"Bearer {await request_token(world, reference)}"}
        assert (await world.client.post("/api/v1/me/confirm", headers=headers)).status_code \
            == 200
    return reference


async def request_token(world: World, reference: str) -> str:
    [case] = await world.desk.rows(Case, reference=reference)
    [request] = await world.desk.rows(OnlineRequest, case_id=case.id)
    return world.state.links.token_for(request.link_nonce)


async def test_known_and_unknown_addresses_get_the_same_answer(world: World) -> None:
    await world.desk.appointment(start_in=dt.timedelta(days=3))
    known = await world.client.post(RESEND, json={"email": "Erika+termine@Example.org"})
    unknown = await world.client.post(RESEND, json={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert known.headers["content-type"] == unknown.headers["content-type"]
    assert "haben wir ihr eine E-Mail" in known.json()["message"]
    assert len(await world.jobs(LINKS_MAIL_JOB)) == 1  # for the known one only
    r = await world.client.post(RESEND, json={"email": "nobody"})
    assert r.status_code == 422
    r = await world.client.post(RESEND, json={})
    assert r.status_code == 422


async def test_the_mail_lists_exactly_the_open_items(world: World, smtp_sink: SmtpSink) -> None:
    desk = world.desk
    _, open_token = await desk.appointment(start_in=dt.timedelta(days=3))
    _, cancelled_token = await desk.appointment(start_in=dt.timedelta(days=4))
    r = await world.client.post("/api/v1/me/cancel",
                                headers={"Authorization": f"Bearer {cancelled_token}"})
    assert r.status_code == 200, r.text
    _, done_token = await desk.appointment(status="completed", start_in=dt.timedelta(days=-1))
    _, lapsed_token = await desk.appointment(status="reserved", start_in=dt.timedelta(days=2))
    async with world.state.db.transaction(write=True) as session:  # its hold ran out
        lapsed = (await session.execute(select(Appointment).where(
            Appointment.token_hash == world.state.links.hash_token(lapsed_token))  # type: ignore[arg-type]
        )).scalar_one()
        lapsed.hold_expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    request_ref = await online_request(world)
    withdrawn_ref = await online_request(world)
    r = await world.client.post("/api/v1/me/withdraw", headers={
        "Authorization": f"Bearer {await request_token(world, withdrawn_ref)}"})
    assert r.status_code == 200, r.text

    r = await world.client.post(RESEND, json={"email": "erika@example.org"})
    assert r.status_code == 202
    await world.run_jobs()
    [message] = links_mails(smtp_sink)
    assert message["To"] == "Erika Mustermann <erika@example.org>"
    assert message["Subject"] == "Ihre Links zu Ihren Terminen und Anträgen"
    body = text_of(message)
    links = {line for line in body.splitlines() if line.startswith("http://testserver/t/")}
    assert links == {f"http://testserver/t/{open_token}",
                     f"http://testserver/t/{await request_token(world, request_ref)}"}
    assert "Termin: Meldebescheinigung" in body and f"Vorgangsnummer {request_ref}" in body
    for gone in (cancelled_token, done_token, lapsed_token,
                 await request_token(world, withdrawn_ref)):
        assert gone not in message.as_string()

    # An address with nothing open gets no mail, and the answer was the same.
    r = await world.client.post(RESEND, json={"email": "other@example.org"})
    assert r.status_code == 202
    await world.run_jobs()
    assert len(links_mails(smtp_sink)) == 1


async def test_items_closed_before_the_mail_are_left_out(world: World,
                                                         smtp_sink: SmtpSink) -> None:
    _, token = await world.desk.appointment(start_in=dt.timedelta(days=3))
    assert (await world.client.post(RESEND, json={"email": "erika@example.org"})).status_code \
        == 202
    r = await world.client.post("/api/v1/me/cancel", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    await world.run_jobs()  # the only item closed meanwhile: no mail at all
    assert links_mails(smtp_sink) == []


async def test_the_language_of_the_latest_request(world: World, smtp_sink: SmtpSink) -> None:
    await world.desk.appointment(start_in=dt.timedelta(days=3))  # German (the default)
    await online_request(world, confirm=False)
    async with world.state.db.transaction(write=True) as session:
        case = (await session.execute(select(Case).where(Case.channel == "online"))  # type: ignore[arg-type]
                ).scalar_one()
        case.locale = "en"
    assert (await world.client.post(RESEND, json={"email": "erika@example.org"})).status_code \
        == 202
    await world.run_jobs()
    subjects = [m["Subject"] for m in links_mails(smtp_sink)]
    assert subjects == ["Your links to your appointments and requests"]


async def test_audited_without_the_address(world: World) -> None:
    await world.desk.appointment(start_in=dt.timedelta(days=3))
    for email in ("erika@example.org", "nobody@example.org"):
        assert (await world.client.post(RESEND, json={"email": email})).status_code == 202
    events = await world.desk.rows(AuditEvent, action="links.resend")
    assert [e.detail for e in events] == [
        '{"appointments": 1, "limited": false, "requests": 0, "waitlist": 0}',
        '{"appointments": 0, "limited": false, "requests": 0, "waitlist": 0}']
    for event in events:
        row = " ".join(str(v) for v in event.model_dump().values()).lower()
        assert "erika" not in row and "nobody" not in row and "example.org" not in row


async def test_the_form_on_the_start_page_and_the_invalid_link_page(world: World) -> None:
    await world.desk.appointment(start_in=dt.timedelta(days=3))
    client: httpx.AsyncClient = world.client
    start = await client.get("/")
    assert 'id="resend-form"' in start.text and 'action="/links/resend"' in start.text
    invalid = await client.get("/t/" + "x" * 43)
    assert invalid.status_code == 404
    assert 'id="resend-form"' in invalid.text
    token = csrf_of(start.text)
    answers = []
    for email in ("erika@example.org", "nobody@example.org"):
        r = await client.post("/links/resend", data={"csrf_token": token, "email": email})
        assert r.status_code == 200
        assert "Wenn zu dieser E-Mail-Adresse offene Termine oder Anträge gehören" in r.text
        answers.append(r.text)
    assert answers[0] == answers[1]
    assert len(await world.jobs(LINKS_MAIL_JOB)) == 1
    r = await client.post("/links/resend", data={"csrf_token": token, "email": "erika"})
    assert r.status_code == 422
    assert "Bitte geben Sie eine gültige E-Mail-Adresse ein." in r.text
    r = await client.post("/links/resend", data={"email": "erika@example.org"})
    assert r.status_code == 403  # no CSRF token
    assert (await client.get("/links/resend")).status_code == 200
