"""``/admin/jobs``: work the worker gave up is visible to admins, in German, with what it
concerned and why, and can be tried again (audited); clerks and strangers cannot."""

from __future__ import annotations

import datetime as dt
import json

import httpx
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from booking.models import Appointment
from core.audit import AuditEvent
from core.jobs import Job, JobStatus
from core.types import utcnow
from tests.staff.helpers import (
    ADMIN_EMAIL,
    CLERK_EMAIL,
    add_appointment,
    add_office,
    add_service,
    add_user,
    context,
    form_token,
    page_login,
)

ERROR = "550 5.1.1 <erika@example.org>: Recipient address rejected"


async def add_failed_job(app: Starlette) -> tuple[int, str]:
    """A confirmation mail the SMTP server refused for good; (job id, appointment reference)."""
    office = await add_office(app)
    service = await add_service(app, [office])
    appointment_id, _ = await add_appointment(app, office_id=office, service_id=service,
                                              start=utcnow() + dt.timedelta(days=3))
    async with context(app).db.transaction(write=True) as session:
        appointment = await session.get(Appointment, appointment_id)
        assert appointment is not None
        job = Job(kind="mail.appointment", status=JobStatus.failed, attempts=5,
                  payload=json.dumps({"appointment_id": appointment_id,
                                      "template": "confirmed", "sequence": 0}),
                  last_error=ERROR, finished_at=utcnow())
        session.add(job)
        await session.flush()
        assert job.id is not None
        return job.id, appointment.reference


async def test_admins_see_and_retry_failed_work(app: Starlette,
                                                client: httpx.AsyncClient) -> None:
    job_id, reference = await add_failed_job(app)
    await add_user(app, ADMIN_EMAIL, "admin")
    await add_user(app, CLERK_EMAIL)
    assert (await client.get("/admin/jobs")).status_code in (302, 303)  # to the login

    await page_login(client, CLERK_EMAIL)
    assert (await client.get("/admin/jobs")).status_code == 403
    await client.post("/staff/logout", data={"csrf_token": form_token(
        (await client.get("/staff")).text)})

    await page_login(client, ADMIN_EMAIL)
    index = await client.get("/admin")
    assert 'href="/admin/jobs"' in index.text
    page = await client.get("/admin/jobs")
    assert page.status_code == 200 and "Fehlgeschlagene Hintergrundaufgaben" in page.text
    row = page.text.split(f'id="job-{job_id}"', 1)[1].split("</tr>", 1)[0]
    assert "E-Mail zu einem Termin" in row and reference in row and "Recipient address" in row
    assert ">5<" in row

    r = await client.post(f"/admin/jobs/{job_id}/retry",
                          data={"csrf_token": form_token(page.text)})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/jobs?retried={job_id}"
    async with context(app).db.transaction() as session:
        job = await session.get(Job, job_id)
        assert job is not None and job.status == "pending" and job.attempts == 0
        assert job.run_after <= utcnow() and job.finished_at is None
        events = (await session.execute(select(AuditEvent).where(
            col(AuditEvent.action) == "job.retry"))).scalars().all()
        assert [(e.actor_label, e.object_id) for e in events] == [(ADMIN_EMAIL, str(job_id))]
    after = await client.get(f"/admin/jobs?retried={job_id}")
    assert 'id="jobs-retried"' in after.text and 'id="jobs-empty"' in after.text

    # Not failed (any more), unknown, beyond any id, or without the form's token.
    token = form_token(after.text)
    assert (await client.post(f"/admin/jobs/{job_id}/retry",
                              data={"csrf_token": token})).status_code == 409
    assert (await client.post("/admin/jobs/999999/retry",
                              data={"csrf_token": token})).status_code == 404
    assert (await client.post("/admin/jobs/99999999999999999999/retry",
                              data={"csrf_token": token})).status_code == 404
    assert (await client.post(f"/admin/jobs/{job_id}/retry", data={})).status_code == 403
