"""Migration 0002 (requests at the centre) on a database with data, on both backends.

A database at 0001 is filled with plain SQL in the 0001 shape (the models already have the new
one): a completed appointment with its case, items, documents, dispatch, milestones, payment,
identity check and postal address; a confirmed appointment with an identity check but no case;
a cancelled one; staff with a session. After the upgrade every appointment has its request, the
case kept its id, number and everything hanging off it, and the app still shows the citizen the
same facts. The downgrade gives the case back to its appointment and deletes what 0001 cannot
hold (an online request without appointment, the identity check of a further person).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from app.cli import alembic_config, current_revision, migrate
from app.main import create_app
from app.settings import Settings
from booking.links import LinkKeys
from tests.conftest import running
from tests.test_migrations import empty_db_url  # noqa: F401 (fixture)

# The latest revision: 0002 runs on the way there, and what it migrated must survive the rest.
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

SECRET = "test-secret-key-0123456789"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
YESTERDAY = NOW - dt.timedelta(days=1)
BORN = dt.date(1980, 12, 31)
CASE_NUMBER = f"{NOW.year}-000042"
FEE_NOTICE = b"%PDF-1.4\n% fee notice of " + CASE_NUMBER.encode() + b"\n%%EOF\n"
POSTAL_COPY = b"%PDF-1.4\n% postal copy\n%%EOF\n"
ADDRESS = "Musterweg 5\n73760 Musterhausen"
CHECKS = "photo_matches,name_matches,birth_date_matches,document_valid,hologram,colour_shift," \
    "tactile_relief,security_questions"


def settings_for(url: str, tmp_path: Path) -> Settings:
    """As ``settings_factory`` (tests/conftest.py), for a database of our own."""
    return Settings(
        _env_file=None, env="test", database_url=url, secret_key=SECRET,
        base_url="http://testserver", var_dir=tmp_path / "var", rate_limits_enabled=False,
    )


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[AsyncConnection]:
    """One transaction on a connection of its own (committed at the end)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            yield conn
    finally:
        await engine.dispose()


def _typed(value: Any) -> sa.types.TypeEngine[Any] | None:
    if isinstance(value, dt.datetime):
        return sa.DateTime(timezone=True)
    if isinstance(value, dt.date):
        return sa.Date()
    if isinstance(value, bytes):
        return sa.LargeBinary()
    if isinstance(value, bool):
        return sa.Boolean()
    return None


def _insert(table: str, values: dict[str, Any], returning: str) -> sa.TextClause:
    """``INSERT INTO table (...) VALUES (...)``, plain SQL with typed binds."""
    names = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    return sa.text(f"INSERT INTO {table} ({names}) VALUES ({params}){returning}").bindparams(
        *(sa.bindparam(name, value, type_=_typed(value)) for name, value in values.items())
    )


async def insert(conn: AsyncConnection, table: str, **values: Any) -> int:
    """Insert a row; its id."""
    return int((await conn.execute(_insert(table, values, " RETURNING id"))).scalar_one())


async def insert_row(conn: AsyncConnection, table: str, **values: Any) -> None:
    """Insert a row of a table without an id column."""
    await conn.execute(_insert(table, values, ""))


async def rows(conn: AsyncConnection, sql: str, **params: Any) -> list[sa.Row[Any]]:
    return list((await conn.execute(sa.text(sql), params)).all())


async def one(conn: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await conn.execute(sa.text(sql), params)).scalar_one()


@dataclass
class Booked:
    """What the test wrote at 0001 and looks for afterwards."""

    office: int = 0
    certificate: int = 0
    conduct: int = 0
    clerk: int = 0
    appointments: dict[str, int] = field(default_factory=dict)  # reference -> id
    citizens: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # reference -> data
    nonce: str = ""  # the link of the completed appointment: its nonce and token
    token: str = ""
    case: int = 0
    checks: dict[str, int] = field(default_factory=dict)  # reference -> identity check id
    address: int = 0


