"""E-mails about a request sent online, and the outbox job that sends them (``mail.request``,
enqueued by ``online.requests.mail``; registered in ``app.worker``).

===============  ===========================================================================
``submitted``    double opt-in: please confirm the request through the link
``received``     the receipt: every answer under its label, the documents' file names, the
                 expected processing time
``question``     {message_id}: the office's question and the documents it still needs, with
                 the request for missing documents (``postcall.missing_documents``) as PDF
``rejected``     the reasons, with the rejection notice (``postcall.rejection``) as PDF
``withdrawn``    the request was withdrawn as the citizen asked
``video_invite`` please book a short video appointment for the identity check on the
                 request page
===============  ===========================================================================

Each mail is in the request's language (``case.locale``) with the link to the request page
(``{base_url}/t/{token}``, rebuilt from the request's nonce: no token is stored in a job), its
reference, the service and the office; plain text and accessible HTML from
``mail/templates/request/``. The notice attached to a rejection stays German (§ 23 VwVfG).

Delivery is as for the appointment mails: the facts are read first (no transaction is held
during SMTP), the Message-ID is the same on every attempt of one job, and the worker records
the job done as soon as the server accepted it. A request that is gone (erased) ends the job
quietly; a mail overtaken by events (a confirmation request for a request already confirmed, a
question the office deleted, an invitation to a request that was closed meanwhile) is dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from booking.catalog import service_name
from booking.models import Office, Service
from cases.models import Case
from core.i18n import Translator
from core.jobs import Job, payload_int
from core.types import utcnow
from mail.cases import pdf_attachment
from mail.compose import (
    Attachment,
    MailEnv,
    PermanentMailError,
    compose,
    deliver,
    finish,
    mail_domain,
)
from mail.request_answers import answer_rows, document_rows, labels_of
from online.models import (
    OPEN_STATUSES,
    FormField,
    OnlineRequest,
    OnlineService,
    RequestDocument,
    RequestMessage,
    RequestStatus,
)
from online.requests import MAIL_JOB, answers_of, rejection_of
from postcall.documents import DocumentError
from postcall.missing_documents import (
    MissingDocumentsData,
    missing_documents_data,
    render_missing_documents,
)
from postcall.rejection import (
    FILENAME_TITLE,
    RejectionData,
    rejection_data,
    render_rejection_notice,
)

MISSING_FILENAME = "Nachforderung"
log = logging.getLogger("buergerbuero.mail")

JOB_KIND = MAIL_JOB
TEMPLATES = ("submitted", "received", "question", "rejected", "withdrawn", "video_invite")


@dataclass
class RequestMail:
    """The facts one mail about a request is made of."""

    case: Case
    request: OnlineRequest
    office: Office
    service: Service
    online: OnlineService
    fields: list[FormField]  # the form's, retired ones included, in form order
    documents: list[tuple[str, str]]  # (field key, file name), oldest first
    message: RequestMessage | None = None  # the office's question
    notice: RejectionData | None = None  # the rejection notice to attach
    missing: MissingDocumentsData | None = None  # the request for missing documents
    attachments: list[Attachment] = field(default_factory=list)


def _subject(t: Translator, template: str, reference: str) -> str:
    subjects = {
        "submitted": t.gettext("Please confirm your request (%(reference)s)",
                               reference=reference),
        "received": t.gettext("We have received your request %(reference)s",
                              reference=reference),
        "question": t.gettext("A question about your request %(reference)s",
                              reference=reference),
        "rejected": t.gettext("Decision on your request %(reference)s", reference=reference),
        "withdrawn": t.gettext("Your request %(reference)s has been withdrawn",
                               reference=reference),
        "video_invite": t.gettext("Please book a video appointment for your request "
                                  "%(reference)s", reference=reference),
    }
    return subjects[template]


def _action_label(t: Translator, template: str) -> str:
    if template == "submitted":
        return t.gettext("Confirm my request")
    if template == "question":
        return t.gettext("Answer on my request page")
    if template == "video_invite":
        return t.gettext("Book a video appointment")
    return t.gettext("Open my request page")


def message_id(job_id: int, template: str, mail: RequestMail, base_url: str) -> str:
    """The same on every attempt of one job (a retry is recognisably the same message), yet
    unguessable and unique across installations sharing a domain."""
    seed = f"{mail.case.reference}:{mail.request.token_hash}:{job_id}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
    return f"<request-{job_id}.{digest}@{mail_domain(base_url)}>"


def _context(env: MailEnv, t: Translator, template: str, mail: RequestMail,
             link_url: str) -> dict[str, Any]:
    case, request, office = mail.case, mail.request, mail.office
    zone = office.timezone
    submitted = request.submitted_at.astimezone(ZoneInfo(zone)).date()
    context: dict[str, Any] = {
        "template": template,
        "citizen_name": f"{case.given_name} {case.family_name}".strip(),
        "reference": case.reference,
        "service_name": service_name(mail.service, t.lang),
        "link_url": link_url,
        "action_label": _action_label(t, template),
        "apply_url": f"{env.base_url}/apply",
        "details": [
            (t.gettext("Reference"), case.reference),
            (t.gettext("Service"), service_name(mail.service, t.lang)),
            (t.gettext("Office"), office.name),
            (t.gettext("Sent on"), t.date(submitted, "long")),
        ],
    }
    if template == "received":
        context["answers"] = answer_rows(t, mail.fields, answers_of(request))
        context["documents"] = document_rows(t, mail.fields, mail.documents)
        context["processing_days"] = mail.online.processing_days
        due = request.due_at
        context["due_date"] = t.date(due.astimezone(ZoneInfo(zone)).date(), "long") if due else ""
    elif template == "question" and mail.message is not None:
        context["question"] = mail.message.text
        context["requested"] = labels_of(t, mail.fields, mail.message.requested_keys())
    elif template == "rejected":
        context["reasons"] = request.rejection_reason
    return context


def build_request_mail(env: MailEnv, template: str, mail: RequestMail, *, message_id: str,
                       now: datetime | None = None) -> EmailMessage:
    """The complete message for one template, in the request's language."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    t = env.i18n.translator(mail.case.locale)
    link_url = env.link_url(mail.request.link_nonce)
    context = _context(env, t, template, mail, link_url)
    message = compose(
        env, t, f"request/{template}", subject=_subject(t, template, mail.case.reference),
        office=mail.office, to=(context["citizen_name"], mail.case.email),
        message_id=message_id, now=now or utcnow(), attachments=tuple(mail.attachments),
        **context,
    )
    return finish(message, t)


