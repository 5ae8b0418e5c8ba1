"""Appointment e-mails and calendar files on site and by phone: the office's address and what to
bring, or the number we call; no video-call instructions; and every new text of the channels
translated (catalogue core/locales/de/LC_MESSAGES/channels.po)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po
from icalendar import Calendar

from app.context import AppContext
from app.mail_env import mail_env
from app.main import build_context
from app.settings import Settings
from booking.ics import build_ics
from booking.models import Appointment, Office, Service
from core.i18n import I18n
from mail.appointments import TEMPLATES, build_mail

from . import factories

ROOT = Path(__file__).resolve().parents[2]
LINK = "https://buero.example/t/" + "A" * 43
ADDRESS = "Klosterhof 10\n73760 Ostfildern"
PHONE = "0711 1234567"


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[AppContext]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, env="test", secret_key="k" * 32, base_url="https://buero.example",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/unused.db", var_dir=tmp_path / "var",
    )
    context = build_context(settings)
    yield context
    await context.db.dispose()


def rows(ctx: AppContext, channel: str, locale: str = "de"
         ) -> tuple[Appointment, Office, Service]:
    office = factories.office(id=3, address=ADDRESS)
    service = factories.service(id=4, onsite=True, phone=True,
                                bring="Das alte Dokument\nEin Passfoto")
    appointment, _ = factories.appointment(office, service, ctx.links, id=77, channel=channel,
                                           phone=PHONE, locale=locale)
    return appointment, office, service


def bodies(ctx: AppContext, template: str, channel: str, locale: str = "de") -> tuple[str, str]:
    message = build_mail(mail_env(ctx), template, *rows(ctx, channel, locale), link_url=LINK)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(message["Subject"]), text.get_content() + html.get_content()


@pytest.mark.parametrize("template", TEMPLATES)
async def test_on_site_mails(ctx: AppContext, template: str) -> None:
    subject, body = bodies(ctx, template, "onsite")
    assert "Video" not in subject and "video" not in body.lower().replace("per video", "")
    assert "Vor Ort im Bürgerbüro" in body
    if template in ("hold", "confirmed", "rescheduled", "reminder"):
        assert "Klosterhof 10" in body and "Bitte bringen Sie mit" in body
        assert "Ein Passfoto" in body and "Kamera" not in body


async def test_phone_mails_name_the_number(ctx: AppContext) -> None:
    subject, body = bodies(ctx, "confirmed", "phone")
    assert subject.startswith("Ihr Termin am ")
    assert f"Wir rufen Sie zur Terminzeit unter {PHONE} an." in body
    assert "Warteraum" not in body
    subject, body = bodies(ctx, "reminder", "phone", "en")
    assert subject.startswith("Reminder: your appointment on ")
    assert f"We call you on {PHONE} at the time of the appointment." in body


async def test_video_mails_are_unchanged(ctx: AppContext) -> None:
    subject, body = bodies(ctx, "confirmed", "video")
    assert "Video-Termin" in subject and "Warteraum" in body and "Per Video" in body


def event(ics: bytes) -> dict[str, str]:
    [found] = Calendar.from_ical(ics).walk("VEVENT")
    return {key: str(found.get(key)) for key in ("SUMMARY", "LOCATION", "DESCRIPTION")}


async def test_calendar_location_by_channel(ctx: AppContext) -> None:
    onsite = event(build_ics(*rows(ctx, "onsite"), method="REQUEST", link_url=LINK, lang="de"))
    assert onsite["LOCATION"] == "Bürgerbüro Ostfildern, Klosterhof 10, 73760 Ostfildern"
    assert onsite["SUMMARY"].startswith("Termin vor Ort: ")
    assert "Ein Passfoto" in onsite["DESCRIPTION"]
    phone = event(build_ics(*rows(ctx, "phone"), method="REQUEST", link_url=LINK, lang="en"))
    assert phone["LOCATION"] == f"Phone appointment: {PHONE}"
    assert f"We call you on {PHONE}." in phone["DESCRIPTION"]
    video = event(build_ics(*rows(ctx, "video"), method="REQUEST", link_url=LINK, lang="de"))
    assert video["LOCATION"] == LINK


# --- the catalogue ------------------------------------------------------------------------------

SOURCES = [
    *(ROOT / p for p in ("booking/channels.py", "app/pages/book_channel.py", "mail/channels.py")),
    *(ROOT / "app/templates/citizen").glob("*.html"),
    *(ROOT / "app/templates/staff").glob("*agenda*.html"),
    ROOT / "app/templates/staff/desk.html",
    *(ROOT / "mail/templates/appointment").glob("*.*"),
]
PO = ROOT / "core/locales/de/LC_MESSAGES/channels.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_channel_text_is_translated() -> None:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    ids: set[str] = set()
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        options = {} if path.suffix == ".py" else {"trim_blocks": "true", "lstrip_blocks": "true"}
        for _, msg, _, _ in extract_from_file(method, str(path), keywords=keywords,
                                              options=options):
            ids.add(msg if isinstance(msg, str) else msg[0])
    with PO.open("rb") as fh:
        ours = {m.id: m.string for m in read_po(fh, locale="de") if m.id}
    assert len(ours) > 50
    translator = I18n().translator("de")
    # Ids the German catalogue writes the same ("Status", "Name") are in some catalogue too.
    known = set()
    for po in (ROOT / "core/locales/de/LC_MESSAGES").glob("*.po"):
        with po.open("rb") as fh:
            known |= {m.id for m in read_po(fh, locale="de") if m.id and m.string}
    missing = sorted(i for i in ids if translator.gettext(i) == i and i not in known)
    assert missing == []
    for msgid, text in ours.items():
        assert isinstance(msgid, str) and isinstance(text, str) and text, msgid
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid
