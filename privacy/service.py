"""Privacy: retention, the data-subject export and erasure.

Retention. Personal data of an appointment that ended (completed, cancelled, expired, no-show)
is anonymised ``retention_days`` after its end: names become "anonymisiert", the e-mail address a
non-deliverable placeholder unique per row (``.invalid`` is reserved, RFC 2606), phone and date
of birth are cleared (on the appointment and on its request), the postal address is deleted,
every text typed about the person is cleared (``privacy/free_text.py``), the mails written to
files go (``app``), and the link is revoked (a fresh random nonce and hash: the old token no
longer finds the row).

What is kept. Fee law requires the case (case number, items, amounts, payments, milestones) to
be kept for the accounts, so cases stay. The stored letters (``case_document``) carry the
debtor's name and address in the window; they are DELETED rather than regenerated, because an
"anonymised fee notice" is not the document that was served and would be misleading in an
audit, while the accounting facts remain in the case rows. The audit log is kept separately:
it names staff by e-mail and refers to appointments by id and reference, never to a citizen's
name or address.

Legal hold. While the fee claim is open (payment ``open`` or ``failed``) or a letter is on its
way (dispatch ``queued`` or ``printed``), the debtor's identity is still needed: such an
appointment is neither anonymised by retention nor erased on request; the answer names why.
An appointment that is still running (reserved, confirmed, in the call) is not erased either:
it has to be cancelled first, and neither is one whose request, sent online, is still open
(the identity call of a request the office is working on). The holds are ``privacy.rules``.

Requests sent online (answers, messages, uploaded documents) follow the same periods and holds
in ``privacy.requests``; the export and the erasure by e-mail address here cover them too.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import ACTIVE_STATUSES, Appointment, AppointmentStatus
from booking.party_models import AppointmentPerson
from booking.service import normalize_email
from cases.milestones import Milestone
from cases.models import Case, CaseItem, IdentityCheck
from core.audit import Actor, AuditEvent, record
from core.types import utcnow
from postcall.dispatch_models import CaseDocument, Dispatch, Feedback, PostalAddress
from postcall.payments.models import PaymentAttempt, Refund
from privacy import requests
from privacy.free_text import clear_free_text
from privacy.rules import ANONYMISED_NAME as ANONYMISED_NAME
from privacy.rules import HOLD_REASONS as HOLD_REASONS
from privacy.rules import PLACEHOLDER_DOMAIN, case_hold_reason

ENDED_STATUSES = (
    AppointmentStatus.completed,
    AppointmentStatus.cancelled,
    AppointmentStatus.expired,
    AppointmentStatus.no_show,
)


def placeholder_email(appointment_id: int) -> str:
    return f"anonymisiert-{appointment_id}@{PLACEHOLDER_DOMAIN}"


def is_anonymised(appointment: Appointment) -> bool:
    return appointment.email_norm.endswith("@" + PLACEHOLDER_DOMAIN)


@dataclass
class ErasureResult:
    erased: list[str] = field(default_factory=list)  # appointment references
    retained: list[tuple[str, str]] = field(default_factory=list)  # (reference, reason code)


async def _request_of(session: AsyncSession, appointment: Appointment) -> Case | None:
    if appointment.case_id is None:
        return None
    return await session.get(Case, appointment.case_id)


async def hold_reason(session: AsyncSession, appointment: Appointment) -> str | None:
    """Why this appointment's personal data (and its request's) must be kept now, or None."""
    if appointment.status in ACTIVE_STATUSES:
        return "active"
    assert appointment.id is not None
    case = await _request_of(session, appointment)
    if case is None:
        return None
    # The request may go on in another appointment, or online (an identity call's request).
    return await case_hold_reason(session, case, except_appointment=appointment.id)


async def anonymise(session: AsyncSession, appointment: Appointment, now: dt.datetime) -> None:
    """Remove the personal data of one appointment (see the module's docstring)."""
    assert appointment.id is not None
    appointment.given_name = ANONYMISED_NAME
    appointment.family_name = ANONYMISED_NAME
    appointment.email = placeholder_email(appointment.id)
    appointment.email_norm = appointment.email
    appointment.phone = ""
    appointment.date_of_birth = None
    appointment.link_nonce = secrets.token_hex(32)
    appointment.token_hash = secrets.token_hex(32)
    appointment.link_expires_at = min(appointment.link_expires_at, now)
    appointment.updated_at = now
    # The further persons of a family appointment (booking.composition) go entirely.
    await session.execute(
        delete(AppointmentPerson).where(col(AppointmentPerson.appointment_id) == appointment.id))
    case = await _request_of(session, appointment)
    if case is not None:
        # The request's own copy of the citizen's data goes the same way.
        case.given_name = case.family_name = ANONYMISED_NAME
        case.email = appointment.email
        case.phone = ""
        case.date_of_birth = None
        case.updated_at = now
        await session.execute(delete(PostalAddress).where(col(PostalAddress.case_id) == case.id))
        await session.execute(delete(CaseDocument).where(col(CaseDocument.case_id) == case.id))
    await clear_free_text(session, appointment.id, case)
    await session.flush()


async def apply_retention(
    session: AsyncSession, retention_days: int, *, now: dt.datetime | None = None,
    limit: int = 200,
) -> int:
    """Anonymise ended appointments older than the retention period (at most ``limit`` per
    call, so one run stays short); returns how many were anonymised."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days)
    query = (
        select(Appointment)
        .where(
            col(Appointment.status).in_(ENDED_STATUSES),
            col(Appointment.end_at) < cutoff,
            col(Appointment.email_norm).not_like("%@" + PLACEHOLDER_DOMAIN),
        )
        .order_by(col(Appointment.end_at))
        .limit(limit)
    )
    count = 0
    for appointment in list((await session.execute(query)).scalars()):
        if await hold_reason(session, appointment) is not None:
            continue
        await anonymise(session, appointment, now)
        record(session, Actor("system", None, "system"), "privacy.retention", "appointment",
               appointment.id, {"reference": appointment.reference})
        count += 1
    return count


async def subject_appointments(session: AsyncSession, email: str) -> list[Appointment]:
    query = (
        select(Appointment)
        .where(col(Appointment.email_norm) == normalize_email(email))
        .order_by(col(Appointment.start_at))
    )
    return list((await session.execute(query)).scalars())


async def erase_subject(
    session: AsyncSession, actor: Actor, email: str, *, now: dt.datetime | None = None,
) -> ErasureResult:
    """Anonymise now every appointment and erase every request sent online
    (``privacy.requests``) of this e-mail address that no legal duty holds."""
    now = now or utcnow()
    result = ErasureResult()
    for appointment in await subject_appointments(session, email):
        reason = await hold_reason(session, appointment)
        if reason is not None:
            result.retained.append((appointment.reference, reason))
            continue
        await anonymise(session, appointment, now)
        record(session, actor, "privacy.erase", "appointment", appointment.id,
               {"reference": appointment.reference})
        result.erased.append(appointment.reference)
    erased, retained = await requests.erase_subject(session, actor, email, now)
    result.erased += erased
    result.retained += retained
    return result


def _row(obj: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    data: dict[str, Any] = obj.model_dump(mode="json", exclude=set(exclude))
    return data


async def _rows(session: AsyncSession, model: Any, column: Any, ids: list[int]) -> list[Any]:
    if not ids:
        return []
    return list((await session.execute(select(model).where(column.in_(ids)))).scalars())


async def export_subject(session: AsyncSession, email: str) -> dict[str, Any]:
    """Everything stored about one e-mail address, as JSON-ready data. Link secrets (nonce,
    token hash) and the letters' PDF bytes are left out: the first are keys, not data about the
    person; the letters are listed with their metadata and checksum. Requests sent online are
    among the cases, and their answers, messages and documents (by name) under
    ``online_requests``."""
    appointments = await subject_appointments(session, email)
    appointment_ids = [a.id for a in appointments if a.id is not None]
    online = await requests.export_requests(session, email)
    request_ids = sorted({a.case_id for a in appointments if a.case_id is not None}
                         | {r["case_id"] for r in online})
    cases = await _rows(session, Case, col(Case.id), request_ids)
    case_ids = [c.id for c in cases if c.id is not None]
    by_case: dict[str, list[dict[str, Any]]] = {}
    for name, model, column in (
        ("items", CaseItem, col(CaseItem.case_id)),
        ("milestones", Milestone, col(Milestone.case_id)),
        ("payments", PaymentAttempt, col(PaymentAttempt.case_id)),
        ("refunds", Refund, col(Refund.case_id)),
        ("dispatches", Dispatch, col(Dispatch.case_id)),
    ):
        for row in await _rows(session, model, column, case_ids):
            by_case.setdefault(f"{row.case_id}:{name}", []).append(_row(row))
    documents = await _rows(session, CaseDocument, col(CaseDocument.case_id), case_ids)
    for doc in documents:
        by_case.setdefault(f"{doc.case_id}:documents", []).append(_row(doc, ("pdf",)))
    case_out = []
    for case in cases:
        entry = _row(case)
        for name in ("items", "milestones", "payments", "refunds", "dispatches", "documents"):
            entry[name] = by_case.get(f"{case.id}:{name}", [])
        case_out.append(entry)
    dispatch_ids = [d["id"] for key, rows in by_case.items() if key.endswith(":dispatches")
                    for d in rows]
    wanted = [("appointment", str(i)) for i in appointment_ids]
    wanted += [("case", str(i)) for i in case_ids]
    wanted += [("dispatch", str(i)) for i in dispatch_ids]
    audit = await _audit_events(session, wanted)
    return {
        "email": normalize_email(email),
        "exported_at": utcnow().isoformat(),
        "appointments": [_row(a, ("link_nonce", "token_hash")) for a in appointments],
        "identity_checks": [_row(r) for r in await _rows(
            session, IdentityCheck, col(IdentityCheck.case_id), case_ids)],
        "postal_addresses": [_row(r) for r in await _rows(
            session, PostalAddress, col(PostalAddress.case_id), case_ids)],
        "feedback": [_row(r) for r in await _rows(
            session, Feedback, col(Feedback.appointment_id), appointment_ids)],
        "cases": case_out,
        "online_requests": online,
        "audit_events": [_row(e) for e in audit],
    }


async def _audit_events(session: AsyncSession, wanted: list[tuple[str, str]]) -> list[AuditEvent]:
    """Audit events about these objects (``(object_type, object_id)`` pairs)."""
    if not wanted:
        return []
    object_ids = sorted({object_id for _, object_id in wanted})
    query = (
        select(AuditEvent)
        .where(col(AuditEvent.object_id).in_(object_ids),
               col(AuditEvent.object_type).in_(["appointment", "case", "dispatch"]))
        .order_by(col(AuditEvent.id))
    )
    keep = set(wanted)
    return [e for e in (await session.execute(query)).scalars()
            if (e.object_type, e.object_id) in keep]