async def appointment(conn: AsyncConnection, b: Booked, links: LinkKeys, reference: str,
                      status: str, start: dt.datetime, citizen: tuple[Any, ...],
                      service: int) -> None:
    """An appointment row with a link made with ``links``."""
    given, family, email, phone, born, locale = citizen
    nonce = links.new_nonce()
    token = links.token_for(nonce)
    b.appointments[reference] = await insert(
        conn, "appointment", reference=reference, office_id=b.office, service_id=service,
        schedule_id=None, start_at=start, end_at=start + dt.timedelta(minutes=20),
        status=status, given_name=given, family_name=family, email=email,
        email_norm=email.lower(), phone=phone, date_of_birth=born, locale=locale,
        link_nonce=nonce, token_hash=links.hash_token(token),
        link_expires_at=NOW + dt.timedelta(days=60), hold_expires_at=None,
        ics_uid=f"{reference}@buergerbuero", ics_sequence=1 if status == "cancelled" else 0,
        created_at=start - dt.timedelta(days=5), updated_at=start - dt.timedelta(hours=1),
        confirmed_at=start - dt.timedelta(days=5),
        cancelled_at=NOW if status == "cancelled" else None,
    )
    b.citizens[reference] = citizen
    if status == "completed":
        b.nonce, b.token = nonce, token


async def identity_check(conn: AsyncConnection, b: Booked, reference: str, outcome: str,
                         at: dt.datetime) -> None:
    b.checks[reference] = await insert(
        conn, "identity_check", appointment_id=b.appointments[reference], checked_at=at,
        checked_by_id=b.clerk, checked_by_label="Clara Clerk", document_type="id_card",
        checks=CHECKS if outcome == "verified" else "photo_matches", outcome=outcome,
        reason_code="" if outcome == "verified" else "poor_image_quality", reason="",
        valid_until=dt.date(2031, 5, 1), note="",
    )


