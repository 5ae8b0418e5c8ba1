"""The request's page behind the e-mailed link, ``/t/{token}``, in each status: confirming,
the office's question with an upload, messages, documents (only this request's), the decided
case, a rejection, withdrawing, and the video appointment the office invites to. GETs change
nothing; every change is a POST with the CSRF token."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from booking.models import Appointment
from cases.milestones import Milestone
from cases.models import Case
from core.audit import AuditEvent
from core.jobs import Job
from online.models import OnlineRequest, RequestDocument, RequestMessage
from tests.cases.conftest import state_of
from tests.online import samples
from tests.online.conftest import Portal
from tests.online.pages.conftest import dog_tax_form, field_error, link_of, post_on, send_form
from tests.online.pages.test_apply_pages import every_type
from tests.staff.helpers import add_schedule, add_service


async def sent_by_page(portal: Portal, **overrides: str) -> tuple[str, str]:
    """A request sent through the form, not confirmed yet: (reference, link path)."""
    r = await send_form(portal, dog_tax_form(**overrides))
    assert r.status_code == 303, r.text
    [request] = await portal.desk.rows(OnlineRequest, status="submitted")
    [case] = await portal.desk.rows(Case, id=request.case_id)
    return case.reference, await link_of(portal, case.reference)


async def counts(portal: Portal) -> tuple[int, ...]:
    async with portal.desk.state.db.transaction() as session:
        return tuple([int(await session.scalar(select(func.count()).select_from(model)) or 0)
                      for model in (Job, AuditEvent, RequestMessage, RequestDocument,
                                    Milestone, Appointment)])


async def status_of(portal: Portal) -> list[str]:
    return [r.status for r in await portal.desk.rows(OnlineRequest)]


async def test_a_sent_request_is_confirmed_from_its_page(portal: Portal) -> None:
    reference, link = await sent_by_page(portal)
    before = await counts(portal)
    for path in (link, f"{link}/withdraw", f"{link}/video-appointment", f"{link}/confirm",
                 f"{link}/messages", f"{link}?lang=en", f"{link}?lang=de"):
        r = await portal.client.get(path)
        assert r.status_code in (200, 303, 405), (path, r.status_code)
    assert await counts(portal) == before and await status_of(portal) == ["submitted"]
    r = await portal.client.get(link)
    assert r.status_code == 200
    assert 'id="status">Gesendet – bitte bestätigen' in r.text
    assert f'action="{link}/confirm"' in r.text and 'id="confirm"' in r.text
    assert reference in r.text and "Hundesteuer-Anmeldung" in r.text
    assert "Bürgerbüro Mitte" in r.text
    assert "Dackel" in r.text and "1. November 2026" in r.text and "klein" in r.text
    assert 'id="message-form"' not in r.text  # writing starts once the office has it
    assert r.headers["referrer-policy"] == "no-referrer"
    r = await post_on(portal, link, f"{link}/confirm")
    assert r.status_code == 303 and r.headers["location"] == f"{link}?done=confirmed"
    r = await portal.client.get(r.headers["location"])
    assert 'id="action-done"' in r.text and 'id="status">Eingegangen' in r.text
    assert 'id="confirm"' not in r.text and 'id="message-form"' in r.text
    assert 'data-kind="received"' in r.text
    assert await status_of(portal) == ["received"]
    r = await portal.client.post(f"{link}/confirm", data={"csrf_token": "forged"})
    assert r.status_code == 403


async def test_the_office_asks_and_the_citizen_answers_with_a_document(portal: Portal) -> None:
    reference, link = await portal.sent()
    link = await link_of(portal, reference)
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/messages", json={
        "text": "Bitte laden Sie den Impfpass hoch.\nDanke!", "documents_requested": ["proof"]},
        headers=portal.desk.clerk_a)
    assert r.status_code == 200, r.text
    r = await portal.client.get(link)
    assert 'id="status">Wartet auf Ihre Antwort' in r.text
    question = re.search(r'<section class="section question" id="question".*?</section>',
                         r.text, re.S)
    assert question and "Bitte laden Sie den Impfpass hoch.\nDanke!" in question.group(0)
    assert re.search(r'<form method="post" action="[^"]+/documents" enctype="multipart/form-data"'
                     r' class="form" id="upload-form"', r.text)
    assert re.search(r'<input type="file" id="answer-proof" name="proof"', r.text)
    # Nothing chosen: said beside the input.
    r = await post_on(portal, link, f"{link}/documents", multipart=True)
    assert r.status_code == 422
    assert field_error(r.text, "answer-proof") == "Bitte wählen Sie eine Datei aus."
    pdf = samples.pdf("Impfpass Waldi")
    r = await post_on(portal, link, f"{link}/documents",
                      files={"proof": ("Impfpass.pdf", pdf, "application/pdf")})
    assert r.status_code == 303 and r.headers["location"] == f"{link}?done=uploaded#documents"
    r = await portal.client.get(link)
    assert 'id="status">In Bearbeitung' in r.text and 'id="upload-form"' not in r.text
    [document] = await portal.desk.rows(RequestDocument)
    assert f'href="{link}/documents/{document.id}" download>Impfpass.pdf</a>' in r.text
    assert "nicht auf Schadsoftware geprüft" in r.text  # development: no scanner
    r = await portal.client.get(f"{link}/documents/{document.id}")
    assert r.status_code == 200 and r.content == pdf
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["cache-control"] == "private, no-store"
    # A message: an empty one is refused beside the box, a real one is listed.
    r = await post_on(portal, link, f"{link}/messages", {"text": "  "}, multipart=True)
    assert r.status_code == 422
    assert field_error(r.text, "message-text") == "Bitte schreiben Sie eine Nachricht."
    r = await post_on(portal, link, f"{link}/messages", {"text": "Hier ist er.\nGruß"},
                      multipart=True)
    assert r.status_code == 303 and r.headers["location"] == f"{link}?done=message#messages"
    r = await portal.client.get(link)
    messages = re.search(r'<section class="section" id="messages".*?</section>', r.text, re.S)
    assert messages is not None
    assert "Bitte laden Sie den Impfpass hoch." in messages.group(0)
    assert "Hier ist er.\nGruß" in messages.group(0)
    assert "message-office" in messages.group(0) and "message-citizen" in messages.group(0)
    # Another request's document is not found through this link.
    other_reference, _ = await portal.sent(citizen={
        "given_name": "Max", "family_name": "Muster", "email": "max@example.org"})
    other = await link_of(portal, other_reference)
    assert (await portal.client.get(f"{other}/documents/{document.id}")).status_code == 404
    assert (await portal.client.get(f"{link}/documents/999999")).status_code == 404
    assert (await portal.client.get(f"{link}/documents/x")).status_code == 404


async def test_a_completed_request_shows_its_case(portal: Portal) -> None:
    desk = portal.desk
    reference, _ = await portal.sent()
    link = await link_of(portal, reference)
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/complete", json={
        "items": [{"service_id": desk.certificate, "quantity": 2}], "payment": "invoice",
        "delivery": "email"}, headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    case_number = r.json()["case"]["case_number"]
    r = await portal.client.get(link)
    assert 'id="status">Erledigt' in r.text
    assert f'id="case-number">{case_number}' in r.text
    assert 'id="case-total">20,00\xa0€' in r.text
    assert f'href="{link}/fee-notice.pdf"' in r.text
    assert 'data-kind="completed"' in r.text
    for absent in ('id="message-form"', 'id="withdraw"', 'id="confirm"'):
        assert absent not in r.text
    r = await portal.client.get(f"{link}/fee-notice.pdf")
    assert r.status_code in (200, 303)  # made now, or not yet possible: never an error
    r = await portal.client.get(f"{link}/withdraw")
    assert r.status_code == 303 and r.headers["location"] == link


async def test_a_rejected_request_shows_the_reasons(portal: Portal) -> None:
    reference, _ = await portal.sent()
    link = await link_of(portal, reference)
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/reject", json={
        "reason": "Der Hund ist bereits angemeldet."}, headers=portal.desk.clerk_a)
    assert r.status_code == 200
    r = await portal.client.get(link)
    assert 'id="status">Abgelehnt' in r.text
    assert 'id="rejection-reason">Der Hund ist bereits angemeldet.' in r.text
    assert f'href="{link}/rejection-notice.pdf"' in r.text
    r = await portal.client.get(f"{link}/rejection-notice.pdf")
    assert r.status_code == 303 and r.headers["location"] == link  # no letterhead yet
    r = await portal.client.patch(f"/api/v1/admin/offices/{portal.desk.office_a}", json={
        "authority": "Stadt Musterstadt", "address": "Rathausplatz 1\n12345 Musterstadt"},
        headers=portal.desk.admin)
    assert r.status_code == 200, r.text
    r = await portal.client.get(f"{link}/rejection-notice.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["cache-control"] == "private, no-store"
    assert 'id="message-form"' not in r.text and 'id="withdraw"' not in r.text
    form = f"/apply/{portal.service_id}"  # this page has no form left: a token from another
    r = await post_on(portal, form, f"{link}/messages", {"text": "Wieso?"}, multipart=True)
    assert r.status_code == 409 and 'id="action-error"' in r.text
    assert 'id="german-only-note"' not in r.text
    r = await portal.client.get(f"{link}?lang=en")
    assert 'id="status">Rejected' in r.text
    # In any other language, a note that the notice itself is German (the official language).
    for lang in ("en", "tr", "ar", "de-x-ls"):
        r = await portal.client.get(f"{link}?lang={lang}")
        assert 'id="german-only-note"' in r.text, lang


async def test_withdrawing_takes_a_confirmation(portal: Portal) -> None:
    reference, _ = await portal.sent()
    link = await link_of(portal, reference)
    r = await portal.client.get(link)
    assert f'href="{link}/withdraw"' in r.text
    r = await portal.client.get(f"{link}/withdraw")
    assert r.status_code == 200 and 'id="withdraw-confirm"' in r.text
    assert await status_of(portal) == ["received"]
    r = await post_on(portal, f"{link}/withdraw", f"{link}/withdraw")
    assert r.status_code == 303 and r.headers["location"] == f"{link}?done=withdrawn"
    r = await portal.client.get(r.headers["location"])
    assert 'id="status">Zurückgezogen' in r.text and 'id="action-done"' in r.text
    assert 'id="withdraw"' not in r.text and 'id="message-form"' not in r.text
    assert await status_of(portal) == ["withdrawn"]
    r = await post_on(portal, f"/apply/{portal.service_id}", f"{link}/withdraw")
    assert r.status_code == 303  # withdrawing again changes nothing


async def test_links_that_are_not_a_requests(portal: Portal) -> None:
    _, token = await portal.desk.appointment()
    r = await portal.client.get(f"/t/{token}")
    assert r.status_code == 200 and 'id="appointment-summary"' in r.text
    for path in (f"/t/{token}/documents/1", f"/t/{token}/withdraw"):
        assert (await portal.client.get(path)).status_code == 404
    assert (await portal.client.get("/t/not-a-token")).status_code == 404


async def test_the_video_appointment_the_office_invites_to(portal: Portal) -> None:
    desk = portal.desk
    video = await add_service(desk.app, [desk.office_a], name="Identitätsprüfung per Video")
    await add_schedule(desk.app, desk.office_a, [video], start=dt.time(0),
                       end=dt.time(23, 45))
    r = await portal.client.patch(f"/api/v1/admin/online-services/{portal.service_id}", json={
        "identity": "video", "video_service_id": video}, headers=desk.admin)
    assert r.status_code == 200, r.text
    reference, _ = await portal.sent()
    link = await link_of(portal, reference)
    r = await portal.client.get(link)
    assert 'id="video"' not in r.text
    assert (await portal.client.get(f"{link}/video-appointment")).status_code == 303
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/invite-video",
                                 headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    r = await portal.client.get(link)
    assert f'href="{link}/video-appointment"' in r.text and 'id="book-video"' in r.text
    r = await portal.client.get(f"{link}/video-appointment")
    assert r.status_code == 200 and "Identitätsprüfung per Video" in r.text
    days = re.findall(r'<input type="radio" id="[^"]+" name="day" value="([^"]+)"', r.text)
    assert days
    r = await portal.client.get(f"{link}/video-appointment", params={"day": days[-1]})
    slots = re.findall(r'<input type="radio" id="[^"]+" name="slot" value="([^"]+)"', r.text)
    assert slots and f'action="{link}/video-appointment"' in r.text
    assert "Diese Uhrzeit buchen" in r.text
    page = f"{link}/video-appointment?day={days[-1]}"
    r = await post_on(portal, page, f"{link}/video-appointment", {"day": days[-1]})
    assert r.status_code == 422 and "Bitte wählen Sie eine Uhrzeit." in r.text
    r = await post_on(portal, page, f"{link}/video-appointment",
                      {"day": days[-1], "slot": slots[0]})
    assert r.status_code == 303 and r.headers["location"] == f"{link}?done=booked#video"
    [request] = await desk.rows(OnlineRequest)
    [appointment] = await desk.rows(Appointment, case_id=request.case_id)
    assert appointment.service_id == video and appointment.office_id == desk.office_a
    assert appointment.status == "confirmed" and appointment.email == "erika@example.org"
    own = f"/t/{state_of(desk.app).links.token_for(appointment.link_nonce)}"
    r = await portal.client.get(link)
    assert f'href="{own}" id="video-appointment-link"' in r.text
    assert appointment.reference in r.text and 'id="book-video"' not in r.text
    r = await portal.client.get(own)
    assert r.status_code == 200 and 'id="appointment-summary"' in r.text
    # Booked once: the picker leads back to the request, a second booking is not made.
    r = await portal.client.get(page)
    assert r.status_code == 303 and r.headers["location"] == link
    r = await post_on(portal, f"/apply/{portal.service_id}", f"{link}/video-appointment",
                      {"day": days[-1], "slot": slots[-1]})
    assert r.status_code == 303 and r.headers["location"] == f"{link}#video"
    assert len(await desk.rows(Appointment, case_id=request.case_id)) == 1


async def test_answers_of_every_kind_read_as_written_here(portal: Portal) -> None:
    service_id = await every_type(portal)
    r = await send_form(portal, {
        "title": "Fundsache", "story": "Zeile eins\nZeile zwei", "day": "2026-03-01",
        "count": "1985", "contact": "max@example.org", "colour": "grün", "month": "Mai",
        "agree": "yes", "home.street": "Hauptstraße 1", "home.postcode": "73760",
        "home.city": "Ostfildern", "spot.lat": "48,712812", "spot.lon": "9.261",
        "citizen.email": "anonym@example.org"}, service_id=service_id, office="b")
    assert r.status_code == 303, r.text
    [case] = await portal.desk.rows(Case)
    assert case.office_id == portal.desk.office_b and case.given_name == ""
    r = await portal.client.get(await link_of(portal, case.reference))
    answers = re.search(r'<section class="section" id="answers".*?</section>', r.text, re.S)
    assert answers is not None
    rows = dict(re.findall(r"<dt>([^<]*)</dt>\s*<dd[^>]*>([^<]*)</dd>", answers.group(0)))
    assert rows == {
        "Titel": "Fundsache", "Geschichte": "Zeile eins\nZeile zwei", "Tag": "1. März 2026",
        "Anzahl": "1985", "Andere E-Mail": "max@example.org", "Farbe": "grün", "Monat": "Mai",
        "Ich stimme zu.": "Ja", "Anschrift": "Hauptstraße 1, 73760 Ostfildern",
        "Ort": "Breitengrad 48,712812, Längengrad 9,261"}
    assert "Bürgerbüro Nord" in r.text
