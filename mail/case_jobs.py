"""Outbox jobs that e-mail the citizen about a case (registered in ``app.worker``):

============================  =================================================================
``case.notice``               {case_id, revision}: the fee notice PDF, e-mailed; milestone
                              ``notice_sent`` (the mail is the citizen's news of it)
``case.corrected_notice``     {case_id, refund_id?}: a changed notice after a refund
                              ("Geänderter Bescheid"), e-mailed; it replaces the notice the
                              link serves (one per refund)
``payment.receipt``           {case_id, attempt_id?}: the receipt of an online payment;
                              milestone ``receipt_sent``
``case.reminder``             {case_id}: the dunning reminder with the notice and its GiroCode
``mail.milestone``            {case_id, milestone}: one e-mail per status step
============================  =================================================================

Mails are built after the data is read (no transaction is held during SMTP); what a sent mail
changes (``mailed_at``, the milestone) is written afterwards. A crash between the two sends the
mail again on retry, with the same Message-ID.
"""

from __future__ import annotations

import logging

from sqlalchemy import or_, select, update
from sqlmodel import col

from booking.models import Service
from cases.completion import case_record
from cases.milestones import Milestone, MilestoneKind, reach
from cases.models import Case, CaseState, Channel, PaymentStatus
from core.jobs import Job, payload_int
from core.types import utcnow
from mail.cases import (
    CaseMail,
    bank_rows,
    build_case_mail,
    girocode_png,
    message_id,
    pdf_attachment,
)
from mail.compose import MailEnv, PermanentMailError, deliver
from online.models import OPEN_STATUSES, OnlineRequest
from online.requests import request_link_nonce
from postcall.dispatch_models import CaseDocument
from postcall.notices import (
    authority_for,
    ensure_fee_notice,
    ensure_receipt,
    make_corrected_notice,
    needs_notice,
    reminder_letter,
)

log = logging.getLogger("buergerbuero.postcall")

# Steps of a request sent online before it is decided (with their own mails, except
# ``in_progress``, which ``mail.milestone`` announces).
BEFORE_DECISION = frozenset({
    MilestoneKind.received, MilestoneKind.in_progress, MilestoneKind.question,
    MilestoneKind.answered, MilestoneKind.video_invited,
})


async def _mail_facts(env: MailEnv, case_id: int) -> CaseMail | None:
    async with env.db.transaction() as session:
        case = await session.get(Case, case_id)
        if case is None:
            return None
        record = await case_record(session, case_id)
        # A request sent online is followed on its request page, even when a video call (the
        # identity check) belongs to it; a video request on its appointment's page.
        if case.channel == Channel.online:
            nonce = await request_link_nonce(session, case_id)
        else:
            appointment = record.appointment if record is not None else None
            nonce = appointment.link_nonce if appointment is not None else None
        service = await session.get(Service, case.service_id)
        session.expunge_all()
    if record is None or nonce is None:
        raise PermanentMailError("case without office, appointment or link")
    return CaseMail(case=record.case, items=record.items, office=record.office,
                    appointment=record.appointment, link_url=env.link_url(nonce),
                    service=service)


async def _claim_mail(env: MailEnv, document: CaseDocument, job: Job) -> bool:
    """True when this job is the one to mail the letter (first claim, or its own retry)."""
    async with env.db.transaction(write=True) as session:
        claimed = await session.execute(
            update(CaseDocument)
            .where(col(CaseDocument.id) == document.id, col(CaseDocument.mailed_at).is_(None),
                   or_(col(CaseDocument.mail_job_id).is_(None),
                       col(CaseDocument.mail_job_id) == job.id))
            .values(mail_job_id=job.id)
            .returning(col(CaseDocument.id))
        )
        return claimed.first() is not None


