"""The accessibility statement ``/barrierefreiheit``: an admin writes it, every page's footer
links it, citizens report barriers (CSRF, checks, the answer date, the rate limit), staff read
the reports."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from accessibility.models import BarrierReport
from accessibility.service import ReportInput, check_report
from app.main import create_app
from app.settings import Settings
from core.errors import Invalid
from tests.conftest import running
from tests.staff.helpers import (
    ADMIN_EMAIL,
    CLERK_EMAIL,
    add_user,
    audit_events,
    context,
    form_token,
    page_login,
)

STATEMENT = {
    "conformance": "partial",
    "known_barriers": "Die Videos im Gespräch haben keine Untertitel.",
    "alternatives": "Termine vor Ort: Rathausplatz 1.",
    "prepared_on": "2026-11-30",
    "feedback_contact": "barrierefrei@musterstadt.example\nTelefon 0711 123456",
    "arbitration_body": "Schlichtungsstelle nach dem Behindertengleichstellungsgesetz\n"
                        "Mauerstraße 53, 10117 Berlin",
}


async def write_statement(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, ADMIN_EMAIL, "admin")
    assert (await page_login(client, ADMIN_EMAIL)).status_code == 303
    page = await client.get("/admin/accessibility")
    assert page.status_code == 200
    r = await client.post("/admin/accessibility",
                          data={**STATEMENT, "csrf_token": form_token(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/admin/accessibility?saved=1"
    client.cookies.clear()


async def report(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = await client.get("/barrierefreiheit")
    return await client.post("/barrierefreiheit",
                             data={**fields, "csrf_token": form_token(page.text)})


async def test_every_page_links_the_statement(client: httpx.AsyncClient) -> None:
    for url in ("/", "/privacy", "/imprint", "/status", "/staff/login", "/barrierefreiheit"):
        r = await client.get(url)
        assert r.status_code == 200, url
        assert '<a href="/barrierefreiheit" id="footer-accessibility">' in r.text, url


async def test_before_an_admin_writes_it_the_page_says_so(client: httpx.AsyncClient) -> None:
    r = await client.get("/barrierefreiheit")
    assert r.status_code == 200
    assert 'id="no-statement"' in r.text and 'id="barrier-form"' in r.text


async def test_an_admin_writes_the_statement_and_citizens_read_it(
        app: Starlette, client: httpx.AsyncClient) -> None:
    await write_statement(app, client)
    r = await client.get("/barrierefreiheit")
    assert "Erklärung zur Barrierefreiheit" in r.text
    assert "teilweise vereinbar" in r.text and 'data-conformance="partial"' in r.text
    assert "Die Videos im Gespräch haben keine Untertitel." in r.text
    assert "30. November 2026" in r.text
    assert "barrierefrei@musterstadt.example" in r.text and "Mauerstraße 53" in r.text
    r = await client.get("/barrierefreiheit?lang=en")
    assert "partially compatible" in r.text and "November 30, 2026" in r.text
    assert "arbitration body (Schlichtungsstelle)" in r.text
    r = await client.get("/barrierefreiheit?lang=ar")
    assert "متوافق جزئيًا" in r.text and 'dir="rtl"' in r.text
    events = await audit_events(app, "accessibility_statement.saved")
    assert len(events) == 1


async def test_the_statement_form_refuses_bad_input(app: Starlette,
                                                    client: httpx.AsyncClient) -> None:
    await add_user(app, ADMIN_EMAIL, "admin")
    assert (await page_login(client, ADMIN_EMAIL)).status_code == 303
    page = await client.get("/admin/accessibility")
    r = await client.post("/admin/accessibility", data={
        **STATEMENT, "conformance": "mostly", "prepared_on": "30.11.2026",
        "arbitration_body": " ", "csrf_token": form_token(page.text)})
    assert r.status_code == 422
    for field in ("conformance", "prepared_on", "arbitration_body"):
        assert f'id="{field}-error"' in r.text, field
    # Only admins edit it; a clerk is refused, a visitor sent to the login.
    client.cookies.clear()
    r = await client.get("/admin/accessibility")
    assert r.status_code == 303 and "/staff/login" in r.headers["location"]
    await add_user(app, CLERK_EMAIL, "clerk")
    assert (await page_login(client, CLERK_EMAIL)).status_code == 303
    assert (await client.get("/admin/accessibility")).status_code == 403


async def test_a_citizen_reports_a_barrier_and_staff_see_it(
        app: Starlette, client: httpx.AsyncClient) -> None:
    await client.get("/barrierefreiheit?lang=tr")
    r = await report(client, description="Der Knopf „Termin buchen“ ist mit der Tastatur "
                     "nicht erreichbar.", page="/book", name="", email="ayse@example.org")
    assert r.status_code == 200
    assert 'id="report-sent"' in r.text and "Teşekkürler" in r.text
    async with context(app).db.transaction() as session:
        stored = (await session.execute(select(BarrierReport))).scalars().one()
    assert stored.page == "/book" and stored.email == "ayse@example.org"
    assert stored.locale == "tr"
    assert stored.answer_by == stored.created_at.date() + dt.timedelta(days=14)
    # The citizen is told the date.
    assert str(stored.answer_by.year) in r.text

    # Without an address: thanks, and no date promised.
    r = await report(client, description="Kontrast zu schwach", page="", name="", email="")
    assert 'id="report-sent"' in r.text and str(stored.answer_by.year) not in r.text.split(
        'id="report-sent"')[1].split("</div>")[0]

    await add_user(app, CLERK_EMAIL, "clerk")
    client.cookies.clear()
    assert (await page_login(client, CLERK_EMAIL)).status_code == 303
    r = await client.get("/staff/barriers")
    assert r.status_code == 200
    assert "Tastatur" in r.text and "Kontrast zu schwach" in r.text
    assert "ayse@example.org" in r.text and 'id="barriers-link"' in r.text


async def test_a_report_needs_a_description_and_a_valid_address(
        app: Starlette, client: httpx.AsyncClient) -> None:
    r = await report(client, description="  ", page="", name="Erika", email="not-an-address")
    assert r.status_code == 422
    assert 'id="description-error"' in r.text and 'id="email-error"' in r.text
    assert "Bitte beschreiben Sie die Barriere." in r.text
    assert 'value="Erika"' in r.text  # what was typed stays
    r = await client.post("/barrierefreiheit", data={"description": "Kontrast"})
    assert r.status_code == 403  # no CSRF token
    async with context(app).db.transaction() as session:
        assert (await session.execute(select(BarrierReport))).scalars().all() == []


@pytest.mark.parametrize(("given", "field"), [
    (ReportInput(description="x" * 4001), "description"),
    (ReportInput(description="ok", page="p" * 501), "page"),
    (ReportInput(description="ok", name="n" * 201), "name"),
    (ReportInput(description="ok", email="a@b@c"), "email"),
    (ReportInput(description="Mein Ausweis L01X00T47 geht nicht"), "description"),
])
def test_report_checks(given: ReportInput, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_report(given)
    assert [p[0] for p in caught.value.problems] == [field]


async def test_reports_are_rate_limited_and_the_answer_time_is_a_setting(
        settings_factory: Callable[..., Settings]) -> None:
    application = create_app(settings_factory(rate_limits_enabled=True,
                                              rate_limit_barrier_report="2/minute",
                                              barrier_answer_days=3))
    async with running(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            statuses = [(await report(client, description=f"Barriere {n}",
                                      email="e@example.org")).status_code for n in range(3)]
            assert statuses == [200, 200, 429]
        async with context(application).db.transaction() as session:
            stored = (await session.execute(select(BarrierReport))).scalars().all()
    assert len(stored) == 2
    assert all(r.answer_by == r.created_at.date() + dt.timedelta(days=3) for r in stored)


def test_the_footer_link_has_an_id_on_every_page_frame() -> None:
    from pathlib import Path

    base = (Path(__file__).resolve().parents[2] / "app/templates/base.html").read_text()
    assert re.search(r'<a href="\{\{ root \}\}/barrierefreiheit" id="footer-accessibility">', base)


async def test_reports_are_exported_erased_and_kept_no_longer_than_the_retention(
        app: Starlette, client: httpx.AsyncClient) -> None:
    from accessibility.service import apply_retention
    from core.audit import Actor
    from privacy import actions as privacy

    await report(client, description="Kontrast zu schwach", email="Erika@Example.org")
    await report(client, description="Ohne Adresse")
    async with context(app).db.transaction(write=True) as session:
        exported = await privacy.export_subject(session, Actor.system(), "erika@example.org")
        assert [r["description"] for r in exported["barrier_reports"]] == ["Kontrast zu schwach"]
        erased = await privacy.erase_subject(session, Actor.system(), "erika@example.org")
        assert any(label.startswith("barrier-report-") for label in erased["erased"])
    async with context(app).db.transaction(write=True) as session:
        left = (await session.execute(select(BarrierReport))).scalars().all()
        assert [r.description for r in left] == ["Ohne Adresse"]
        now = left[0].created_at
        assert await apply_retention(session, 90, now=now + dt.timedelta(days=89)) == 0
        assert await apply_retention(session, 90, now=now + dt.timedelta(days=91)) == 1
