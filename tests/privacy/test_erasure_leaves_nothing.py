"""Erasure leaves nothing of the person: every text written by or about them carries a marker,
the admin erases the address through the API, and then no table, no column and no file under
``var/`` holds the marker any more, while the other citizen's data and the kept case's facts
remain."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from email.message import EmailMessage
from pathlib import Path

import httpx
from sqlalchemy import select, text, update
from sqlmodel import col
from starlette.applications import Starlette

from app.all_models import metadata
from app.mail_env import mailer_for
from app.worker import retention_task
from booking.models import Appointment
from booking.party_models import AppointmentPerson
from cases.milestones import Milestone
from cases.models import Case, IdentityCheck
from core.audit import AuditEvent
from core.jobs import Job, JobStatus
from postcall.dispatch_models import CaseDocument, Dispatch, Feedback, PostalAddress
from tests.privacy.conftest import OTHER, World
from tests.staff.helpers import context

MARKER = "zqxmarker"  # lower case: it stands in e-mail addresses too
SUBJECT = f"erika.{MARKER}@example.org"


async def mark_everything(app: Starlette, world: World) -> None:
    """The erasable appointment's person, with the marker in every text about them."""
    async with context(app).db.transaction(write=True) as session:
        appointment = await session.get(Appointment, world.old_done.id)
        assert appointment is not None and appointment.case_id is not None
        case = await session.get(Case, appointment.case_id)
        assert case is not None and case.id is not None
        appointment.given_name, appointment.family_name = f"Erika{MARKER}", f"M{MARKER}"
        appointment.email = appointment.email_norm = SUBJECT
        appointment.phone = f"+49 {MARKER}"
        case.given_name, case.family_name = f"Erika{MARKER}", f"M{MARKER}"
        case.email, case.phone, case.note = SUBJECT, f"+49 {MARKER}", f"Notiz {MARKER}"
        await session.execute(update(IdentityCheck).where(col(IdentityCheck.case_id) == case.id)
                              .values(reason=f"Grund {MARKER}", note=f"Brille {MARKER}"))
        await session.execute(update(Feedback)
                              .where(col(Feedback.appointment_id) == appointment.id)
                              .values(comment=f"Danke {MARKER}"))
        await session.execute(update(PostalAddress).where(col(PostalAddress.case_id) == case.id)
                              .values(lines=f"{MARKER}weg 1\n73760 Ostfildern"))
        await session.execute(update(CaseDocument).where(col(CaseDocument.case_id) == case.id)
                              .values(pdf=f"%PDF-1.7 {MARKER}".encode()))
        session.add(Milestone(case_id=case.id, kind="returned",
                              detail=f"Empfänger {MARKER} verzogen"))
        # A further person of the appointment (a child's passport).
        session.add(AppointmentPerson(appointment_id=appointment.id, person=2,
                                      given_name=f"Max{MARKER}", family_name=f"M{MARKER}"))
        session.add(Dispatch(case_id=case.id, office_id=case.office_id, status="returned",
                             batch_date=dt.date(2026, 6, 1), last_error=f"unbekannt {MARKER}"))
        session.add(AuditEvent(actor_type="staff", actor_label="admin@stadt.example",
                               action="appointment.reopen", object_type="appointment",
                               object_id=str(appointment.id),
                               detail=json.dumps({"reference": appointment.reference,
                                                  "reason": f"Bürgerin {MARKER} bat darum"})))
        session.add(Job(kind="mail.appointment", status=JobStatus.failed,
                        payload=json.dumps({"appointment_id": appointment.id}),
                        last_error=f"550 unknown recipient {SUBJECT}"))


async def send_file_mail(app: Starlette, to: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = "termine@stadt.example"
    message["To"] = to
    message["Subject"] = "Ihr Termin"
    message["Message-ID"] = f"<{abs(hash((to, body)))}@stadt.example>"
    message.set_content(body)
    mailer = mailer_for(context(app))
    assert mailer.uses_files  # no SMTP host here: mails are written under var/mail
    await mailer.send(message)


async def dump(app: Starlette) -> str:
    """Every row of every table, every column, as text."""
    parts = []
    async with context(app).db.transaction() as session:
        for table in metadata.sorted_tables:
            rows = await session.execute(text(f'SELECT * FROM "{table.name}"'))
            for row in rows:
                parts.append(repr(tuple(row)))
    return "\n".join(parts).lower()


def files_with(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


async def test_erasure_leaves_no_marker(app: Starlette, client: httpx.AsyncClient,
                                        world: World, admin_headers: dict[str, str]) -> None:
    await mark_everything(app, world)
    await send_file_mail(app, SUBJECT, f"Guten Tag Erika{MARKER}")
    await send_file_mail(app, OTHER, "Guten Tag Max")
    var = context(app).settings.var_dir
    mail_dir = context(app).settings.mail_dir
    assert stat.S_IMODE(mail_dir.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in mail_dir.glob("*.eml"))
    assert MARKER in await dump(app) and files_with(var, MARKER)

    r = await client.post("/api/v1/admin/privacy/erase", json={"email": SUBJECT},
                          headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["erased"] == [world.old_done.reference]

    assert MARKER not in await dump(app)
    assert files_with(var, MARKER) == []
    # What others wrote or received stays; so do the kept case's facts.
    assert len(files_with(mail_dir, OTHER.split("@")[0])) == 1
    async with context(app).db.transaction() as session:
        other = (await session.execute(select(Appointment).where(
            col(Appointment.email_norm) == OTHER))).scalar_one()
        assert other.given_name == "Max"
        appointment = await session.get(Appointment, world.old_done.id)
        assert appointment is not None and appointment.case_id is not None
        case = await session.get(Case, appointment.case_id)
        assert case is not None and case.case_number and case.amount_cents == 1250
        kinds = (await session.execute(select(col(Milestone.kind)).where(
            col(Milestone.case_id) == case.id))).scalars().all()
        assert "returned" in kinds  # the event stays, its text goes


async def test_retention_also_removes_old_mail_files(app: Starlette) -> None:
    await send_file_mail(app, OTHER, "alt")
    await send_file_mail(app, SUBJECT, "neu")
    mail_dir = context(app).settings.mail_dir
    old, new = sorted(mail_dir.glob("*.eml"), key=lambda p: b"alt" in p.read_bytes())[::-1]
    days = context(app).settings.retention_days
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days + 1)).timestamp()
    os.utime(old, (stamp, stamp))
    await retention_task(context(app))
    assert not old.exists() and new.exists()