async def _mark_mailed(env: MailEnv, document_id: int, case_id: int,
                       milestone: MilestoneKind | None) -> None:
    async with env.db.transaction(write=True) as session:
        document = await session.get(CaseDocument, document_id)
        if document is not None and document.mailed_at is None:
            document.mailed_at = utcnow()
        if milestone is not None:
            await reach(session, case_id, milestone, notify=False)


def _notice_extra(env: MailEnv, mail: CaseMail, document: CaseDocument) -> dict[str, object]:
    t = env.i18n.translator(mail.case.locale)
    case = mail.case
    currency = case.currency

    def money(cents: int) -> str:
        return t.money(cents, currency) if cents else ""

    return {
        "corrected": document.corrected,
        "open_amount": money(document.open_cents),
        "refund_amount": money(document.refund_cents),
        "due_date": t.date(document.due_date, "long") if document.due_date else "",
        "rows": [(t.gettext("Fee"), t.money(document.total_cents, currency))],
        "bank_rows": bank_rows(t, authority_for(mail.office), case.number,
                               document.open_cents, document.due_date, currency)
        if document.open_cents else [],
    }


async def _send_notice(env: MailEnv, job: Job, document: CaseDocument, *,
                       milestone: MilestoneKind | None) -> None:
    assert job.id is not None and document.id is not None
    mail = await _mail_facts(env, document.case_id)
    if mail is None or not await _claim_mail(env, document, job):
        return
    mail.attachments.append(pdf_attachment(
        document.pdf, "Geaenderter-Bescheid" if document.corrected else "Gebuehrenbescheid",
        mail.case.number))
    mail.extra = _notice_extra(env, mail, document)
    message = build_case_mail(env, "notice", mail, message_id=message_id(
        job.id, "notice", mail.case, env.base_url))
    await deliver(env, message, "notice")
    await _mark_mailed(env, document.id, document.case_id, milestone)


async def send_notice(env: MailEnv, job: Job) -> None:
    """``case.notice``: the fee notice of a completion, e-mailed the same day."""
    data = job.data()
    case_id, revision = payload_int(data, "case_id"), payload_int(data, "revision")
    async with env.db.transaction() as session:
        case = await session.get(Case, case_id)
    if case is None or not needs_notice(case) or case.revision != revision:
        log.info("job %s: fee notice of case %s skipped (superseded)", job.id, case_id)
        return
    document = await ensure_fee_notice(env.db, case_id)
    if document is None:
        return
    if document.mailed_at is not None:
        return  # sent by an earlier try that could not record the job's end
    await _send_notice(env, job, document, milestone=MilestoneKind.notice_sent)


async def send_corrected_notice(env: MailEnv, job: Job) -> None:
    """``case.corrected_notice``: the changed notice after a refund replaces the served one."""
    data = job.data()
    case_id = payload_int(data, "case_id")
    refund = data.get("refund_id")
    # One changed notice per refund, however often its job runs; without one, per job.
    origin = f"refund{refund}" if isinstance(refund, int) else f"job{job.id}"
    document = await make_corrected_notice(env.db, case_id, origin)
    if document is None or document.mailed_at is not None:
        return
    await _send_notice(env, job, document, milestone=None)


async def send_receipt(env: MailEnv, job: Job) -> None:
    """``payment.receipt``: the receipt of an online payment, e-mailed."""
    assert job.id is not None
    case_id = payload_int(job.data(), "case_id")
    document = await ensure_receipt(env.db, case_id)
    if document is None or document.id is None:
        log.info("job %s: receipt of case %s skipped (not paid)", job.id, case_id)
        return
    if document.mailed_at is not None:
        return
    mail = await _mail_facts(env, case_id)
    if mail is None or not await _claim_mail(env, document, job):
        return
    t = env.i18n.translator(mail.case.locale)
    mail.attachments.append(pdf_attachment(document.pdf, "Zahlungsbestaetigung",
                                           mail.case.number))
    paid = t.money(document.total_cents, mail.case.currency)
    mail.extra = {"paid_amount": paid, "rows": [(t.gettext("Paid"), paid)]}
    message = build_case_mail(env, "receipt", mail, message_id=message_id(
        job.id, "receipt", mail.case, env.base_url))
    await deliver(env, message, "receipt")
    await _mark_mailed(env, document.id, case_id, MilestoneKind.receipt_sent)


