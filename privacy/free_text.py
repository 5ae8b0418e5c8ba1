"""The free text that staff and citizens wrote about one person, cleared on anonymisation.

Beside the name and contact columns, text typed by hand can name or describe a person: the
identity check's reason and note, the case note, the feedback comment, a refund's reason, a
dispatch's error and a milestone's detail (a returned letter's remark), the free-text parts of
audit events about the appointment, the request and its letters, and the mail jobs' error
texts (an SMTP refusal quotes the address). What fee law keeps (case number, items, amounts,
dates, kinds of events) stays; the text goes.
"""

from __future__ import annotations

import json

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cases.milestones import Milestone
from cases.models import Case, IdentityCheck
from core.audit import AuditEvent
from core.jobs import Job
from postcall.dispatch_models import Dispatch, Feedback
from postcall.payments.models import Refund

# Keys of an audit event's detail that hold text someone typed.
TYPED_KEYS = frozenset({"reason", "detail", "note", "comment"})


async def clear_free_text(session: AsyncSession, appointment_id: int | None,
                          case: Case | None) -> None:
    """Clear what was typed about the appointment and its request (a request sent online may
    have no appointment: ``appointment_id`` None)."""
    objects: list[tuple[str, str]] = []
    if appointment_id is not None:
        await session.execute(update(Feedback)
                              .where(col(Feedback.appointment_id) == appointment_id)
                              .values(comment=""))
        objects.append(("appointment", str(appointment_id)))
    if case is not None and case.id is not None:
        case.note = ""
        await session.execute(update(IdentityCheck).where(col(IdentityCheck.case_id) == case.id)
                              .values(note="", reason=""))
        await session.execute(update(Refund).where(col(Refund.case_id) == case.id)
                              .values(reason=""))
        await session.execute(update(Milestone).where(col(Milestone.case_id) == case.id)
                              .values(detail=""))
        dispatch_ids = list((await session.execute(
            select(col(Dispatch.id)).where(col(Dispatch.case_id) == case.id))).scalars())
        await session.execute(update(Dispatch).where(col(Dispatch.case_id) == case.id)
                              .values(last_error=""))
        objects += [("case", str(case.id))] + [("dispatch", str(i)) for i in dispatch_ids]
    await _clear_audit_text(session, objects)
    await _clear_job_errors(session, appointment_id, case.id if case is not None else None)


async def _clear_audit_text(session: AsyncSession, objects: list[tuple[str, str]]) -> None:
    if not objects:
        return
    query = select(AuditEvent).where(or_(*[
        (col(AuditEvent.object_type) == kind) & (col(AuditEvent.object_id) == ident)
        for kind, ident in objects]))
    for event in (await session.execute(query)).scalars():
        try:
            detail = json.loads(event.detail)
        except ValueError:
            continue
        if isinstance(detail, dict) and TYPED_KEYS & detail.keys():
            event.detail = json.dumps({k: "" if k in TYPED_KEYS else v
                                       for k, v in detail.items()}, ensure_ascii=False)


async def _clear_job_errors(session: AsyncSession, appointment_id: int | None,
                            case_id: int | None) -> None:
    """Jobs about this appointment or request keep their kind and outcome, not their error
    text. Job payloads hold ids only (``core/jobs.py``)."""
    ids = [str(i) for i in (appointment_id, case_id) if i is not None]
    if not ids:
        return
    # The payload text names the id (a cheap filter); its JSON says under which key.
    query = select(Job).where(col(Job.last_error).is_not(None),
                              or_(*[col(Job.payload).contains(i) for i in ids]))
    for job in (await session.execute(query)).scalars():
        data = job.data()
        if (appointment_id is not None and data.get("appointment_id") == appointment_id) or (
                case_id is not None and data.get("case_id") == case_id):
            job.last_error = None