# --- the outbox job ----------------------------------------------------------------------------


def is_stale(template: str, mail: RequestMail) -> str | None:
    """Why a queued mail should no longer go out, or None to send it."""
    status = mail.request.status
    if template == "submitted" and status != RequestStatus.submitted:
        return "no longer waiting for confirmation"
    if template == "received" and status in (RequestStatus.submitted, RequestStatus.expired):
        return "not received"
    if template in ("question", "video_invite") and status not in OPEN_STATUSES:
        return "the request is closed"
    if template == "question" and mail.message is None:
        return "the question is gone"
    if template == "rejected" and status != RequestStatus.rejected:
        return "no longer rejected"
    if template == "withdrawn" and status != RequestStatus.withdrawn:
        return "no longer withdrawn"
    return None


async def _facts(env: MailEnv, case_id: int, template: str,
                 question_id: int | None) -> RequestMail | None:
    """Everything the mail names, read in one short transaction; None when the request is
    gone."""
    async with env.db.transaction() as session:
        case = await session.get(Case, case_id)
        request = await session.get(OnlineRequest, case_id)
        if case is None or request is None:
            return None
        office = await session.get(Office, case.office_id)
        service = await session.get(Service, case.service_id)
        online = await session.get(OnlineService, case.service_id)
        fields = list((await session.execute(
            select(FormField).where(col(FormField.service_id) == case.service_id)
            .order_by(col(FormField.position), col(FormField.id)))).scalars())
        # Names only: the sealed bytes stay in the database.
        documents = [(str(key), str(name)) for key, name in (await session.execute(
            select(col(RequestDocument.field_key), col(RequestDocument.filename))
            .where(col(RequestDocument.case_id) == case_id)
            .order_by(col(RequestDocument.id)))).all()]
        message = None
        if question_id is not None:
            message = await session.get(RequestMessage, question_id)
            if message is not None and message.case_id != case_id:
                message = None
        notice = None
        if template == "rejected" and request.status == RequestStatus.rejected:
            notice = await rejection_data(session, case, rejection_of(request))
        missing = None
        if template == "question" and message is not None and message.text.strip():
            labels = {f.key: f.label for f in fields}
            try:
                missing = await missing_documents_data(
                    session, case, question=message.text,
                    requested=[labels.get(key, key) for key in message.requested_keys()],
                    submitted_at=request.submitted_at, asked_at=message.created_at,
                    clerk_name=request.assigned_label)
            except DocumentError:  # no address for letters: the mail goes without it
                missing = None
        # The read-only transaction ends in a rollback, which would expire these rows.
        session.expunge_all()
    if office is None or service is None or online is None:
        raise PermanentMailError("request without office or online service")
    return RequestMail(case=case, request=request, office=office, service=service,
                       online=online, fields=fields, documents=documents, message=message,
                       notice=notice, missing=missing)


async def send_request_mail(env: MailEnv, job: Job) -> None:
    """Handler for ``mail.request`` jobs."""
    assert job.id is not None
    data = job.data()
    template = str(data.get("template", ""))
    if template not in TEMPLATES:
        raise PermanentMailError(f"unknown mail template {template!r}")
    case_id = payload_int(data, "case_id")
    question_id = payload_int(data, "message_id") if template == "question" else None
    mail = await _facts(env, case_id, template, question_id)
    if mail is None:
        log.info("job %s: request %s is gone, mail %s skipped", job.id, case_id, template)
        return
    reason = is_stale(template, mail)
    if reason is not None:
        log.info("job %s: mail %s skipped (%s)", job.id, template, reason)
        return
    if mail.notice is not None:
        pdf = await asyncio.to_thread(render_rejection_notice, mail.notice)
        mail.attachments.append(pdf_attachment(pdf, FILENAME_TITLE, mail.case.reference))
    if mail.missing is not None:
        pdf = await asyncio.to_thread(render_missing_documents, mail.missing)
        mail.attachments.append(pdf_attachment(pdf, MISSING_FILENAME, mail.case.reference))
    message = build_request_mail(env, template, mail,
                                 message_id=message_id(job.id, template, mail, env.base_url))
    await deliver(env, message, f"request {template}")
