"""Receipts for online payments (the job the payment provider enqueues), the changed notice after
a refund or a re-completion, and the milestone e-mails in the booking's language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.settings import Settings
from cases.milestones import MilestoneKind, reach
from cases.models import Case
from core.jobs import enqueue
from tests.cases.conftest import Desk
from tests.postcall.notices.support import (
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
    state_of,
)
from tests.smtp_support import SmtpSink


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink) -> Settings:
    # Online payment is offered once a payment provider is configured.
    return settings_factory(smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                            stripe_secret_key="sk_test_not_used_here")


async def pay(desk: Desk, case_number: str, status: str = "paid") -> int:
    """What the payment provider's fulfilment does: the case paid, the milestone, the job."""
    async with state_of(desk.app).db.transaction(write=True) as session:
        row = await session.get(Case, (await case_row(desk.app, case_number)).id)
        assert row is not None and row.id is not None
        row.payment_status = status
        if status == "paid":
            await reach(session, row.id, MilestoneKind.paid)
            enqueue(session, "payment.receipt", {"case_id": row.id})
        else:
            await reach(session, row.id, MilestoneKind.refunded)
            enqueue(session, "case.corrected_notice", {"case_id": row.id})
        return row.id


def subjects(sink: SmtpSink) -> list[str]:
    return [str(m["Subject"]) for m in sink.snapshot()]


async def test_an_online_payment_gets_a_receipt(desk: Desk, smtp_sink: SmtpSink,
                                                tmp_path: Path) -> None:
    await configure_offices(desk)
    _, token, case = await complete(desk, payment="online")
    number = case["case_number"]
    await drain(desk.app)
    assert subjects(smtp_sink) == [f"Anliegen abgeschlossen – Kassenzeichen {number}"]
    r = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))
    assert r.status_code == 404  # nothing to show before the payment

    case_id = await pay(desk, number)
    async with state_of(desk.app).db.transaction(write=True) as session:
        enqueue(session, "payment.receipt", {"case_id": case_id})  # a duplicate job
    await drain(desk.app)
    assert sorted(subjects(smtp_sink)[1:]) == [
        f"Zahlung eingegangen – Kassenzeichen {number}",
        f"Zahlungsbestätigung – Kassenzeichen {number}",
    ]
    [receipt_mail] = [m for m in smtp_sink.snapshot() if attachments(m, "application/pdf")]
    [(filename, pdf)] = attachments(receipt_mail, "application/pdf")
    assert filename == f"Zahlungsbestaetigung-{number}.pdf"
    content = pdf_text(pdf, tmp_path)
    assert "Zahlungsbestätigung" in content and "10,00 €" in content and number in content
    assert pdf_qr(pdf, tmp_path) == []  # a receipt asks for nothing
    assert await milestone_kinds(desk.app, number) == ["completed", "paid", "receipt_sent"]
    for path in ("/api/v1/me/fee-notice.pdf", "/api/v1/me/receipt.pdf"):
        r = await desk.client.get(path, headers=bearer(token))
        assert r.status_code == 200 and r.content == pdf


async def test_a_refund_brings_a_changed_notice_that_replaces_the_served_one(
    desk: Desk, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    await configure_offices(desk)
    _, token, case = await complete(desk, payment="online")
    number = case["case_number"]
    await pay(desk, number)
    await drain(desk.app)
    receipt = (await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))).content

    await pay(desk, number, status="refunded")
    await drain(desk.app)
    changed = [m for m in smtp_sink.snapshot()
               if m["Subject"] == f"Ihr geänderter Gebührenbescheid – Kassenzeichen {number}"]
    assert len(changed) == 1
    assert "Wir erstatten Ihnen 10,00" in body_text(changed[0])
    [(filename, pdf)] = attachments(changed[0], "application/pdf")
    assert filename == f"Geaenderter-Bescheid-{number}.pdf"
    content = pdf_text(pdf, tmp_path)
    assert "Geänderter Gebührenbescheid" in content and "Geänderter Bescheid" in content
    assert "Erstattungsbetrag" in content and "10,00 €" in content
    assert pdf_qr(pdf, tmp_path) == []  # nothing to pay: no GiroCode
    served = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))
    assert served.content == pdf != receipt
    assert "refunded" in await milestone_kinds(desk.app, number)


