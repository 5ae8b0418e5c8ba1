"""``/admin/jobs``: background work that was given up (a mail the server refused for good, a
letter the provider would not take), what it concerned and why, and a button to try again.
The same count is the metric ``buero_jobs{status="failed"}``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.routing import ID
from app.auth import require_page_user
from app.context import ctx
from app.pages.forms import read_form
from app.pages.staff_http import redirect
from app.templating import render, translator
from booking.models import Appointment
from cases.models import Case
from core import outbox
from core.audit import record
from core.jobs import Job
from core.messages import N_
from core.types import utcnow
from staff.service import staff_actor

KIND_LABELS = {
    "mail.appointment": N_("E-mail about an appointment"),
    "mail.milestone": N_("E-mail about a step of a request"),
    "mail.request": N_("E-mail about a request sent online"),
    "case.notice": N_("Fee notice by e-mail"),
    "case.corrected_notice": N_("Corrected fee notice by e-mail"),
    "case.reminder": N_("Payment reminder by e-mail"),
    "payment.receipt": N_("Receipt by e-mail"),
    "dispatch.submit": N_("Letter to the hybrid-mail service"),
}
ERROR_SHOWN = 300


async def _concerns(session: AsyncSession, jobs: list[Job]) -> dict[int, str]:
    """Job id → the appointment reference or case number it is about."""
    data = {job.id: job.data() for job in jobs if job.id is not None}
    appointment_ids = {d.get("appointment_id") for d in data.values()} - {None}
    case_ids = {d.get("case_id") for d in data.values()} - {None}
    references = {appointment_id: reference for appointment_id, reference in (
        await session.execute(select(col(Appointment.id), col(Appointment.reference))
                              .where(col(Appointment.id).in_(appointment_ids)))).all()}
    cases = (await session.execute(
        select(col(Case.id), col(Case.case_number), col(Case.reference))
        .where(col(Case.id).in_(case_ids)))).all()
    numbers = {case_id: number or reference for case_id, number, reference in cases}
    return {job_id: numbers.get(d.get("case_id")) or references.get(d.get("appointment_id"))
            or "" for job_id, d in data.items()}


async def jobs_page(request: Request) -> Response:
    await require_page_user(request, role="admin")
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        jobs = await outbox.failed_jobs(session)
        concerns = await _concerns(session, jobs)
    rows = [{
        "id": job.id, "kind": t.gettext(KIND_LABELS[job.kind]) if job.kind in KIND_LABELS
        else job.kind,
        "concerns": concerns.get(job.id or 0, ""), "attempts": job.attempts,
        "finished": t.datetime(job.finished_at, "Europe/Berlin", "medium")
        if job.finished_at else "",
        "error": (job.last_error or "")[:ERROR_SHOWN],
    } for job in jobs]
    return render(request, "admin/jobs.html", {
        "section": "admin", "rows": rows, "retried": request.query_params.get("retried"),
    })


async def retry(request: Request) -> Response:
    user = await require_page_user(request, role="admin")
    await read_form(request)  # checks the form's CSRF token
    job_id = request.path_params["id"]
    async with ctx(request).db.transaction(write=True) as session:
        job = await outbox.retry(session, job_id, utcnow())
        record(session, staff_actor(user), "job.retry", "job", job_id, {"kind": job.kind})
    return redirect(f"/admin/jobs?retried={job_id}")


routes: list[BaseRoute] = [
    Route("/admin/jobs", jobs_page, methods=["GET"]),
    Route(f"/admin/jobs/{ID}/retry", retry, methods=["POST"]),
]
