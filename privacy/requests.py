"""Privacy of requests sent online: retention, erasure and the data-subject export.

A request sent online is its ``case_file`` row (channel ``online``) with ``online_request``, its
messages, its uploaded documents, milestones and identity checks; the answers, the messages and
the documents are all about the person.

Erasing one (by retention or on request) removes all of it. A request that was never decided
(rejected, withdrawn, expired or never confirmed) has nothing fee law keeps: its ``case_file``
row is deleted, and the database's cascades take the rest with it (an appointment of it, the
identity call, is let go of first: its own retention anonymises it). A completed request has a
case number, items and maybe payments that the accounts keep (as for appointments, see
``privacy.service``): its case stays with those facts, while the citizen's data on it, the
answers, the rejection text, the messages, the documents, the letters and the postal address go
and the link is revoked.

Retention: closed requests (completed, rejected, withdrawn, expired) go ``retention_days`` after
their decision, the period appointments have; requests never confirmed (double opt-in) go
``UNCONFIRMED_DAYS`` after they were sent, as nobody may have asked for them. The legal holds of
``privacy.rules`` apply to both (an open fee, a letter on its way, an appointment running), and
an open request is never erased (``request_open``). Each erasure is audited like an
appointment's: the request's reference, never a name.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment, Office, Service
from booking.service import normalize_email
from cases.models import Case
from core.audit import Actor, record
from core.types import utcnow
from online.models import (
    CLOSED_STATUSES,
    OnlineRequest,
    RequestDocument,
    RequestMessage,
    RequestStatus,
)
from online.requests import answers_of
from postcall.dispatch_models import CaseDocument, PostalAddress
from privacy.free_text import clear_free_text
from privacy.rules import ANONYMISED_NAME, PLACEHOLDER_DOMAIN, case_hold_reason

UNCONFIRMED_DAYS = 7
UNCONFIRMED = (RequestStatus.submitted, RequestStatus.expired)


def placeholder_email(case_id: int) -> str:
    return f"anonymisiert-antrag-{case_id}@{PLACEHOLDER_DOMAIN}"


def _not_erased() -> Any:
    return col(OnlineRequest.email_norm).not_like("%@" + PLACEHOLDER_DOMAIN)


async def hold_reason(session: AsyncSession, case: Case, request: OnlineRequest) -> str | None:
    """Why this request's personal data must be kept now, or None."""
    if request.status not in (*CLOSED_STATUSES, *UNCONFIRMED):
        return "request_open"
    return await case_hold_reason(session, case)


async def erase(session: AsyncSession, case: Case, request: OnlineRequest,
                now: dt.datetime) -> None:
    """Remove the request's personal data (see the module's docstring)."""
    assert case.id is not None
    await clear_free_text(session, None, case)
    if case.case_number is None:
        await session.execute(update(Appointment).where(col(Appointment.case_id) == case.id)
                              .values(case_id=None))
        await session.execute(delete(Case).where(col(Case.id) == case.id))
        return
    placeholder = placeholder_email(case.id)
    case.given_name = case.family_name = ANONYMISED_NAME
    case.email = placeholder
    case.phone = ""
    case.date_of_birth = None
    case.updated_at = now
    request.email_norm = placeholder
    request.answers = "{}"
    request.rejection_reason = ""
    request.needs_attention = False
    request.link_nonce = secrets.token_hex(32)
    request.token_hash = secrets.token_hex(32)
    request.updated_at = now
    for model in (RequestMessage, RequestDocument, PostalAddress, CaseDocument):
        await session.execute(delete(model).where(col(model.case_id) == case.id))
    await session.flush()


def _due(retention_days: int, unconfirmed_days: int, now: dt.datetime) -> Any:
    closed = now - dt.timedelta(days=retention_days)
    unconfirmed = now - dt.timedelta(days=unconfirmed_days)
    return or_(
        (col(OnlineRequest.status).in_([s.value for s in CLOSED_STATUSES])
         & (col(OnlineRequest.decided_at) < closed)),
        (col(OnlineRequest.status).in_([s.value for s in UNCONFIRMED])
         & (col(OnlineRequest.submitted_at) < unconfirmed)),
    )


