"""The appointment e-mails: structure, language, contents, calendar file, Message-ID."""

from __future__ import annotations

import ast
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from babel.messages.pofile import read_po

from app.context import AppContext
from app.mail_env import mail_env
from app.main import build_context
from app.settings import Settings
from booking.composition import Party
from booking.models import Appointment, AppointmentStatus, Office, Service
from booking.party_models import AppointmentPerson
from mail.appointments import ICS_METHODS, TEMPLATES, build_mail, message_id_for_job

from . import factories

ROOT = Path(__file__).resolve().parents[2]
LINK = "https://buero.example/t/" + "A" * 43


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[AppContext]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, env="test", secret_key="k" * 32, base_url="https://buero.example",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/unused.db", var_dir=tmp_path / "var",
        mail_from="Bürgerbüro Ostfildern <buergerbuero@ostfildern.example>",
    )
    context = build_context(settings)
    yield context
    await context.db.dispose()


def _rows(ctx: AppContext, **kwargs: object) -> tuple[Appointment, Office, Service]:
    office = factories.office(id=3)
    service = factories.service(id=4)
    appointment, _ = factories.appointment(office, service, ctx.links, id=77, **kwargs)  # type: ignore[arg-type]
    return appointment, office, service


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def _roundtrip(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("lang", ["de", "en"])
async def test_every_template_in_both_languages(ctx: AppContext, template: str, lang: str) -> None:
    status = {"hold": AppointmentStatus.reserved, "cancelled": AppointmentStatus.cancelled,
              "expired": AppointmentStatus.expired}.get(template, AppointmentStatus.confirmed)
    appointment, office, service = _rows(ctx, locale=lang, status=status)
    message = _roundtrip(build_mail(mail_env(ctx), template, appointment, office, service,
                                    link_url=LINK,
                                    message_id=message_id_for_job(5, appointment,
                                                                  ctx.settings.base_url)))

    assert message["To"].addresses[0].addr_spec == "erika.mustermann@example.org"
    assert message["From"].addresses[0].addr_spec == "buergerbuero@ostfildern.example"
    assert message["Reply-To"].addresses[0].addr_spec == office.email
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == lang
    assert message["Date"].datetime.tzinfo is not None
    assert re.fullmatch(r"<job-5\.[0-9a-f]{16}@buero\.example>", message["Message-ID"])

    text, html = _parts(message)
    assert f'<html lang="{lang}">' in html
    assert "<h1" in html and "<title>" in html
    date_text = {"de": "Montag, 23. November 2026", "en": "Monday, November 23, 2026"}[lang]
    time_text = {"de": "09:00–09:15 Uhr", "en": "9:00\u202fAM–9:15\u202fAM"}[lang]
    for body in (text, html):
        assert date_text in body
        assert time_text in body
        assert appointment.reference in body
        assert "Bürgerbüro Ostfildern" in body
    service_name = {"de": "Meldebescheinigung", "en": "Registration certificate"}[lang]
    assert service_name in text and service_name in html

    if template in ("cancelled", "expired"):
        assert "https://buero.example/book" in text
        assert 'href="https://buero.example/book"' in html
    else:
        # The link is both the big button and a plain, copyable link.
        assert LINK in text
        assert html.count(f'href="{LINK}"') == 2
        prepare = {"de": "Personalausweis oder Reisepass", "en": "ID card or passport"}[lang]
        assert prepare in text and prepare in html
        manage = {"de": "absagen oder verschieben", "en": "cancel or move"}[lang]
        assert manage in text

    attachments = list(message.iter_attachments())
    method = ICS_METHODS.get(template)
    if method is None:
        assert attachments == []
    else:
        assert len(attachments) == 1
        ics = attachments[0]
        assert ics.get_content_type() == "text/calendar"
        assert ics.get_param("method") == method
        assert ics.get_filename() == "termin.ics"
        payload = ics.get_payload(decode=True)
        assert isinstance(payload, bytes)
        cal = vobject.readOne(payload.decode())
        assert cal.method.value == method
        assert cal.vevent.uid.value == appointment.ics_uid
        assert cal.vevent.dtstart.value.astimezone(UTC) == appointment.start_at


async def test_german_wording(ctx: AppContext) -> None:
    appointment, office, service = _rows(ctx, status=AppointmentStatus.reserved)
    message = build_mail(mail_env(ctx), "hold", appointment, office, service, link_url=LINK)
    reference = appointment.reference
    assert message["Subject"] == f"Bitte bestätigen Sie Ihren Video-Termin ({reference})"
    text, html = _parts(message)
    assert "Guten Tag Erika Mustermann," in text
    assert "innerhalb von 15 Minuten" in text
    assert "Sonst geben wir den Termin für andere frei." in text
    assert "Termin bestätigen" in html
    assert appointment.hold_expires_at is not None
    deadline = appointment.hold_expires_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"spätestens bis {deadline:%H:%M} Uhr" in text
    assert f"spätestens bis {deadline:%H:%M} Uhr. Sonst geben wir" in html


async def test_english_subjects(ctx: AppContext) -> None:
    appointment, office, service = _rows(ctx, locale="en")
    subjects = {
        template: build_mail(mail_env(ctx), template, appointment, office, service,
                             link_url=LINK)["Subject"]
        for template in TEMPLATES
    }
    assert subjects["confirmed"] == "Your video appointment on Nov 23, 2026 is confirmed"
    assert subjects["reminder"] == (
        "Reminder: your video appointment on Nov 23, 2026 at 9:00\u202fAM"
    )
    assert subjects["cancelled"] == "Your video appointment on Nov 23, 2026 has been cancelled"


async def test_names_are_escaped_in_html(ctx: AppContext) -> None:
    appointment, office, service = _rows(ctx, given_name="<b>Eve</b>")
    _, html = _parts(build_mail(mail_env(ctx), "confirmed", appointment, office, service,
                                link_url=LINK))
    assert "<b>Eve</b>" not in html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html


async def test_a_family_s_mail_lists_every_matter_and_person(ctx: AppContext) -> None:
    appointment, office, service = _rows(ctx, given_name="Erika", family_name="Muster")
    passport = factories.service(id=5, name="Reisepass", name_en="Passport")
    party = Party([service, passport], [
        AppointmentPerson(appointment_id=77, person=2, given_name="Max", family_name="Muster",
                          date_of_birth=date(2015, 4, 1)),
        AppointmentPerson(appointment_id=77, person=3, given_name="Mia", family_name="Muster")])
    text, html = _parts(build_mail(mail_env(ctx), "confirmed", appointment, office, service,
                                   link_url=LINK, party=party))
    for body in (text, html):
        assert "Anliegen" in body and f"{service.name}, Reisepass" in body
        assert "Personen" in body and "Erika Muster, Max Muster, Mia Muster" in body
        assert "2015" not in body  # no date of birth in an e-mail
    appointment.locale = "en"
    text, _ = _parts(build_mail(mail_env(ctx), "confirmed", appointment, office, service,
                                link_url=LINK, party=party))
    assert "- Matters: " in text and "Passport" in text and "- Persons: Erika Muster" in text
    # A plain booking keeps its one "Service" row and no persons.
    text, _ = _parts(build_mail(mail_env(ctx), "confirmed", appointment, office, service,
                                link_url=LINK))
    assert "- Service: " in text and "Persons" not in text


async def test_message_id_is_stable_per_job_and_distinct_between_jobs(ctx: AppContext) -> None:
    appointment, _, _ = _rows(ctx)
    base = ctx.settings.base_url
    assert message_id_for_job(9, appointment, base) == message_id_for_job(9, appointment, base)
    assert message_id_for_job(9, appointment, base) != message_id_for_job(10, appointment, base)
    other = factories.appointment(factories.office(id=3), factories.service(id=4), ctx.links)[0]
    assert message_id_for_job(9, appointment, base) != message_id_for_job(9, other, base)


async def test_unknown_template_is_refused(ctx: AppContext) -> None:
    appointment, office, service = _rows(ctx)
    with pytest.raises(ValueError):
        build_mail(mail_env(ctx), "welcome", appointment, office, service, link_url=LINK)


async def test_subject_and_headers_survive_non_ascii(ctx: AppContext) -> None:
    appointment, office, service = _rows(
        ctx, given_name="Jürgen", family_name="Groß-Öztürk",
        start=datetime(2026, 3, 29, 8, 0, tzinfo=UTC) + timedelta(hours=0),
    )
    message = _roundtrip(build_mail(mail_env(ctx), "rescheduled", appointment, office, service,
                                    link_url=LINK))
    assert message["To"].addresses[0].display_name == "Jürgen Groß-Öztürk"
    assert message["Subject"] == "Ihr Video-Termin wurde auf den 29.03.2026 verschoben"
    text, _ = _parts(message)
    assert "Sonntag, 29. März 2026" in text and "10:00–10:15 Uhr" in text


# --- every message id we use has a German translation ----------------------------------------

_TEMPLATE_MSGID = re.compile(r'(?:_|gettext)\(\s*"((?:[^"\\]|\\.)*)"')
_TEMPLATE_NGETTEXT = re.compile(r'ngettext\(\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"')


def _used_msgids() -> set[str]:
    ids: set[str] = set()
    for path in (ROOT / "mail" / "templates" / "appointment").iterdir():
        source = path.read_text()
        ids.update(_TEMPLATE_MSGID.findall(source))
        for singular, plural in _TEMPLATE_NGETTEXT.findall(source):
            ids.update((singular, plural))
    tree = ast.parse((ROOT / "mail" / "appointments.py").read_text())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("gettext", "ngettext") and node.args
                and isinstance(node.args[0], ast.Constant)):
            ids.add(str(node.args[0].value))
    return ids


def test_every_msgid_has_a_german_translation() -> None:
    # Every catalogue (they are merged): mail.po, and e.g. channels.po for on site and phone.
    catalog = []
    for po in sorted((ROOT / "core" / "locales" / "de" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            catalog.extend(read_po(fh, locale="de"))
    translated: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            translated.update(ids)
    used = _used_msgids()
    assert len(used) > 40
    assert used - translated == set()