async def fill_0001(conn: AsyncConnection, links: LinkKeys) -> Booked:
    b = Booked()
    stamps = {"created_at": NOW - dt.timedelta(days=30), "updated_at": NOW - dt.timedelta(days=30)}
    office = {"timezone": "Europe/Berlin", "min_notice_minutes": 60, "horizon_days": 60,
              "authority": "Stadt Musterhausen", "phone": "07000 123-0", "bic": "COBADEFFXXX",
              "bank_name": "Kreissparkasse Musterhausen", "privacy_contact": "",
              "data_protection_officer": "", "imprint": "", **stamps}
    b.office = await insert(conn, "office", name="Bürgerbüro Mitte",
                            address="Stadt Musterhausen\nMarktplatz 1\n73760 Musterhausen",
                            email="mitte@musterhausen.example", iban="DE89370400440532013000",
                            **office)
    other = await insert(conn, "office", name="Bürgerbüro Nord", address="Nordring 2",
                         email="nord@musterhausen.example", iban="", **office)
    service = {"description": "", "description_en": "", "duration_minutes": 20,
               "currency": "EUR", "video": True, "requires_identity": True, "active": True,
               **stamps}
    b.certificate = await insert(conn, "service", name="Meldebescheinigung",
                                 name_en="Certificate of registration", fee_cents=1000,
                                 fee_schedule_ref="GebVerz 1.1", sort_order=1, **service)
    b.conduct = await insert(conn, "service", name="Führungszeugnis",
                             name_en="Certificate of good conduct", fee_cents=1300,
                             fee_schedule_ref="GebVerz 2.3", sort_order=2, **service)
    for service_id in (b.certificate, b.conduct):
        for office_id in (b.office, other):
            await insert_row(conn, "service_office", service_id=service_id,
                             office_id=office_id)
    b.clerk = await insert(conn, "staff_user", email="clerk@stadt.example",
                           display_name="Clara Clerk", password_hash="$argon2id$v=19$unused",
                           role="clerk", active=True, failed_logins=0, locked_until=None,
                           last_login_at=NOW, **stamps)
    await insert_row(conn, "staff_office", user_id=b.clerk, office_id=b.office)
    await insert(conn, "staff_session", token_hash="5e" * 32, user_id=b.clerk, kind="web",
                 csrf_token="c5" * 32, expires_at=NOW + dt.timedelta(hours=8), created_at=NOW)

    await appointment(
        conn, b, links, "BB-KMPL-7Q4X", "completed", YESTERDAY, service=b.certificate,
        citizen=("Erika", "Mustermann", "Erika@Example.org", "0170 1234567", BORN, "de"))
    await appointment(
        conn, b, links, "BB-WART-3N8C", "confirmed", NOW + dt.timedelta(days=1),
        service=b.conduct,
        citizen=("Max", "Muster", "max@example.org", "", dt.date(1975, 5, 5), "en"))
    await appointment(
        conn, b, links, "BB-STRN-9H2D", "cancelled", NOW + dt.timedelta(days=3),
        service=b.certificate, citizen=("Lena", "Leer", "lena@example.org", "", None, "de"))
    await identity_check(conn, b, "BB-KMPL-7Q4X", "verified", YESTERDAY + dt.timedelta(minutes=5))
    await identity_check(conn, b, "BB-WART-3N8C", "failed", NOW - dt.timedelta(hours=2))
    completed = b.appointments["BB-KMPL-7Q4X"]
    b.address = await insert(conn, "postal_address", appointment_id=completed, lines=ADDRESS,
                             updated_at=YESTERDAY)

    done = YESTERDAY + dt.timedelta(minutes=20)
    await insert_row(conn, "case_number_counter", year=NOW.year, last_value=42)
    b.case = await insert(
        conn, "case_file", appointment_id=completed, office_id=b.office,
        case_number=CASE_NUMBER, state="completed", revision=1, amount_cents=2300,
        currency="EUR", payment="invoice", payment_status="paid", delivery="post",
        dispatch_status="posted", external_authority="", note="Zwei Bescheinigungen",
        due_date=(done + dt.timedelta(days=14)).date(),
        identity_check_id=b.checks["BB-KMPL-7Q4X"], completed_at=done, completed_by_id=b.clerk,
        completed_by_label="Clara Clerk", reopened_at=None, created_at=done, updated_at=NOW,
    )
    for position, (service_id, name, name_en, fee) in enumerate((
        (b.certificate, "Meldebescheinigung", "Certificate of registration", 1000),
        (b.conduct, "Führungszeugnis", "Certificate of good conduct", 1300),
    ), start=1):
        await insert(conn, "case_item", case_id=b.case, position=position, service_id=service_id,
                     name=name, name_en=name_en, fee_schedule_ref="GebVerz", unit_fee_cents=fee,
                     quantity=1, amount_cents=fee, currency="EUR")
    document: dict[str, Any] = {
        "case_id": b.case, "revision": 1, "corrects_date": None, "issue_date": done.date(),
        "due_date": (done + dt.timedelta(days=14)).date(), "total_cents": 2300,
        "open_cents": 2300, "refund_cents": 0, "address_key": "a1" * 8, "created_at": done,
        "mailed_at": None, "mail_job_id": None,
    }
    await insert(conn, "case_document", kind="fee_notice", origin="rev1", pdf=FEE_NOTICE,
                 sha256=hashlib.sha256(FEE_NOTICE).hexdigest(), **document)
    copy = await insert(conn, "case_document", kind="postal_copy", origin="post-rev1",
                        pdf=POSTAL_COPY, sha256=hashlib.sha256(POSTAL_COPY).hexdigest(),
                        **document)
    await insert(conn, "dispatch", case_id=b.case, office_id=b.office, status="posted",
                 provider="print_room", provider_ref=None, provider_status="",
                 document_id=copy, batch_date=done.date(), last_error="", created_at=done,
                 updated_at=NOW)
    for kind in ("completed", "notice_sent", "posted", "paid"):
        await insert(conn, "case_milestone", case_id=b.case, kind=kind, at=done, detail="")
    await insert(conn, "payment_attempt", case_id=b.case, public_id="pa_7f3c9e1d2b4a6c8e",
                 provider="stripe", session_id="cs_test_a1b2c3", status="paid",
                 amount_cents=2300, currency="EUR", url=None, payment_intent="pi_test_a1b2c3",
                 created_at=NOW - dt.timedelta(hours=3), expires_at=NOW + dt.timedelta(hours=21),
                 updated_at=NOW - dt.timedelta(hours=2), paid_at=NOW - dt.timedelta(hours=2),
                 checked_at=None)
    return b


# The rows of the completed case's tables, by table.
DEPENDENTS = {"case_item": 2, "case_document": 2, "dispatch": 1, "case_milestone": 4,
              "payment_attempt": 1}


async def dependents(conn: AsyncConnection, case_id: int) -> dict[str, int]:
    sql = "SELECT count(*) FROM {} WHERE case_id = :id"
    return {table: await one(conn, sql.format(table), id=case_id) for table in DEPENDENTS}


