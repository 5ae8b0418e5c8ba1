"""The languages of the town's residents: ``?lang=`` and its cookie, Accept-Language for the
API, the language menu, right to left for Arabic, Leichte Sprache as German, staff pages in
German or English only, and the citizen's language stored with the booking for its e-mails."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from booking.models import Appointment
from core.i18n import LANGUAGE_NAMES, LANGUAGES, from_accept_language, pick_language
from tests.app.pages.helpers import book_via_pages, load, walk_to_details
from tests.app.pages.seed import Seed, app_ctx, seed


@pytest.fixture
async def seeded(app: Starlette) -> Seed:
    return await seed(app)


def html_tag(page: str) -> str:
    match = re.search(r"<html[^>]*>", page)
    assert match
    return match.group(0)


def menu(page: str) -> list[tuple[str, str, str, str]]:
    """The language menu's links: (href, lang, hreflang, name)."""
    block = re.search(r'<details class="lang-menu".*?</details>', page, re.S)
    assert block, "no language menu"
    return re.findall(r'<li><a href="([^"]+)" lang="([^"]+)" hreflang="([^"]+)"[^>]*>([^<]+)</a>',
                      block.group(0))


@pytest.mark.parametrize(("value", "expected"), [
    ("tr", "tr"), ("TR-tr", "tr"), ("ar_EG", "ar"), ("de-x-ls", "de-x-ls"), ("DE_X_LS", "de-x-ls"),
    ("uk-UA", "uk"), ("pl", "pl"), ("ru", "ru"), ("fr", None), ("", None), ("english", None),
])
def test_codes_are_read_as_given(value: str, expected: str | None) -> None:
    assert pick_language(value) == expected


def test_accept_language_picks_the_best_supported() -> None:
    assert from_accept_language("tr-TR,tr;q=0.9,en;q=0.5") == "tr"
    assert from_accept_language("fr-FR,ar;q=0.8,en;q=0.7") == "ar"
    assert from_accept_language("fr, it") == "de"
    assert from_accept_language("uk;q=0.4, ru;q=0.6") == "ru"


async def test_each_language_is_chosen_and_remembered(client: httpx.AsyncClient,
                                                      seeded: Seed) -> None:
    expected_tag = {"de": '<html lang="de">', "en": '<html lang="en">',
                    "ar": '<html lang="ar" dir="rtl">', "de-x-ls": '<html lang="de">'}
    for lang in LANGUAGES:
        r = await client.get(f"/?lang={lang}")
        assert r.status_code == 200
        assert f"lang={lang};" in r.headers["set-cookie"]
        assert html_tag(r.text) == expected_tag.get(lang, f'<html lang="{lang}">')
        # Remembered: the next page without ?lang speaks it too.
        r = await client.get("/privacy")
        assert html_tag(r.text) == expected_tag.get(lang, f'<html lang="{lang}">')
    r = await client.get("/?lang=tr")
    assert "Erişilebilirlik beyanı" in r.text  # the footer link, from common.po
    r = await client.get("/?lang=ar")
    assert "بيان إمكانية الوصول" in r.text
    r = await client.get("/?lang=de-x-ls")
    assert "Erklärung zur Barriere-Freiheit" in r.text
    # A text Leichte Sprache has no own catalogue entry for is German, not English.
    assert "Termin buchen" in r.text and "10,00\xa0€" in r.text


async def test_the_menu_names_each_language_in_itself(client: httpx.AsyncClient,
                                                      seeded: Seed) -> None:
    r = await client.get("/book?lang=ar")
    links = menu(r.text)
    assert [name for *_, name in links] == list(LANGUAGE_NAMES.values())
    for href, lang, hreflang, _name in links:
        assert href.startswith("/book?") and f"lang={hreflang}" in href
        assert lang == ("de" if hreflang == "de-x-ls" else hreflang)
    assert 'aria-current="true">العربية</a>' in r.text
    assert "<summary>" in r.text