async def send_reminder(env: MailEnv, job: Job) -> None:
    """``case.reminder``: the one payment reminder, with the notice and its GiroCode."""
    assert job.id is not None
    case_id = payload_int(job.data(), "case_id")
    async with env.db.transaction() as session:
        case = await session.get(Case, case_id)
    if case is None or not needs_notice(case) or case.payment_status != PaymentStatus.open:
        log.info("job %s: reminder of case %s skipped (paid or changed)", job.id, case_id)
        return
    document = await ensure_fee_notice(env.db, case_id)
    mail = await _mail_facts(env, case_id)
    if document is None or mail is None or document.open_cents <= 0:
        return
    t = env.i18n.translator(mail.case.locale)
    authority = authority_for(mail.office)
    number, currency = mail.case.number, mail.case.currency
    letter = await reminder_letter(env.db, case_id, document)
    if letter is not None:
        mail.attachments.append(pdf_attachment(letter, "Zahlungserinnerung", number))
    mail.attachments += [
        pdf_attachment(document.pdf, "Gebuehrenbescheid", number),
        girocode_png(authority, number, document.open_cents),
    ]
    mail.extra = {
        "open_amount": t.money(document.open_cents, currency),
        "due_date": t.date(case.due_date, "long") if case.due_date else "",
        "rows": [(t.gettext("Open amount"), t.money(document.open_cents, currency))],
        "bank_rows": bank_rows(t, authority, number, document.open_cents, None, currency),
    }
    message = build_case_mail(env, "reminder", mail, message_id=message_id(
        job.id, "reminder", mail.case, env.base_url))
    await deliver(env, message, "reminder")


async def _milestone_news(env: MailEnv, case_id: int, kind: str) -> Milestone | None:
    """The milestone a ``mail.milestone`` job announces, or None when there is no news to send:
    the step is gone, or it belongs to a request sent online that is no longer open, or the
    office's first step was a question or an invitation, whose own mail tells the citizen."""
    async with env.db.transaction() as session:
        milestone = (await session.execute(
            select(Milestone).where(col(Milestone.case_id) == case_id,
                                    col(Milestone.kind) == kind)
        )).scalars().first()
        if milestone is None or kind not in BEFORE_DECISION:
            return milestone
        request = await session.get(OnlineRequest, case_id)
        if request is None or request.status not in OPEN_STATUSES:
            return None
        told = (await session.execute(
            select(col(Milestone.id)).where(
                col(Milestone.case_id) == case_id, col(Milestone.at) <= milestone.at,
                col(Milestone.kind).in_([MilestoneKind.question, MilestoneKind.video_invited]))
        )).first()
        return None if told is not None else milestone


async def send_milestone_mail(env: MailEnv, job: Job) -> None:
    """``mail.milestone``: tell the citizen about one step, in the request's language. Steps
    after the decision go out while the case stands completed; the steps of a request sent
    online before its decision (a clerk took it up) while it is open."""
    assert job.id is not None
    data = job.data()
    case_id, kind = payload_int(data, "case_id"), str(data.get("milestone", ""))
    milestone = await _milestone_news(env, case_id, kind)
    mail = await _mail_facts(env, case_id)
    wanted = CaseState.open if kind in BEFORE_DECISION else CaseState.completed
    if milestone is None or mail is None or mail.case.state != wanted:
        log.info("job %s: milestone mail %s skipped", job.id, kind)
        return
    mail.extra = {"kind": kind, "detail": milestone.detail, "at": milestone.at}
    message = build_case_mail(env, "milestone", mail, message_id=message_id(
        job.id, f"status-{kind}", mail.case, env.base_url))
    await deliver(env, message, f"milestone {kind}")
