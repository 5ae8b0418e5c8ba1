"""Shared helpers for the after-the-call tests (notices, dispatch, feedback, dunning): offices
with letterhead and bank details, completing a case through the API, running the worker, and
reading PDFs and QR codes back with poppler-utils and zbar."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col
from starlette.applications import Starlette

from app.context import AppContext
from app.worker import Worker
from booking.models import Appointment, Office
from cases.milestones import Milestone
from cases.models import Case
from core.jobs import Job, JobStatus
from tests.cases.conftest import Desk
from tests.postcall.fee_support import decode_qr, page_count, text, write

AUTHORITY = "Stadt Musterhausen"
OFFICE_ADDRESS = "Stadt Musterhausen\nMarktplatz 1\n73760 Musterhausen"
IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"
BANK = "Kreissparkasse Musterhausen"


def state_of(app: Starlette) -> AppContext:
    state = app.state.ctx
    assert isinstance(state, AppContext)
    return state


async def configure_offices(desk: Desk) -> None:
    """Letterhead and bank details on both offices, as an admin would enter them."""
    async with desk.state.db.transaction(write=True) as session:
        await session.execute(update(Office).values(
            authority=AUTHORITY, address=OFFICE_ADDRESS, iban=IBAN, bic=BIC, bank_name=BANK,
            email="buergerbuero@musterhausen.example", phone="07000 123-0",
        ))


async def drain(app: Starlette, *, rounds: int = 20) -> int:
    """Run the worker until no job is due; returns how many ran."""
    worker = Worker(state_of(app), name="test-worker", periodic=[])
    total = 0
    for _ in range(rounds):
        ran = await worker.run_once()
        total += ran
        if ran == 0:
            return total
    raise AssertionError("the worker kept finding jobs")


async def failed_jobs(app: Starlette) -> list[Job]:
    async with state_of(app).db.transaction() as session:
        rows = await session.execute(select(Job).where(
            col(Job.status).in_([JobStatus.failed, JobStatus.pending]),
            col(Job.last_error).is_not(None)))
        return list(rows.scalars())


CITIZEN_FIELDS = {"given_name", "family_name", "email", "phone", "date_of_birth", "locale"}


async def set_appointment(app: Starlette, reference: str, **values: Any) -> None:
    """Change an appointment as if it had been booked so; the citizen's data goes to its
    request's copy too (booking writes both)."""
    async with state_of(app).db.transaction(write=True) as session:
        await session.execute(update(Appointment)
                              .where(col(Appointment.reference) == reference).values(**values))
        citizen = {k: v for k, v in values.items() if k in CITIZEN_FIELDS}
        if citizen:
            await session.execute(update(Case).where(col(Case.reference) == reference)
                                  .values(**citizen))


# Where the letters of a request completed "by post" go (the lines after the name).
POSTAL_ADDRESS = ("Großer Anger 7", "73760 Musterhausen")

async def complete(desk: Desk, *, payment: str = "invoice", delivery: str = "email",
                   items: list[dict[str, int]] | None = None, locale: str = "de",
                   external_authority: str = "", office: str = "a",
                   date_of_birth: dt.date | None = None,
                   address: tuple[str, ...] = POSTAL_ADDRESS) -> tuple[str, str, dict[str, Any]]:
    """A verified appointment completed through the API: (reference, link token, case)."""
    reference, token = await desk.appointment(status="in_call", office=office)
    await set_appointment(desk.app, reference, locale=locale, date_of_birth=date_of_birth)
    headers = desk.clerk_a if office == "a" else desk.clerk_b
    verified = await desk.verify(reference, headers=headers)
    assert verified.status_code == 200, verified.text
    body: dict[str, Any] = {
        "items": items or [{"service_id": desk.certificate, "quantity": 1}],
        "payment": payment, "delivery": delivery,
    }
    if external_authority:
        body["external_authority"] = external_authority
    if delivery == "post":  # confirmed in the call: a letter by post needs it
        body["postal_address"] = list(address)
    r = await desk.complete(reference, body, headers=headers)
    assert r.status_code == 200, r.text
    return reference, token, r.json()["case"]


async def case_row(app: Starlette, case_number: str) -> Case:
    async with state_of(app).db.transaction() as session:
        found = (await session.execute(
            select(Case).where(col(Case.case_number) == case_number))).scalars().one()
        return found


async def milestone_kinds(app: Starlette, case_number: str) -> list[str]:
    case = await case_row(app, case_number)
    async with state_of(app).db.transaction() as session:
        rows = await session.execute(select(Milestone).where(col(Milestone.case_id) == case.id)
                                     .order_by(col(Milestone.at), col(Milestone.id)))
        return [m.kind for m in rows.scalars()]


def attachments(message: EmailMessage, content_type: str) -> list[tuple[str, bytes]]:
    found = []
    for part in message.iter_attachments():
        if part.get_content_type() == content_type:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found.append((part.get_filename() or "", payload))
    return found


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def pdf_text(pdf: bytes, tmp_path: Path, name: str = "doc.pdf") -> str:
    return " ".join(text(write(tmp_path, pdf, name)).split())


def pdf_pages(pdf: bytes, tmp_path: Path, name: str = "doc.pdf") -> int:
    return page_count(write(tmp_path, pdf, name))


def pdf_qr(pdf: bytes, tmp_path: Path, name: str = "qr.pdf") -> list[str]:
    return decode_qr(write(tmp_path, pdf, name), tmp_path)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
