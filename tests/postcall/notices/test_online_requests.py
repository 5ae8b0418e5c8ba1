"""A request sent online, decided without an appointment: its fee notice names the request
("Ihr Antrag OA-... vom ...") where a video request names its appointment, and the case mails
speak of the request and link to the request page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.applications import Starlette

from tests.postcall.notices.support import attachments, body_text, pdf_text
from tests.request_support import drain, online_world
from tests.smtp_support import SmtpSink

BERLIN = ZoneInfo("Europe/Berlin")


def german(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


async def test_the_fee_notice_of_a_request_sent_online(app: Starlette, smtp_sink: SmtpSink,
                                                       tmp_path: Path) -> None:
    online = await online_world(app, fee_cents=2500)
    sent = await online.submit(locale="de")
    reference = sent.case.reference
    await online.complete(reference)
    await drain(app)

    notice = [m for m in smtp_sink.snapshot() if "Gebührenbescheid" in str(m["Subject"])]
    assert len(notice) == 1, [m["Subject"] for m in smtp_sink.snapshot()]
    text = body_text(notice[0])
    assert "Vielen Dank für Ihren Antrag. Den Gebührenbescheid dazu" in text
    assert "Videotermin" not in text and "Terminseite" not in text
    assert "Meine Antragsseite öffnen" in text and f"/t/{sent.token}" in text
    [(_, pdf)] = attachments(notice[0], "application/pdf")
    content = pdf_text(pdf, tmp_path)
    sent_on = german(sent.case.created_at.astimezone(BERLIN).date())
    assert f"Ihr Antrag {reference} vom {sent_on}" in content
    assert f"Leistung: Hundesteuer-Anmeldung (Online-Antrag vom {sent_on})" in content
    assert "Ihr Termin" not in content and "Videotermin" not in content
    assert "25,00 €" in content and "Hundesteuersatzung § 4" in content


async def test_a_free_request_hears_of_its_completion_on_its_request_page(
    app: Starlette, smtp_sink: SmtpSink,
) -> None:
    online = await online_world(app)
    sent = await online.submit(locale="en")
    await online.complete(sent.case.reference, payment="none")
    await drain(app)
    [done] = [m for m in smtp_sink.snapshot() if "completed" in str(m["Subject"])]
    text = body_text(done)
    assert "You can follow the next steps on your request page." in text
    assert "Open my request page" in text and "appointment" not in text