async def check_upgraded(conn: AsyncConnection, b: Booked) -> None:
    requests = {
        row.reference: row for row in await rows(conn, """
            SELECT a.reference AS appointment_reference, a.service_id AS appointment_service,
                   c.* FROM appointment a JOIN case_file c ON c.id = a.case_id""")
    }
    assert set(requests) == set(b.appointments), "every appointment has its request"
    for reference, request in requests.items():
        assert request.appointment_reference == reference
        assert request.channel == "video" and request.office_id == b.office
        assert request.service_id == request.appointment_service
        given, family, email, phone, born, locale = b.citizens[reference]
        assert (request.given_name, request.family_name, request.email, request.phone,
                request.locale) == (given, family, email, phone, locale)
        born_sql = sa.text("SELECT date_of_birth FROM case_file WHERE id = :id")
        assert (await conn.execute(born_sql.columns(date_of_birth=sa.Date()),
                                   {"id": request.id})).scalar_one() == born

    case = requests["BB-KMPL-7Q4X"]
    assert case.id == b.case and case.case_number == CASE_NUMBER
    assert (case.state, case.revision, case.amount_cents, case.payment, case.payment_status,
            case.delivery, case.dispatch_status, case.identity_check_id) == (
        "completed", 1, 2300, "invoice", "paid", "post", "posted", b.checks["BB-KMPL-7Q4X"])
    assert case.service_id == b.certificate and case.completed_at is not None
    assert await dependents(conn, b.case) == DEPENDENTS

    for reference in ("BB-WART-3N8C", "BB-STRN-9H2D"):
        request = requests[reference]
        assert (request.state, request.revision, request.case_number, request.completed_at,
                request.payment, request.payment_status, request.delivery,
                request.dispatch_status, request.amount_cents, request.currency) == (
            "open", 0, None, None, "", "", "", "", 0, "EUR")
    assert requests["BB-WART-3N8C"].service_id == b.conduct
    # created/updated when the appointment was
    assert await one(conn, """SELECT count(*) FROM appointment a JOIN case_file c
        ON c.id = a.case_id WHERE c.created_at = a.created_at AND c.updated_at = a.updated_at
        AND c.state = 'open'""") == 2

    checks = {row.id: row for row in await rows(
        conn, "SELECT id, case_id, person, appointment_id FROM identity_check")}
    for reference, check_id in b.checks.items():
        assert (checks[check_id].case_id, checks[check_id].person,
                checks[check_id].appointment_id) == (
            requests[reference].id, 1, b.appointments[reference])
    assert await rows(conn, "SELECT id, case_id, lines FROM postal_address") == [
        (b.address, b.case, ADDRESS)]


def staff_session_columns(sync: sa.Connection) -> set[str]:
    return {column["name"] for column in sa.inspect(sync).get_columns("staff_session")}


async def check_constraints(url: str, b: Booked) -> None:
    decided: dict[str, Any] = {
        "reference": "BB-TEST-0001", "channel": "video", "office_id": b.office,
        "service_id": b.certificate, "given_name": "X", "family_name": "Y", "email": "",
        "phone": "", "locale": "de", "state": "completed", "revision": 1, "amount_cents": 0,
        "currency": "EUR", "payment": "none", "payment_status": "not_required",
        "delivery": "email", "dispatch_status": "not_required", "external_authority": "",
        "note": "", "completed_by_label": "", "created_at": NOW, "updated_at": NOW,
        "municipality_id": 1,  # the default municipality (migration 0019)
    }
    refused: list[dict[str, Any]] = [
        {"case_number": None, "completed_at": NOW},  # decided without a case number
        {"case_number": "X-1", "completed_at": None},  # ... or without completion
        {"case_number": "X-1", "completed_at": NOW, "payment": ""},  # ... or payment
        {"case_number": "X-1", "completed_at": NOW, "channel": "fax"},
        {"case_number": "X-1", "completed_at": NOW, "reference": "BB-KMPL-7Q4X"},  # taken
        {"case_number": CASE_NUMBER, "completed_at": NOW},  # number taken
        {"case_number": None, "completed_at": None, "state": "open", "revision": -1},
    ]
    for change in refused:
        with pytest.raises(IntegrityError):
            async with connected(url) as conn:
                await insert(conn, "case_file", **{**decided, **change})
    async with connected(url) as conn:  # with all of it, and open with none of it: taken
        await insert(conn, "case_file", **decided, case_number="X-1", completed_at=NOW)
        await insert(conn, "case_file", **{
            **decided, "reference": "BB-TEST-0002", "state": "open", "revision": 0,
            "payment": "", "payment_status": "", "delivery": "", "dispatch_status": ""})
        await conn.execute(sa.text("DELETE FROM case_file WHERE reference LIKE 'BB-TEST-%'"))
        assert "csrf_token" not in await conn.run_sync(staff_session_columns)