async def test_staff_pages_speak_german_or_english_only(client: httpx.AsyncClient,
                                                        seeded: Seed) -> None:
    r = await client.get("/staff/login?lang=tr")
    assert r.status_code == 200
    assert html_tag(r.text) == '<html lang="de">'
    assert [name for *_, name in menu(r.text)] == ["Deutsch", "English"]
    # The citizen's choice stays remembered for the citizen pages.
    r = await client.get("/")
    assert html_tag(r.text) == '<html lang="tr">'
    r = await client.get("/staff/login?lang=en")
    assert html_tag(r.text) == '<html lang="en">'


async def test_the_api_follows_accept_language(client: httpx.AsyncClient, seeded: Seed) -> None:
    messages = {}
    for header in ("de-DE", "en", "tr-TR,tr;q=0.9"):
        r = await client.post("/api/v1/appointments", json={},
                              headers={"accept-language": header})
        assert r.status_code == 422, r.text
        messages[header[:2]] = r.json()["error"]["message"]
    assert messages["de"] != messages["en"]
    # Turkish has no catalogue of the booking area here (yet): its text is the English one.
    catalogue = Path(__file__).resolve().parents[3] / "core/locales/tr/LC_MESSAGES/booking.po"
    if not catalogue.exists():
        assert messages["tr"] == messages["en"]
    else:
        assert messages["tr"] not in (messages["de"], messages["en"])


@pytest.mark.parametrize("lang", ["tr", "ar", "de-x-ls"])
async def test_a_booking_keeps_the_citizens_language(
        app: Starlette, client: httpx.AsyncClient, seeded: Seed, lang: str) -> None:
    await client.get(f"/?lang={lang}")
    reference = await book_via_pages(client, seeded)
    assert (await load(app, reference)).locale == lang


async def test_the_api_takes_the_new_codes_and_refuses_others(
        app: Starlette, client: httpx.AsyncClient, seeded: Seed) -> None:
    _day, slot, _ = await walk_to_details(client, seeded)
    body = {"service_id": seeded.service_id, "office_id": seeded.office_id, "start": slot,
            "citizen": {"given_name": "Ayşe", "family_name": "Yılmaz",
                        "email": "ayse@example.org"}, "consent": True}
    r = await client.post("/api/v1/appointments", json={**body, "locale": "xx"})
    assert r.status_code == 422, r.text
    r = await client.post("/api/v1/appointments", json={**body, "locale": "de-x-ls"})
    assert r.status_code == 201, r.text
    async with app_ctx(app).db.transaction() as session:
        stored = (await session.execute(select(Appointment.locale).where(
            Appointment.reference == r.json()["reference"]))).scalar_one()
    assert stored == "de-x-ls"


@pytest.mark.parametrize(("lang", "tag", "date_text"), [
    ("ar", '<html lang="ar" dir="rtl">', "2026"),
    ("de-x-ls", '<html lang="de">', "Montag, 23. November 2026"),
    ("tr", '<html lang="tr">', "23 Kasım 2026 Pazartesi"),
])
async def test_an_appointment_mail_speaks_the_stored_language(
        tmp_path: Path, lang: str, tag: str, date_text: str) -> None:
    from email import message_from_bytes
    from email.message import EmailMessage
    from email.policy import default

    from app.mail_env import mail_env
    from app.main import build_context
    from app.settings import Settings
    from mail.appointments import build_mail, message_id_for_job
    from tests.mail import factories

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, env="test", secret_key="k" * 32, base_url="https://buero.example",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/unused.db", var_dir=tmp_path / "var")
    ctx = build_context(settings)
    try:
        office, service = factories.office(id=3), factories.service(id=4)
        appointment, _ = factories.appointment(office, service, ctx.links, id=77, locale=lang)
        message = build_mail(mail_env(ctx), "confirmed", appointment, office, service,
                             link_url="https://buero.example/t/" + "A" * 43,
                             message_id=message_id_for_job(5, appointment, settings.base_url))
    finally:
        await ctx.db.dispose()
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Content-Language"] == lang
    html = parsed.get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()
    assert tag in content and date_text in content
    if lang == "ar":
        assert 'dir="rtl"' in content.split("<body", 1)[1]