async def apply_retention(session: AsyncSession, retention_days: int, *,
                          unconfirmed_days: int = UNCONFIRMED_DAYS,
                          now: dt.datetime | None = None, limit: int = 200) -> int:
    """Erase requests past their period (at most ``limit`` per call); returns how many."""
    now = now or utcnow()
    query = (select(Case, OnlineRequest)
             .join(OnlineRequest, col(OnlineRequest.case_id) == col(Case.id))
             .where(_due(retention_days, unconfirmed_days, now), _not_erased())
             .order_by(col(OnlineRequest.submitted_at)).limit(limit))
    count = 0
    for case, request in list((await session.execute(query)).all()):
        if await hold_reason(session, case, request) is not None:
            continue
        record(session, Actor.system(), "privacy.retention", "case", case.id,
               {"reference": case.reference})
        await erase(session, case, request, now)
        count += 1
    return count


async def subject_requests(session: AsyncSession, email: str) -> list[tuple[Case, OnlineRequest]]:
    query = (select(Case, OnlineRequest)
             .join(OnlineRequest, col(OnlineRequest.case_id) == col(Case.id))
             .where(col(OnlineRequest.email_norm) == normalize_email(email))
             .order_by(col(OnlineRequest.submitted_at), col(Case.id)))
    return [(case, request) for case, request in (await session.execute(query)).all()]


async def erase_subject(session: AsyncSession, actor: Actor, email: str, now: dt.datetime,
                        ) -> tuple[list[str], list[tuple[str, str]]]:
    """Erase now every request of this address that nothing holds: (erased references,
    (reference, reason code) of those kept)."""
    erased: list[str] = []
    kept: list[tuple[str, str]] = []
    for case, request in await subject_requests(session, email):
        reason = await hold_reason(session, case, request)
        if reason is not None:
            kept.append((case.reference, reason))
            continue
        record(session, actor, "privacy.erase", "case", case.id, {"reference": case.reference})
        erased.append(case.reference)
        await erase(session, case, request, now)
    return erased, kept


async def export_requests(session: AsyncSession, email: str) -> list[dict[str, Any]]:
    """The requests of this address with what was sent and written: the answers, the messages
    and the documents' names and sizes (not their bytes, which stay sealed), the link's secrets
    left out. The case of each is in the export's ``cases``."""
    found = await subject_requests(session, email)
    ids = [case.id for case, _ in found if case.id is not None]
    messages: dict[int, list[dict[str, Any]]] = {}
    documents: dict[int, list[dict[str, Any]]] = {}
    if ids:
        for message in (await session.execute(
                select(RequestMessage).where(col(RequestMessage.case_id).in_(ids))
                .order_by(col(RequestMessage.id)))).scalars():
            messages.setdefault(message.case_id, []).append({
                "author": message.author, "text": message.text,
                "documents_requested": message.requested_keys(),
                "created_at": message.created_at.isoformat()})
        rows = await session.execute(
            select(col(RequestDocument.case_id), col(RequestDocument.field_key),
                   col(RequestDocument.filename), col(RequestDocument.content_type),
                   col(RequestDocument.size), col(RequestDocument.created_at))
            .where(col(RequestDocument.case_id).in_(ids)).order_by(col(RequestDocument.id)))
        for case_id, key, filename, content_type, size, created in rows.all():
            documents.setdefault(case_id, []).append({
                "field_key": key, "filename": filename, "content_type": content_type,
                "size": size, "created_at": created.isoformat()})
    out = []
    for case, request in found:
        service = await session.get(Service, case.service_id)
        office = await session.get(Office, case.office_id)
        out.append({
            "reference": case.reference, "case_id": case.id,
            "service": service.name if service is not None else "",
            "office": office.name if office is not None else "",
            "status": request.status, "anonymous": request.anonymous,
            "submitted_at": request.submitted_at.isoformat(),
            "received_at": _iso(request.received_at),
            "decided_at": _iso(request.decided_at),
            "answers": answers_of(request), "rejection_reason": request.rejection_reason,
            "messages": messages.get(case.id or 0, []),
            "documents": documents.get(case.id or 0, []),
        })
    return out


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