async def check_the_app(settings: Settings, b: Booked) -> None:
    """The citizen's link page, fee notice, status lookup and payment state, as before."""
    app = create_app(settings)
    auth = {"Authorization": f"Bearer {b.token}"}
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        links: LinkKeys = app.state.ctx.links
        assert links.token_for(b.nonce) == b.token  # the same key as the rows written at 0001

        page = await client.get(f"/t/{b.token}")
        assert page.status_code == 200, f"link page: {page.status_code} {page.text[:2000]}"
        assert f'<dd id="case-number">{CASE_NUMBER}</dd>' in page.text
        assert "BB-KMPL-7Q4X" in page.text and "Führungszeugnis" in page.text
        assert 'id="case-payment" data-status="paid"' in page.text
        assert 'id="case-delivery" data-status="posted"' in page.text

        me = await client.get("/api/v1/me", headers=auth)
        assert me.status_code == 200, f"/api/v1/me: {me.status_code} {me.text[:2000]}"
        out = me.json()
        assert (out["reference"], out["status"]) == ("BB-KMPL-7Q4X", "completed")
        case = out["case"]
        assert (case["case_number"], case["amount_cents"], case["payment"],
                case["payment_status"], case["delivery"], case["dispatch_status"]) == (
            CASE_NUMBER, 2300, "invoice", "paid", "post", "posted")
        assert [item["amount_cents"] for item in case["items"]] == [1000, 1300]

        pdf = await client.get("/api/v1/me/fee-notice.pdf", headers=auth)
        assert pdf.status_code == 200, f"fee notice: {pdf.status_code} {pdf.text[:2000]}"
        assert pdf.content == FEE_NOTICE and pdf.headers["content-type"] == "application/pdf"
        assert (await client.get(f"/t/{b.token}/fee-notice.pdf")).content == FEE_NOTICE

        lookup = await client.post("/api/v1/status", json={
            "case_number": CASE_NUMBER, "date_of_birth": BORN.isoformat()})
        assert lookup.status_code == 200, f"status: {lookup.status_code} {lookup.text[:2000]}"
        answer = lookup.json()
        assert (answer["case_number"], answer["payment_status"], answer["dispatch_status"],
                answer["delivery"]) == (CASE_NUMBER, "paid", "posted", "post")
        assert len(answer["milestones"]) == 4
        wrong = await client.post("/api/v1/status", json={
            "case_number": CASE_NUMBER, "date_of_birth": "1980-12-30"})
        assert wrong.status_code == 404

        payment = await client.get(f"/t/{b.token}/payment")
        assert payment.status_code == 200, f"payment: {payment.status_code} {payment.text[:2000]}"
        assert 'id="payment-status"' in payment.text and "23,00" in payment.text


async def add_what_0001_cannot_hold(conn: AsyncConnection, b: Booked) -> int:
    """An online request without appointment (decided, with an item, a milestone, a check and
    an address), and two identity checks of the completed case made outside a call, one of a
    further person. Returns the online request's id."""
    online = await insert(
        conn, "case_file", reference="BB-ONLN-5K7M", channel="online", office_id=b.office,
        service_id=b.certificate, given_name="Olga", family_name="Online",
        email="olga@example.org", phone="", date_of_birth=None, locale="de",
        case_number=f"{NOW.year}-000043", state="completed", revision=1, amount_cents=1000,
        currency="EUR", payment="invoice", payment_status="open", delivery="post",
        dispatch_status="queued", external_authority="", note="", completed_at=NOW,
        completed_by_label="Clara Clerk", created_at=NOW, updated_at=NOW,
        municipality_id=1,  # the default municipality (migration 0019)
    )
    await insert(conn, "case_item", case_id=online, position=1, service_id=b.certificate,
                 name="Meldebescheinigung", name_en="", fee_schedule_ref="", unit_fee_cents=1000,
                 quantity=1, amount_cents=1000, currency="EUR")
    await insert(conn, "case_milestone", case_id=online, kind="completed", at=NOW, detail="")
    await insert(conn, "postal_address", case_id=online, lines="Weg 1\n12345 Ort",
                 updated_at=NOW)
    check: dict[str, Any] = {
        "checked_at": NOW, "checked_by_id": b.clerk, "checked_by_label": "Clara Clerk",
        "document_type": "passport", "checks": CHECKS, "outcome": "verified", "reason_code": "",
        "reason": "", "valid_until": None, "note": "", "appointment_id": None}
    await insert(conn, "identity_check", case_id=online, person=1, **check)
    await insert(conn, "identity_check", case_id=b.case, person=2, **check)
    b.checks["later"] = await insert(conn, "identity_check", case_id=b.case, person=1, **check)
    return online