async def test_a_recompleted_case_gets_a_changed_notice(desk: Desk, smtp_sink: SmtpSink,
                                                        tmp_path: Path) -> None:
    await configure_offices(desk)
    reference, token, case = await complete(desk)
    number = case["case_number"]
    await drain(desk.app)
    first = (await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))).content

    r = await desk.client.post(f"/api/v1/admin/appointments/{reference}/reopen",
                               json={"reason": "zweites Exemplar vergessen"},
                               headers=desk.admin)
    assert r.status_code == 200, r.text
    r = await desk.complete(reference, {
        "items": [{"service_id": desk.certificate, "quantity": 2}],
        "payment": "invoice", "delivery": "email"})
    assert r.status_code == 200, r.text
    await drain(desk.app)
    mails = smtp_sink.snapshot()
    assert [str(m["Subject"]) for m in mails] == [
        f"Ihr Gebührenbescheid – Kassenzeichen {number}",
        f"Ihr geänderter Gebührenbescheid – Kassenzeichen {number}",
    ]
    [(_, pdf)] = attachments(mails[1], "application/pdf")
    content = pdf_text(pdf, tmp_path)
    assert "Geänderter Bescheid: Dieser Bescheid ersetzt den Gebührenbescheid vom" in content
    assert "20,00 €" in content
    [payload] = pdf_qr(pdf, tmp_path)
    assert payload.splitlines()[7] == "EUR20"  # the QR asks for the new total
    served = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))
    assert served.content == pdf != first


async def test_milestone_mails_speak_the_booking_language(desk: Desk,
                                                          smtp_sink: SmtpSink) -> None:
    await configure_offices(desk)
    _, token, case = await complete(desk, delivery="external", locale="en",
                                    external_authority="Bundesamt für Justiz")
    number = case["case_number"]
    await drain(desk.app)
    [forwarded, notice] = sorted(smtp_sink.snapshot(), key=lambda m: str(m["Subject"]))
    assert forwarded["Subject"] == f"Forwarded to Bundesamt für Justiz – case number {number}"
    text = body_text(forwarded)
    assert "forwarded to Bundesamt für Justiz" in text and f"/t/{token}" in text
    assert notice["Subject"] == f"Your fee notice – case number {number}"
    page = await desk.client.get(f"/t/{token}")
    assert "Forwarded to Bundesamt für Justiz" in page.text or \
        "Weitergeleitet an Bundesamt für Justiz" in page.text
    me = await desk.client.get("/api/v1/me", headers=bearer(token))
    labels = [s["label"] for s in me.json()["case"]["milestones"]]
    assert "Weitergeleitet an Bundesamt für Justiz" in labels


async def test_a_partial_refund_recorded_by_the_payment_side(desk: Desk, smtp_sink: SmtpSink,
                                                             tmp_path: Path) -> None:
    """With the payment provider's own records (attempt and refund rows, its job payloads):
    what was paid, what is kept and what comes back add up to the cent."""
    from postcall.payments.models import PaymentAttempt, Refund

    await configure_offices(desk)
    _, token, case = await complete(desk, payment="online", items=[
        {"service_id": desk.certificate, "quantity": 1},
        {"service_id": desk.conduct, "quantity": 1}])
    number = case["case_number"]
    assert case["amount_cents"] == 2300
    async with state_of(desk.app).db.transaction(write=True) as session:
        row = await session.get(Case, (await case_row(desk.app, number)).id)
        assert row is not None and row.id is not None
        attempt = PaymentAttempt(case_id=row.id, public_id="attempt-0123456789",
                                 provider="stripe", status="paid", amount_cents=2300)
        session.add(attempt)
        await session.flush()
        row.payment_status = "paid"
        await reach(session, row.id, MilestoneKind.paid)
        enqueue(session, "payment.receipt", {"case_id": row.id, "attempt_id": attempt.id})
        refund = Refund(case_id=row.id, attempt_id=attempt.id, public_id="refund-0123456789",
                        amount_cents=1300, status="succeeded", reason="Führungszeugnis entfiel")
        session.add(refund)
        await session.flush()
        await reach(session, row.id, MilestoneKind.refunded)
        for _ in range(2):  # a duplicate job makes no second notice
            enqueue(session, "case.corrected_notice", {"case_id": row.id,
                                                       "refund_id": refund.id})
    await drain(desk.app)
    changed = [m for m in smtp_sink.snapshot() if "geänderter" in str(m["Subject"])]
    assert len(changed) == 1
    [(_, pdf)] = attachments(changed[0], "application/pdf")
    content = pdf_text(pdf, tmp_path)
    assert "10,00 €" in content  # the fee now
    assert "-23,00 €" in content  # already paid
    assert "Erstattungsbetrag 13,00 €" in content
    assert "Wir erstatten Ihnen 13,00" in body_text(changed[0])
    served = await desk.client.get("/api/v1/me/fee-notice.pdf", headers=bearer(token))
    assert served.content == pdf
