"""A completed request with payment by fee notice: the notice is made, e-mailed at once with the
PDF attached (read back with pdftotext and zbar), recorded as a milestone, and served to the
citizen as the very same file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from postcall.girocode import epc_transfer
from tests.cases.conftest import Desk
from tests.postcall.notices.support import (
    AUTHORITY,
    BIC,
    IBAN,
    attachments,
    bearer,
    body_text,
    case_row,
    complete,
    configure_offices,
    drain,
    milestone_kinds,
    pdf_qr,
    pdf_text,
)
from tests.smtp_support import SmtpSink

BERLIN = ZoneInfo("Europe/Berlin")


def german(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


async def test_the_fee_notice_is_mailed_with_every_element_and_the_exact_girocode(
    desk: Desk, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    await configure_offices(desk)
    reference, token, case = await complete(desk, locale="en", items=[
        {"service_id": desk.certificate, "quantity": 1},
        {"service_id": desk.conduct, "quantity": 2},
    ])
    number = case["case_number"]
    assert case["amount_cents"] == 1000 + 2 * 1300
    assert await drain(desk.app) >= 1

    [message] = smtp_sink.snapshot()
    assert message["To"].addresses[0].addr_spec == "erika@example.org"
    # The mail speaks the booking's language; the notice itself is German.
    assert message["Subject"] == f"Your fee notice – case number {number}"
    assert message["Content-Language"] == "en"
    text = body_text(message)
    assert "Please transfer €36.00" in text and "DE89 3704 0044 0532 0130 00" in text
    assert "The notice is in German, the official language." in text
    assert f"/t/{token}" in text
    [(filename, pdf)] = attachments(message, "application/pdf")
    assert filename == f"Gebuehrenbescheid-{number}.pdf"

    row = await case_row(desk.app, number)
    assert row.due_date is not None
    issued = dt.datetime.now(BERLIN).date()
    content = pdf_text(pdf, tmp_path)
    for element in (
        AUTHORITY, "Marktplatz 1", "Gebührenbescheid",  # issuing authority, kind of act
        "Erika Mustermann",  # debtor
        german(issued),  # date
        number, f"Kassenzeichen {number}",  # case number and payment reference
        "Meldebescheinigung", "Führungszeugnis",  # the public service
        "GebVerz Nr. 1.2.3", "JVKostG Nr. 1130",  # legal basis with fee-schedule item
        "10,00 €", "13,00 €", "26,00 €", "36,00 €",  # amount per item and total
        f"bis zum {german(row.due_date)}",  # due date
        "DE89 3704 0044 0532 0130 00", BIC, BANK_NAME,  # bank details
        "Rechtsbehelfsbelehrung", "innerhalb eines Monats", "Widerspruch",  # legal remedy
    ):
        assert element in content, element
    expected = epc_transfer(AUTHORITY, IBAN, BIC, 3600, text=f"Kassenzeichen {number}").payload
    assert expected == ("BCD\n002\n1\nSCT\nCOBADEFFXXX\nStadt Musterhausen\n"
                        f"DE89370400440532013000\nEUR36\n\n\nKassenzeichen {number}")
    assert pdf_qr(pdf, tmp_path) == [expected]

    assert await milestone_kinds(desk.app, number) == ["completed", "notice_sent"]
    # Served to the citizen: the same bytes, every time.
    for _ in range(2):
        r = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pdf"
        assert r.content == pdf
    page = await desk.client.get(f"/t/{token}/fee-notice.pdf")
    assert page.status_code == 200 and page.content == pdf
    # Nothing more to do: no second mail.
    assert await drain(desk.app) == 0
    assert len(smtp_sink.snapshot()) == 1
    assert reference


BANK_NAME = "Kreissparkasse Musterhausen"


async def test_no_fee_notice_before_completion_or_without_a_fee(desk: Desk,
                                                                smtp_sink: SmtpSink) -> None:
    await configure_offices(desk)
    _, token = await desk.appointment(status="confirmed")
    r = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_document"
    assert (await desk.client.get("/api/v1/me/fee-notice.pdf")).status_code == 401

    _, free_token, case = await complete(desk, items=[{"service_id": desk.life, "quantity": 1}],
                                         payment="none")
    assert case["payment_status"] == "not_required"
    r = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(free_token))
    assert r.status_code == 404
    await drain(desk.app)
    # A free case gets the "completed" news by mail instead of a notice.
    [message] = smtp_sink.snapshot()
    assert message["Subject"] == f"Anliegen abgeschlossen – Kassenzeichen {case['case_number']}"
    assert attachments(message, "application/pdf") == []


async def test_the_notice_can_be_downloaded_before_the_worker_ran(
    desk: Desk, smtp_sink: SmtpSink
) -> None:
    """The download makes the notice if the worker has not yet; the mail then sends that one."""
    await configure_offices(desk)
    _, token, _ = await complete(desk)
    first = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))
    assert first.status_code == 200
    await drain(desk.app)
    [message] = smtp_sink.snapshot()
    [(_, pdf)] = attachments(message, "application/pdf")
    assert pdf == first.content


async def test_the_citizen_sees_the_milestones(desk: Desk, smtp_sink: SmtpSink) -> None:
    await configure_offices(desk)
    _, token, case = await complete(desk)
    await drain(desk.app)
    me = (await desk.client.get("/api/v1/me", headers=bearer(token))).json()
    steps = me["case"]["milestones"]
    assert [(s["kind"], s["label"]) for s in steps] == [
        ("completed", "Anliegen abgeschlossen"), ("notice_sent", "Bescheid versandt")]
    assert all(dt.datetime.fromisoformat(s["at"]).utcoffset() is not None for s in steps)
    english = await desk.client.get("/api/v1/me", headers={**bearer(token),
                                                          "Accept-Language": "en"})
    assert [s["label"] for s in english.json()["case"]["milestones"]] == [
        "Request completed", "Fee notice sent"]
    page = await desk.client.get(f"/t/{token}")
    assert page.status_code == 200
    assert 'id="milestones"' in page.text and "Bescheid versandt" in page.text
    assert "Gebührenbescheid herunterladen (PDF)" in page.text
    assert case["case_number"] in page.text


async def test_an_office_without_bank_details_retries_instead_of_a_wrong_notice(
    desk: Desk, smtp_sink: SmtpSink
) -> None:
    _, token, _ = await complete(desk)
    await drain(desk.app)
    assert smtp_sink.snapshot() == []
    r = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))
    assert r.status_code == 409 and r.json()["error"]["code"] == "document_unavailable"
