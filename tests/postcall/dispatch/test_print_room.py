"""Delivery by post: the letter is queued, the print room's batch (one duplex PDF and a CSV
manifest) holds it with the citizen's address in the window, marking the batch printed and
posted moves each letter on with an audit event and a milestone the citizen sees and is mailed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import delete, select
from sqlmodel import col

from core.audit import AuditEvent
from core.types import utcnow
from postcall.dispatch_models import Dispatch, PostalAddress
from tests.cases.conftest import CLERK_A, Desk
from tests.conftest import BERLIN
from tests.postcall.notices.support import (
    attachments,
    bearer,
    case_row,
    complete,
    configure_offices,
    drain,
    milestone_kinds,
    pdf_pages,
    pdf_text,
    state_of,
)
from tests.smtp_support import SmtpSink
from tests.staff.helpers import form_token, page_login

ADDRESS = ["Großer Anger 7", "73760 Musterhausen"]


async def audit_actions(desk: Desk, action: str) -> list[AuditEvent]:
    async with state_of(desk.app).db.transaction() as session:
        rows = await session.execute(select(AuditEvent).where(col(AuditEvent.action) == action))
        return list(rows.scalars())


def manifest(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_a_postal_case_goes_through_the_print_room(desk: Desk, smtp_sink: SmtpSink,
                                                          tmp_path: Path) -> None:
    await configure_offices(desk)
    # The address confirmed in the call; the citizen calls later with a correction.
    first = ("Alte Gasse 2", "73760 Musterhausen")
    reference, token, case = await complete(desk, delivery="post", address=first)
    number = case["case_number"]
    assert case["dispatch_status"] == "queued"
    _, free_token, free = await complete(desk, delivery="post", payment="none",
                                         items=[{"service_id": desk.life, "quantity": 1}])
    await drain(desk.app)
    [notice_mail] = [m for m in smtp_sink.snapshot() if attachments(m, "application/pdf")]
    [(_, mailed)] = attachments(notice_mail, "application/pdf")

    queue = (await desk.client.get("/api/v1/clerk/dispatch", headers=desk.clerk_a)).json()
    assert [(d["case_number"], d["status"], d["recipient"]["complete"]) for d in queue] == [
        (free["case_number"], "queued", True), (number, "queued", True)]
    # The clerk corrects the address (after the notice was already e-mailed).
    r = await desk.client.put(f"/api/v1/clerk/appointments/{reference}/postal-address",
                              json={"lines": ADDRESS}, headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    assert r.json() == {"reference": reference, "name": "Erika Mustermann", "lines": ADDRESS}

    day = (utcnow().astimezone(BERLIN).date() + dt.timedelta(days=1)).isoformat()
    csv_r = await desk.client.get("/api/v1/clerk/dispatch/batch.csv", headers=desk.clerk_a)
    assert csv_r.status_code == 200 and csv_r.headers["content-type"].startswith("text/csv")
    rows = manifest(csv_r.text)
    assert [(row["reference"], row["kind"], row["recipient"], row["address"]) for row in rows] \
        == [(number, "Gebührenbescheid", "Erika Mustermann", ", ".join(ADDRESS)),
            (free["case_number"], "Begleitschreiben", "Erika Mustermann", ", ".join(ADDRESS))]
    pdf_r = await desk.client.get("/api/v1/clerk/dispatch/batch.pdf", headers=desk.clerk_a)
    assert pdf_r.status_code == 200 and pdf_r.headers["content-type"] == "application/pdf"
    pages = pdf_pages(pdf_r.content, tmp_path)
    assert pages == int(rows[-1]["last_page"]) and pages % 2 == 0  # duplex: whole sheets
    content = pdf_text(pdf_r.content, tmp_path)
    assert "Großer Anger 7" in content and "Ihre Unterlagen" in content and number in content
    # The e-mailed notice stays what it was; the post gets a copy with the address.
    served = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))
    assert served.content == mailed
    mailed_text = pdf_text(mailed, tmp_path, "mailed.pdf")
    assert "Großer Anger 7" not in mailed_text and "Alte Gasse 2" in mailed_text

    r = await desk.client.post("/api/v1/clerk/dispatch/batch/status", headers=desk.clerk_a,
                               json={"date": day, "status": "printed"})
    assert r.status_code == 200 and r.json() == {"date": day, "status": "printed", "count": 2}
    again = await desk.client.get("/api/v1/clerk/dispatch/batch.csv",
                                  params={"date": day}, headers=desk.clerk_a)
    assert len(manifest(again.text)) == 2  # a printed batch can be downloaded again
    r = await desk.client.put(f"/api/v1/clerk/appointments/{reference}/postal-address",
                              json={"lines": ["Anderswo 1", "12345 Irgendwo"]},
                              headers=desk.clerk_a)
    assert r.status_code == 409 and r.json()["error"]["code"] == "address_locked"
    r = await desk.client.post("/api/v1/clerk/dispatch/batch/status", headers=desk.clerk_a,
                               json={"date": day, "status": "posted"})
    assert r.json()["count"] == 2
    await drain(desk.app)

    assert (await case_row(desk.app, number)).dispatch_status == "posted"
    assert await milestone_kinds(desk.app, number) == [
        "completed", "notice_sent", "printed", "posted"]
    changes = await audit_actions(desk, "dispatch.status")
    assert sorted((e.actor_label, e.detail.count('"to": "printed"'),
                   e.detail.count('"to": "posted"')) for e in changes) == sorted(
        [(CLERK_A, 1, 0)] * 2 + [(CLERK_A, 0, 1)] * 2)
    subjects = [str(m["Subject"]) for m in smtp_sink.snapshot()]
    assert f"An die Post übergeben – Kassenzeichen {number}" in subjects
    assert f"Brief gedruckt – Kassenzeichen {number}" in subjects
    me = (await desk.client.get("/api/v1/me", headers=bearer(token))).json()
    assert [s["label"] for s in me["case"]["milestones"]][-2:] == [
        "Brief gedruckt", "An die Post übergeben"]
    assert me["case"]["dispatch_status"] == "posted"
    page = await desk.client.get(f"/t/{free_token}")
    assert "An die Post übergeben" in page.text


async def test_transitions_are_checked_and_audited(desk: Desk, smtp_sink: SmtpSink) -> None:
    await configure_offices(desk)
    _, token, case = await complete(desk, delivery="post")
    [row] = (await desk.client.get("/api/v1/clerk/dispatch", headers=desk.clerk_a)).json()
    url = f"/api/v1/clerk/dispatch/{row['id']}/status"

    async def move(status: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        r = await desk.client.post(url, json={"status": status}, headers=headers or desk.clerk_a)
        body = r.json()
        return r.status_code, body.get("status") or body["error"]["code"]

    assert await move("delivered") == (409, "illegal_transition")
    assert await move("printed", desk.clerk_b) == (403, "forbidden")
    assert await move("printed") == (200, "printed")
    assert await move("printed") == (200, "printed")  # already there: nothing changes
    assert await move("queued") == (409, "illegal_transition")
    assert await move("lost") == (422, "validation_error")
    assert await move("posted") == (200, "posted")
    assert await move("cancelled") == (409, "illegal_transition")
    assert await move("returned") == (200, "returned")
    assert await move("delivered") == (409, "illegal_transition")
    r = await desk.client.post("/api/v1/clerk/dispatch/999999/status",
                               json={"status": "printed"}, headers=desk.clerk_a)
    assert r.status_code == 404
    assert len(await audit_actions(desk, "dispatch.status")) == 3
    assert await milestone_kinds(desk.app, case["case_number"]) == [
        "completed", "printed", "posted", "returned"]
    listed = await desk.client.get("/api/v1/clerk/dispatch", params={"status": "returned"},
                                   headers=desk.clerk_a)
    assert [d["id"] for d in listed.json()] == [row["id"]]
    assert (await desk.client.get("/api/v1/clerk/dispatch", headers=desk.clerk_b)).json() == []
    me = (await desk.client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["case"]["milestones"][-1]["label"] == "Brief an uns zurückgekommen"


async def test_external_delivery_is_forwarded_not_queued(desk: Desk,
                                                         smtp_sink: SmtpSink) -> None:
    await configure_offices(desk)
    _, token, case = await complete(desk, delivery="external",
                                    external_authority="Bundesamt für Justiz")
    assert case["dispatch_status"] == "forwarded"
    assert (await desk.client.get("/api/v1/clerk/dispatch", headers=desk.clerk_a)).json() == []
    page = await desk.client.get(f"/t/{token}")
    assert "Weitergeleitet an Bundesamt für Justiz" in page.text


async def test_the_print_room_page(desk: Desk, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    await configure_offices(desk)
    _, _, case = await complete(desk, delivery="post")
    number = case["case_number"]
    # A letter without an address (a request from before addresses were required for the
    # post) is flagged in the print room.
    async with state_of(desk.app).db.transaction(write=True) as session:
        await session.execute(delete(PostalAddress))
    login = await page_login(desk.client, CLERK_A)
    assert login.status_code == 303
    page = await desk.client.get("/staff/dispatch")
    assert page.status_code == 200
    assert number in page.text and 'id="batch-pdf"' in page.text
    assert "Anschrift fehlt" in page.text
    pdf_link = page.text.split('id="batch-pdf"')[0].rsplit('href="', 1)[1].split('"')[0]
    pdf = await desk.client.get(pdf_link.replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf_pages(pdf.content, tmp_path) == 2
    # The letter itself says that its address is missing.
    assert "Keine Postanschrift hinterlegt" in pdf_text(pdf.content, tmp_path)
    day = (utcnow().astimezone(BERLIN).date() + dt.timedelta(days=1)).isoformat()
    r = await desk.client.post("/staff/dispatch/batch", data={
        "csrf_token": form_token(page.text), "date": day, "status": "printed",
        "upto": pdf_link.split("upto=")[1]})
    assert r.status_code == 303
    done = await desk.client.get(r.headers["location"])
    assert "Der Druckstapel ist als gedruckt markiert." in done.text
    async with state_of(desk.app).db.transaction() as session:
        [dispatch] = list((await session.execute(select(Dispatch))).scalars())
    assert dispatch.status == "printed" and dispatch.provider == "print_room"
    assert dispatch.document_id is not None
    r = await desk.client.post("/staff/dispatch/batch", data={
        "csrf_token": "wrong", "date": day, "status": "posted"})
    assert r.status_code == 403


async def test_the_hybrid_mail_webhook_is_refused_when_no_service_is_configured(
    desk: Desk, smtp_sink: SmtpSink
) -> None:
    from postcall.dispatch_providers import sign

    body = b'{"data": {"type": "webhook_sent"}}'
    r = await desk.client.post("/api/v1/webhooks/hybrid-mail", content=body,
                               headers={"Signature": sign(body, "")})
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_rejected"


async def test_one_office_of_the_queue_is_scoped_like_the_agenda(desk: Desk) -> None:
    """``office_id`` on the dispatch queue as on the agenda: mine 200, another office's 403, an
    office that does not exist 404."""
    for path in ("/api/v1/clerk/dispatch", "/api/v1/clerk/appointments"):
        for office_id, status in ((desk.office_a, 200), (desk.office_b, 403), (999999, 404)):
            r = await desk.client.get(path, params={"office_id": office_id},
                                      headers=desk.clerk_a)
            assert r.status_code == status, (path, office_id, r.text)