async def check_downgraded(conn: AsyncConnection, b: Booked, online: int) -> None:
    completed = b.appointments["BB-KMPL-7Q4X"]
    assert await rows(conn, """SELECT id, appointment_id, case_number, state, payment_status,
        dispatch_status, identity_check_id FROM case_file""") == [
        (b.case, completed, CASE_NUMBER, "completed", "paid", "posted",
         b.checks["BB-KMPL-7Q4X"])]
    assert await rows(conn, "SELECT id, appointment_id, lines FROM postal_address") == [
        (b.address, completed, ADDRESS)]
    assert sorted(await rows(conn, "SELECT id, appointment_id FROM identity_check")) == sorted([
        (b.checks["BB-KMPL-7Q4X"], completed),
        (b.checks["BB-WART-3N8C"], b.appointments["BB-WART-3N8C"]),
        (b.checks["later"], completed),
    ])
    assert await dependents(conn, b.case) == DEPENDENTS
    assert await dependents(conn, online) == dict.fromkeys(DEPENDENTS, 0)
    assert await one(conn, "SELECT count(*) FROM appointment") == 3
    assert await one(conn, "SELECT csrf_token FROM staff_session") == ""


async def test_requests_migrate_with_their_data_and_back(
    empty_db_url: str, tmp_path: Path  # noqa: F811 (fixture)
) -> None:
    url = empty_db_url
    settings = settings_for(url, tmp_path)
    await asyncio.to_thread(migrate, url, "0001")
    async with connected(url) as conn:
        b = await fill_0001(conn, LinkKeys(settings.resolved_secret_key()))

    await asyncio.to_thread(migrate, url)
    assert await asyncio.to_thread(current_revision, url) == HEAD
    async with connected(url) as conn:
        await check_upgraded(conn, b)
    await check_constraints(url, b)

    await check_the_app(settings, b)

    async with connected(url) as conn:
        online = await add_what_0001_cannot_hold(conn, b)
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0001")
    assert await asyncio.to_thread(current_revision, url) == "0001"
    async with connected(url) as conn:
        await check_downgraded(conn, b, online)

    # And up again: the open requests come back, the case is the same.
    await asyncio.to_thread(migrate, url)
    async with connected(url) as conn:
        assert await rows(conn, """SELECT a.reference, c.state, c.case_number
            FROM appointment a JOIN case_file c ON c.id = a.case_id ORDER BY a.id""") == [
            ("BB-KMPL-7Q4X", "completed", CASE_NUMBER), ("BB-WART-3N8C", "open", None),
            ("BB-STRN-9H2D", "open", None)]


def upgrade_with_foreign_keys_on(path: Path, *, write_first: bool) -> None:
    """Upgrade through the caller's own connection with ``PRAGMA foreign_keys=ON``, as the
    app's connections have it (``config.attributes["connection"]``, see migrations/env.py)."""
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)

    def foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    sa.event.listen(engine, "connect", foreign_keys_on)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            if write_first:  # a transaction is open: the pragma cannot change any more
                conn.execute(sa.text("UPDATE staff_session SET kind = kind"))
            config = alembic_config(str(engine.url))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
    finally:
        engine.dispose()


async def test_sqlite_copies_tables_only_with_foreign_keys_off(tmp_path: Path) -> None:
    """Copying ``case_file`` with foreign keys on would empty its items (ON DELETE CASCADE
    when the old copy is dropped): the migration turns them off, or refuses when it cannot."""
    path = tmp_path / "fk.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(migrate, url, "0001")
    async with connected(url) as conn:
        b = await fill_0001(conn, LinkKeys(SECRET.encode()))

    with pytest.raises(RuntimeError, match="foreign_keys=OFF"):
        await asyncio.to_thread(upgrade_with_foreign_keys_on, path, write_first=True)
    assert await asyncio.to_thread(current_revision, url) == "0001"

    await asyncio.to_thread(upgrade_with_foreign_keys_on, path, write_first=False)
    assert await asyncio.to_thread(current_revision, url) == HEAD
    async with connected(url) as conn:
        await check_upgraded(conn, b)
