"""E-mails about a request sent online (``mail.request``), end to end: the request is made with
the services the API calls, the worker delivers through a real SMTP server (aiosmtpd), and the
messages are read back: German by default, English when the request is, every answer in the
receipt, the documents a question asks for, the rejection notice as PDF, exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlmodel import col
from starlette.applications import Starlette

from app.mail_env import mail_env
from app.settings import Settings
from app.worker import default_handlers
from cases.models import Case
from core.audit import Actor
from core.i18n import I18n
from core.jobs import Job, JobStatus
from mail.requests import JOB_KIND, send_request_mail
from online.catalogue import update_online_service
from tests.postcall.notices.support import attachments, body_text, pdf_text
from tests.request_support import Online, drain, online_world
from tests.smtp_support import SmtpSink
from tests.staff.test_translations import python_msgids, template_msgids

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://testserver"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink) -> Settings:
    return settings_factory(smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                            mail_from="Stadt Musterhausen <buergerbuero@musterhausen.example>")


@pytest.fixture
async def online(app: Starlette) -> Online:
    return await online_world(app)


def plain(message: EmailMessage) -> str:
    return body_text(message).replace("\r\n", "\n")


def html_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def only(sink: SmtpSink, subject_start: str) -> EmailMessage:
    found = [m for m in sink.snapshot() if str(m["Subject"]).startswith(subject_start)]
    assert len(found) == 1, [m["Subject"] for m in sink.snapshot()]
    return found[0]


async def test_the_handler_is_registered() -> None:
    assert JOB_KIND == "mail.request" and JOB_KIND in default_handlers()


async def test_double_opt_in_then_the_receipt_in_german(online: Online,
                                                         smtp_sink: SmtpSink) -> None:
    sent = await online.submit(confirmation=True)
    reference = sent.case.reference
    await drain(online.app)
    [message] = smtp_sink.snapshot()
    assert message["Subject"] == f"Bitte bestätigen Sie Ihren Antrag ({reference})"
    assert message["Content-Language"] == "de"
    assert message["To"].addresses[0].addr_spec == "erika@example.org"
    text = plain(message)
    for expected in ("Guten Tag Erika Mustermann,", "Vielen Dank für Ihren Antrag.",
                     "Erst dann geht Ihr Antrag bei uns ein", "Ohne Bestätigung verfällt er",
                     f"Vorgangsnummer: {reference}", "Anliegen: Hundesteuer-Anmeldung",
                     "Bürgerbüro: Bürgerbüro Musterhausen", "Antrag bestätigen:",
                     f"{BASE}/t/{sent.token}", "Freundliche Grüße"):
        assert expected in text, expected
    html = html_text(message)
    assert '<html lang="de">' in html and f'href="{BASE}/t/{sent.token}"' in html
    assert "Antrag bestätigen" in html

    await online.confirm(reference)
    await drain(online.app)
    receipt = only(smtp_sink, "Ihr Antrag")
    assert receipt["Subject"] == f"Ihr Antrag {reference} ist bei uns eingegangen"
    assert len(smtp_sink.snapshot()) == 2


async def test_the_receipt_lists_every_answer_and_document(online: Online,
                                                           smtp_sink: SmtpSink) -> None:
    sent = await online.submit()
    reference = sent.case.reference
    await online.add_document(reference, "proof", "police-2026.pdf")
    await online.add_document(reference, "photo", "bello.jpg")
    await online.retire("colour")  # retired after the request was sent: its label stays
    await drain(online.app)

    [message] = smtp_sink.snapshot()
    assert message["Subject"] == f"Ihr Antrag {reference} ist bei uns eingegangen"
    text = plain(message)
    for expected in (
        "Name des Hundes: Bello", "Geburtstag des Hundes: 3. April 2021",
        "Gewicht in kg: 12,5", "Rasse: Mischling", "Haftpflichtversichert: Ja",
        "Anschrift der Haltung: Hauptstraße 1, 73760 Ostfildern",
        "Fundort: 48.7122, 9.2617", "Bemerkungen: Erste Zeile\n  Zweite Zeile",
        "Fellfarbe: braun",
        "Ihre Unterlagen", "Versicherungsnachweis: police-2026.pdf",
        "Foto des Hundes: bello.jpg",
        "Wir bearbeiten ihn voraussichtlich innerhalb von 14 Tagen.", "Also bis zum ",
        f"Vorgangsnummer: {reference}", f"{BASE}/t/{sent.token}",
    ):
        assert expected in text, expected
    # In the form's order.
    assert text.index("Name des Hundes") < text.index("Rasse") < text.index("Bemerkungen")
    html = html_text(message)
    assert '<th scope="row"' in html and ">Haftpflichtversichert</th>" in html
    assert "Versicherungsnachweis: police-2026.pdf" in html
    assert "Sealed" not in text and "sealed" not in html


async def test_the_receipt_in_english(online: Online, smtp_sink: SmtpSink) -> None:
    sent = await online.submit(locale="en")
    await drain(online.app)
    [message] = smtp_sink.snapshot()
    assert message["Subject"] == f"We have received your request {sent.case.reference}"
    assert message["Content-Language"] == "en"
    text = plain(message)
    for expected in ("Hello Erika Mustermann,", "Service: Dog tax registration",
                     "Name of the dog: Bello", "The dog's birthday: April 3, 2021",
                     "Weight in kg: 12.5", "Breed: Mixed breed", "Liability insured: Yes",
                     "We expect to process it within 14 days.", "Open my request page"):
        assert expected in text, expected
    assert '<html lang="en">' in html_text(message)


async def test_a_question_names_the_documents_still_needed(online: Online, smtp_sink: SmtpSink,
                                                           tmp_path: Path) -> None:
    sent = await online.submit()
    reference = sent.case.reference
    await drain(online.app)
    question = "Bitte senden Sie uns den Nachweis.\nDas Foto fehlt auch noch."
    await online.ask(reference, question, ("proof", "photo"))
    await drain(online.app)

    message = only(smtp_sink, "Rückfrage")
    assert message["Subject"] == f"Rückfrage zu Ihrem Antrag {reference}"
    text = plain(message)
    for expected in ("Wir haben eine Rückfrage zu Ihrem Antrag:", question,
                     "Bitte reichen Sie diese Unterlagen nach", "- Versicherungsnachweis",
                     "- Foto des Hundes", "Auf meiner Antragsseite antworten:",
                     f"{BASE}/t/{sent.token}"):
        assert expected in text, expected
    html = html_text(message)
    assert "<li>Versicherungsnachweis</li>" in html and "white-space:pre-line" in html
    # The request for missing documents as a letter (German, the DIN 5008 frame).
    [(filename, pdf)] = attachments(message, "application/pdf")
    assert filename == f"Nachforderung-{reference}.pdf"
    content = " ".join(pdf_text(pdf, tmp_path).split())
    for expected in ("Nachforderung von Unterlagen", f"Vorgangsnummer {reference}",
                     "Bitte senden Sie uns den Nachweis.", "Das Foto fehlt auch noch.",
                     "Bitte reichen Sie nach: Versicherungsnachweis, Foto des Hundes."):
        assert expected in content, expected
    # The clerk's first step was the question: its own mail tells it, no "In Bearbeitung".
    assert [m["Subject"] for m in smtp_sink.snapshot()] == [
        f"Ihr Antrag {reference} ist bei uns eingegangen",
        f"Rückfrage zu Ihrem Antrag {reference}"]


async def test_taking_a_request_up_is_news_with_a_link_to_the_request_page(
    online: Online, smtp_sink: SmtpSink,
) -> None:
    sent = await online.submit()
    reference = sent.case.reference
    await online.take_up(reference)
    await drain(online.app)
    message = only(smtp_sink, "In Bearbeitung")
    assert message["Subject"] == f"In Bearbeitung – Antrag {reference}"
    text = plain(message)
    for expected in ("Es gibt Neuigkeiten", "Ihr Antrag ist jetzt in Bearbeitung.",
                     f"Vorgangsnummer: {reference}", "Anliegen: Hundesteuer-Anmeldung",
                     "Meine Antragsseite öffnen:", f"{BASE}/t/{sent.token}"):
        assert expected in text, expected
    assert "Termin" not in text and "None" not in text


async def test_a_rejection_carries_its_notice(online: Online, smtp_sink: SmtpSink,
                                              tmp_path: Path) -> None:
    sent = await online.submit()
    reference = sent.case.reference
    reason = ("Für den angegebenen Hund ist bereits eine Anmeldung vorhanden.\n"
              "Eine zweite Anmeldung ist nicht möglich.")
    await online.reject(reference, reason)
    await drain(online.app)

    message = only(smtp_sink, "Entscheidung")
    assert message["Subject"] == f"Entscheidung über Ihren Antrag {reference}"
    text = plain(message)
    for expected in ("Leider können wir Ihrem Antrag nicht stattgeben.", reason,
                     "Den Ablehnungsbescheid finden Sie als PDF-Datei im Anhang.",
                     "Meine Antragsseite öffnen:", f"{BASE}/t/{sent.token}"):
        assert expected in text, expected
    assert "Amtssprache" not in text  # said only to those who read another language
    [(filename, pdf)] = attachments(message, "application/pdf")
    assert filename == f"Ablehnungsbescheid-{reference}.pdf"
    content = pdf_text(pdf, tmp_path)
    for expected in ("Ablehnungsbescheid", "Stadt Musterhausen", "Erika Mustermann",
                     f"Vorgangsnummer {reference}", "Hundesteuer-Anmeldung",
                     "wird abgelehnt", "bereits eine Anmeldung vorhanden",
                     "Rechtsbehelfsbelehrung", "innerhalb eines Monats", "Widerspruch"):
        assert expected in content, expected


async def test_in_english_the_notice_stays_german(app: Starlette, smtp_sink: SmtpSink,
                                                  tmp_path: Path) -> None:
    online = await online_world(app, bank=False)  # a rejection asks for no money
    sent = await online.submit(locale="en")
    await online.reject(sent.case.reference, "Der Hund ist bereits angemeldet.")
    await drain(online.app)
    message = only(smtp_sink, "Decision")
    assert message["Subject"] == f"Decision on your request {sent.case.reference}"
    text = plain(message)
    assert "we cannot grant your request" in text
    assert "The notice is in German, the official language." in text
    [(_, pdf)] = attachments(message, "application/pdf")
    content = pdf_text(pdf, tmp_path)
    assert "Rechtsbehelfsbelehrung" in content and "Der Hund ist bereits angemeldet." in content
    assert "IBAN" not in content


async def test_withdrawn_and_invited(online: Online, smtp_sink: SmtpSink) -> None:
    first = await online.submit()
    await online.withdraw(first.case.reference)
    second = await online.submit(email="max@example.org", given_name="Max")
    await online.invite_video(second.case.reference)
    await drain(online.app)

    withdrawn = only(smtp_sink, f"Ihr Antrag {first.case.reference} wurde")
    text = plain(withdrawn)
    assert withdrawn["Subject"] == f"Ihr Antrag {first.case.reference} wurde zurückgezogen"
    assert "Wie gewünscht haben wir Ihren Antrag zurückgezogen." in text
    assert f"{BASE}/apply" in text
    invited = only(smtp_sink, "Bitte buchen")
    assert invited["Subject"] == \
        f"Bitte buchen Sie einen Video-Termin für Ihren Antrag {second.case.reference}"
    text = plain(invited)
    for expected in ("Um Ihren Antrag abzuschließen, müssen wir Ihre Identität prüfen.",
                     "Bitte buchen Sie auf Ihrer Antragsseite einen kurzen Video-Termin.",
                     "Ihren Personalausweis oder Reisepass", "Video-Termin buchen:",
                     f"{BASE}/t/{second.token}"):
        assert expected in text, expected


async def test_an_invitation_to_a_request_withdrawn_meanwhile_is_dropped(
    online: Online, smtp_sink: SmtpSink,
) -> None:
    sent = await online.submit()
    await online.invite_video(sent.case.reference)
    await online.withdraw(sent.case.reference)
    await drain(online.app)
    subjects = [str(m["Subject"]) for m in smtp_sink.snapshot()]
    assert not any(s.startswith("Bitte buchen") for s in subjects), subjects
    assert f"Ihr Antrag {sent.case.reference} wurde zurückgezogen" in subjects
    assert {j.status for j in await online.jobs(JOB_KIND)} == {JobStatus.done}


async def test_a_request_sent_anonymously_is_greeted_without_a_name(
    online: Online, smtp_sink: SmtpSink,
) -> None:
    await online.run(lambda s: update_online_service(s, Actor.system(), online.service_id,
                                                     {"anonymous_allowed": True}))
    await online.submit(given_name="", family_name="")
    await drain(online.app)
    [message] = smtp_sink.snapshot()
    assert plain(message).startswith("Guten Tag,\n")
    assert ">Guten Tag,</p>" in html_text(message)


async def test_exactly_once_across_a_retry(online: Online, smtp_sink: SmtpSink) -> None:
    await asyncio.to_thread(smtp_sink.stop)
    sent = await online.submit()
    await drain(online.app)  # the server is away: the job waits for a retry
    [job] = await online.jobs(JOB_KIND)
    assert job.status == JobStatus.pending and job.attempts == 1 and job.last_error
    assert smtp_sink.snapshot() == []

    await asyncio.to_thread(smtp_sink.start)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    await drain(online.app, clock=lambda: later)
    await drain(online.app, clock=lambda: later + dt.timedelta(hours=1))
    [message] = smtp_sink.snapshot()
    [job] = await online.jobs(JOB_KIND)
    assert job.status == JobStatus.done and job.attempts == 2
    assert sent.case.reference in str(message["Subject"])

    # A worker that died after the server accepted the mail, before recording it, sends it
    # again with the same Message-ID (mail systems drop such a copy).
    await send_request_mail(mail_env(online.ctx), job)
    first, again = smtp_sink.snapshot()
    assert first["Message-ID"] == again["Message-ID"]
    assert str(first["Message-ID"]).startswith(f"<request-{job.id}.")
    assert str(first["Message-ID"]).endswith("@testserver>")


async def test_a_request_erased_before_its_mail_ends_the_job_quietly(
    online: Online, smtp_sink: SmtpSink,
) -> None:
    sent = await online.submit()
    await online.run(lambda s: s.execute(delete(Case).where(col(Case.id) == sent.case.id)))
    await drain(online.app)
    assert smtp_sink.snapshot() == []
    async with online.ctx.db.transaction() as session:
        statuses = (await session.execute(select(col(Job.status)).where(
            col(Job.kind) == JOB_KIND))).scalars().all()
    assert statuses == [JobStatus.done]


# --- every message id has a German translation -----------------------------------------------


def used_msgids() -> set[str]:
    ids: set[str] = set()
    for name in ("mail/requests.py", "mail/request_answers.py"):
        ids |= python_msgids(ROOT / name)
    for path in sorted((ROOT / "mail/templates/request").iterdir()):
        ids |= template_msgids(path)
    return ids


def test_every_request_mail_message_is_translated() -> None:
    ids = used_msgids()
    assert "Confirm my request" in ids and "Your answers" in ids
    german = I18n().translator("de")
    plurals = {"We expect to process it within %(num)s days."}
    assert sorted(m for m in ids - plurals if german.gettext(m) == m) == []
    assert german.ngettext("We expect to process it within %(num)s day.",
                           "We expect to process it within %(num)s days.", 3) == \
        "Wir bearbeiten ihn voraussichtlich innerhalb von 3 Tagen."
